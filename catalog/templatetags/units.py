"""``{% load units %}``: ``{{ size|bytes }}`` in decimal units (see catalog/units.py)."""

from __future__ import annotations

from django import template

from catalog.units import format_bytes

register = template.Library()
register.filter("bytes", format_bytes)
