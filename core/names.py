"""The shape of labels and paths that enter through pages, the API and commands.

A card label becomes a folder name at every destination and a restore target
path a folder a worker writes into, so both are checked where they enter
(400 naming the field), not failed later on a worker. Names *read from
storage* (a card's files) are not checked here: any name a file system can
hold is stored faithfully, and the backends prove every write stays inside
its root (copyengine/backends/base.py ``check_relpath``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from django.core.exceptions import ValidationError

#: Labels are folder names and Volume.label is 64 characters.
LABEL_MAX = 64
PATH_MAX = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def label_problem(value: str) -> str | None:
    """Why ``value`` cannot be a card or volume label (one folder name), or None."""
    if not value.strip():
        return "must not be empty"
    if len(value) > LABEL_MAX:
        return f"is {len(value)} characters long; at most {LABEL_MAX}"
    if _CONTROL.search(value):
        return "contains a control character (newline, tab, NUL…)"
    if "/" in value or "\\" in value:
        return "contains a path separator (/ or \\); a label is one folder name"
    if value in (".", ".."):
        return "cannot be . or .."
    if value != value.strip():
        return "starts or ends with a space"
    return None


def path_problem(value: str) -> str | None:
    """Why ``value`` cannot be an absolute folder path given by a user, or None."""
    if len(value) > PATH_MAX:
        return f"is {len(value)} characters long; at most {PATH_MAX}"
    if _CONTROL.search(value):
        return "contains a control character (newline, tab, NUL…)"
    if not value.startswith("/"):
        return "must be an absolute path (starting with /)"
    if any(part in (".", "..") for part in value.split("/")):
        return "must not contain . or .. parts"
    return None


def validate_label(value: str) -> None:
    """Django/DRF validator for a label field."""
    if (problem := label_problem(value)) is not None:
        raise ValidationError(f"label {problem}")


def validate_path(value: str) -> None:
    """Django/DRF validator for an absolute folder path field."""
    if (problem := path_problem(value)) is not None:
        raise ValidationError(f"path {problem}")


def under_roots(path: str | os.PathLike[str], roots: Sequence[Path]) -> bool:
    """True when ``path``, symlinks resolved, is one of ``roots`` or inside one (resolved too)."""
    resolved = Path(path).resolve()
    for root in roots:
        base = Path(root).resolve()
        if resolved == base or base in resolved.parents:
            return True
    return False
