"""Logging filters named in settings.LOGGING (importable before Django is set up)."""

from __future__ import annotations

import logging


class OneLineRefusals(logging.Filter):
    """Keep 4xx warnings of ``django.request`` to their one line.

    Django attaches the exception to its "Forbidden (Permission denied): /path"
    warning, which printed a whole traceback for every refused or not-found
    request; the line itself says what happened.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.exc_info = None
            record.exc_text = None
        return True
