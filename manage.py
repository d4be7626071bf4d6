#!/usr/bin/env python
"""Reelvault's command line: ``python manage.py <command>``."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")
    from reelvault.cli import run_django_command

    run_django_command(sys.argv)


if __name__ == "__main__":
    main()
