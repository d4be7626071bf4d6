#!/usr/bin/env python
"""Reelvault's command line: ``python manage.py <command>``."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")
    # A command server with Django set up (`make run` starts one) runs the command at once.
    from reelvault.commandserver import offer_command

    status = offer_command(sys.argv)
    if status is not None:
        sys.stdout.flush()
        os._exit(status)
    # A command's first step that needs no database runs while Django sets up (core/prelude.py).
    from reelvault.preludes import start_for

    start_for(sys.argv)
    from reelvault.cli import run_django_command

    run_django_command(sys.argv)


if __name__ == "__main__":
    main()
