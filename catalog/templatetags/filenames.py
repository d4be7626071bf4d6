"""``{% load filenames %}``: ``{{ path|filename }}`` shows bytes that are not UTF-8 as ``\\xNN``.

The catalog stores such bytes as private-use characters (copyengine/fsnames.py),
which a browser would draw as empty boxes.
"""

from __future__ import annotations

from django import template

from copyengine.fsnames import shown

register = template.Library()
register.filter("filename", shown)
