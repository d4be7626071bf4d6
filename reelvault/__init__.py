"""Reelvault's project package.

The Celery app is loaded on first use, not here: importing Celery costs about
0.1 s that most management commands never need. Workers find it as
``celery -A reelvault`` (``reelvault.celery``); a process that sends a job
loads it through ``core.jobs``, which every tasks module imports.
"""

from __future__ import annotations

from typing import Any

__all__ = ["celery_app"]


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from reelvault.celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
