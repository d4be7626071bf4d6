"""``{% load units %}``: ``{{ size|bytes }}`` in decimal units (see formats/units.py)."""

from __future__ import annotations

from django import template

from formats.units import format_bytes

register = template.Library()
register.filter("bytes", format_bytes)
