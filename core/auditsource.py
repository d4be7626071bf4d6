"""Where the current action comes from, for the audit log.

Set per request by the middleware (``ip:…``) and per management command
(``cli:user@host``); anything else (a worker, beat) is this host.
"""

from __future__ import annotations

import contextvars
import socket
from collections.abc import Iterator
from contextlib import contextmanager

_source: contextvars.ContextVar[str] = contextvars.ContextVar("audit_source", default="")


@contextmanager
def audit_source(source: str) -> Iterator[None]:
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def current_source() -> str:
    return _source.get() or f"host:{socket.gethostname()}"
