"""File names as the catalog stores them, and as the file system has them.

Cards and drives may hold names that are not UTF-8 (a camera or an old OS
writing Latin-1 or Shift-JIS bytes): legal on FAT, exFAT, ext4 and HFS+
alike. Python reads them with ``surrogateescape`` (each undecodable byte
0xNN becomes the lone surrogate U+DC00+NN), which PostgreSQL, JSON and XML
cannot store. The copy engine therefore speaks *catalog names*: each such
byte becomes U+EF00+NN instead (U+EF80..U+EFFF, private-use characters, the
mapping of MirBSD's OPTU-8), which every store accepts and which maps back
to the very same bytes. Only code that touches a local file system converts
(``to_fs`` before a path is opened, ``from_fs`` on a name read from a
folder): the local backend, the card scan and the card reader.

A name that already holds one of those private-use characters as real UTF-8
cannot be told apart from an escaped byte; ``unstorable`` says so and the
scan reports it instead of copying it under another name.
"""

from __future__ import annotations

_ESCAPED = range(0xDC80, 0xDD00)  # what surrogateescape makes of bytes 0x80..0xFF
_SHIFT = 0xEF80 - 0xDC80
_TO_CATALOG = {code: code + _SHIFT for code in _ESCAPED}
_TO_FS = {code + _SHIFT: code for code in _ESCAPED}
_PRIVATE = (chr(0xEF80), chr(0xEFFF))


def from_fs(name: str) -> str:
    """The catalog name of a name read from a file system (``os.fsdecode``/``os.scandir`` output)."""
    if name.isascii():
        return name
    return name.translate(_TO_CATALOG)


def to_fs(name: str) -> str:
    """The file system name (for ``open``, ``os.fsencode``) of a catalog name."""
    if name.isascii():
        return name
    return name.translate(_TO_FS)


def unstorable(fs_name: str) -> bool:
    """True when a name read from a file system holds real U+EF80..U+EFFF characters (see module)."""
    return not fs_name.isascii() and any(_PRIVATE[0] <= c <= _PRIVATE[1] for c in fs_name)


def not_utf8(name: str) -> bool:
    """True when a catalog name stands for bytes that are not UTF-8 (it holds escaped bytes)."""
    return not name.isascii() and any(_PRIVATE[0] <= c <= _PRIVATE[1] for c in name)


def shown(name: str) -> str:
    """A catalog name for people: each byte that is not UTF-8 written as ``\\xNN`` (e.g. ``caf\\xE9.mov``)."""
    if not not_utf8(name):
        return name
    return "".join(f"\\x{ord(c) - 0xEF00:02X}" if _PRIVATE[0] <= c <= _PRIVATE[1] else c for c in name)
