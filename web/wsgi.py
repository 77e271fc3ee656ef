"""For a production WSGI server: `gunicorn 'web.wsgi:application'` (settings from FLATTR_*)."""

from __future__ import annotations

from runtime.app import build_app
from web.app import create_app

application = create_app(build_app())
