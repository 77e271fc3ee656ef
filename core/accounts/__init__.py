from core.accounts.polling import *  # noqa: F403
from core.accounts.polling import STATUS_ACTIVE, STATUS_RECONNECT  # noqa: F401
