"""Entry point shared by manage.py: known failures print one line, not a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db.utils import OperationalError


def fail(message: str, code: int = 2) -> None:
    print(f"reelvault: error: {message}", file=sys.stderr)  # noqa: T201
    raise SystemExit(code)


def run_django_command(argv: Sequence[str]) -> None:
    from django.core.management import execute_from_command_line

    from reelvault import embedded

    try:
        # Commands run by hand find the embedded services started if no URL is
        # configured, exactly like `make run` does.
        if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
            os.environ.update(embedded.ensure_services())
        execute_from_command_line(list(argv))
    except embedded.EmbeddedServiceError as exc:
        fail(str(exc))
    except ImproperlyConfigured as exc:
        fail(f"configuration: {exc}")
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        fail(f"the database is not reachable ({first_line}): start PostgreSQL or fix DATABASE_URL")
