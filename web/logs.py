"""Logging that never carries a secret.

Several libraries log secrets at DEBUG: urllib3 logs every URL with its query string
(Graph tokens, `client_secret`), requests_oauthlib logs token responses, oauthlib logs
request bodies. Their loggers are capped at INFO; our own access log (web.server) writes
the path without its query string.
"""

from __future__ import annotations

import logging

LEAKY_LOGGERS = ("urllib3", "requests_oauthlib", "oauthlib", "tweepy", "facebook")


def quiet_leaky_loggers() -> None:
    for name in LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
