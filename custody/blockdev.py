"""Which block devices hold a mounted path: /proc/self/mountinfo and /sys/class/block.

Pure I/O, no Django. ``drives_behind(path)`` answers with the whole-disk device
paths smartctl wants (``/dev/sdb``, not the partition ``/dev/sdb1``); a
software RAID or LVM volume answers with every member drive.
"""

from __future__ import annotations

import os
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
SYS_BLOCK = Path("/sys/class/block")


class DeviceError(RuntimeError):
    """The path's drive cannot be found (not mounted, a network share, a device that vanished)."""


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040).
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_of(path: str, *, mountinfo: str | None = None) -> tuple[str, str, str]:
    """The (mount point, source, file system type) of the mount that holds ``path``.

    Raises:
        DeviceError: when no mount holds it (cannot happen on Linux: / always does)
            or the mount table cannot be read (not Linux).
    """
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text()
        except OSError as exc:
            raise DeviceError(f"cannot read the mount table ({exc}); SMART checks need Linux") from None
    target = os.path.realpath(path)
    best: tuple[str, str, str] | None = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 2:
            continue
        point = _unescape(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        # Later lines win at equal length: a mount over an earlier one hides it.
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, _unescape(tail[1]), tail[0])
    if best is None:
        raise DeviceError(f"{path} is on no mounted file system")
    return best


def _members(name: str, sys_block: Path, depth: int = 0) -> list[str]:
    entry = sys_block / name
    if not entry.exists():
        raise DeviceError(f"/dev/{name} is not a block device this host knows (did it vanish?)")
    if (entry / "partition").exists():
        return [Path(os.path.realpath(entry)).parent.name]
    slaves = sorted(p.name for p in (entry / "slaves").glob("*")) if (entry / "slaves").is_dir() else []
    if slaves and depth < 4:  # md RAID, LVM, dm-crypt: the drives are underneath
        found: list[str] = []
        for slave in slaves:
            found += [m for m in _members(slave, sys_block, depth + 1) if m not in found]
        return found
    return [name]


def drives_behind(path: str, *, mountinfo: str | None = None, sys_block: Path = SYS_BLOCK) -> list[str]:
    """The whole-disk devices (``/dev/sdb``) holding ``path``, for smartctl.

    Raises:
        DeviceError: with a sentence saying why (a network share, not a device, vanished).
    """
    point, source, fstype = mount_of(path, mountinfo=mountinfo)
    if not source.startswith("/dev/"):
        raise DeviceError(
            f"{path} is on a {fstype} mount ({source} at {point}), not a local drive: "
            "set the volume's device for SMART checks"
        )
    # /dev/mapper/… and /dev/disk/by-…/ are symlinks to the kernel's name (dm-0, sdb1).
    name = Path(os.path.realpath(source)).name
    if not (sys_block / name).exists():
        raise DeviceError(f"the device {source} behind {point} has vanished")
    return [f"/dev/{member}" for member in _members(name, sys_block)]
