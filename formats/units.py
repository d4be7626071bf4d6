"""Sizes as people read them on drive labels and in Finder: decimal units (1 MB = 1,000,000 bytes).

Django's ``filesizeformat`` divides by 1024 but writes "MB", so a 16,000,000-byte
file would read "15.3 MB" on one page and "16.0 MB" in a notification. Every
page, report and message uses these functions instead: ``format_bytes`` for one
size, ``byte_unit`` + ``format_bytes_in`` for several sizes that must share a
unit (a chart's axis, a column of a table).
"""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB", "TB", "PB")
_FACTOR = {"B": 1, **{unit: 1000 ** (index + 1) for index, unit in enumerate(_UNITS)}}


def format_bytes(n: int | float | None) -> str:
    """12_345_678 -> "12.3 MB"; whole bytes below 1 kB; "" for None."""
    if n is None:
        return ""
    if n < 1000:
        return f"{int(n)} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1000
        if value < 1000 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def byte_unit(n: int | float | None) -> str:
    """The unit ``format_bytes`` would pick for ``n``: "B", "KB", … "PB" (the largest of a series)."""
    if not n or n < 1000:
        return "B"
    value = float(n)
    for unit in _UNITS:
        value /= 1000
        if value < 1000 or unit == _UNITS[-1]:
            return unit
    raise AssertionError("unreachable")


def format_bytes_in(n: int | float | None, unit: str, *, decimals: int = 1) -> str:
    """``n`` bytes written in the given unit: (2_500_000_000, "GB") -> "2.5 GB"; (0, "TB") -> "0 TB"."""
    if unit not in _FACTOR:
        raise ValueError(f"unknown unit {unit!r}: use one of B, {', '.join(_UNITS)}")
    value = float(n or 0) / _FACTOR[unit]
    if unit == "B" or value == 0:
        return f"{value:.0f} {unit}"
    return f"{value:.{decimals}f} {unit}"
