"""The identity file at a volume's root: ``.reelvault-volume.json``.

Pure I/O, no Django. It holds the volume's UUID and identifier, so a drive is
recognised wherever it is mounted, and a destination that belongs to another
volume can be refused before anything is written to it.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

IDENTITY_FILE = ".reelvault-volume.json"


class IdentityFileError(RuntimeError):
    """The identity file exists but cannot be read or is not ours."""


@dataclass(frozen=True)
class Identity:
    uuid: uuid.UUID
    identifier: str
    project: str


def identity_read(root: str | Path) -> Identity | None:
    """The identity at ``root``, or None when there is no identity file.

    Raises:
        IdentityFileError: when the file exists but is unreadable or malformed.
    """
    path = Path(root) / IDENTITY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IdentityFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        return Identity(uuid.UUID(str(data["uuid"])), str(data["identifier"]), str(data.get("project", "")))
    except (ValueError, KeyError, TypeError):
        raise IdentityFileError(f"{path} is not a Reelvault identity file") from None


def identity_write(root: str | Path, identity: Identity) -> Path:
    """Write the identity file atomically (write a temporary file, fsync, rename); return its path."""
    path = Path(root) / IDENTITY_FILE
    temporary = path.with_name(f".{IDENTITY_FILE}.{os.getpid()}.tmp")
    payload = {"uuid": str(identity.uuid), "identifier": identity.identifier, "project": identity.project}
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return path
