"""What XML can carry, and parsing it safely: no DTD, no entity expansion, no network.

Shared by the v2 reader and writer and the v1 reader.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from xml.parsers import expat as pyexpat

from lxml import etree

from copyengine.mhl.model import MHLError

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- XML reading helpers ----------------------------------------------------


def _local(tag: str) -> str:
    """``{urn:ASC:MHL:v2.0}hash`` -> ``hash``; files from other tools may omit the namespace."""
    return tag.rpartition("}")[2]


class _DoctypeDeclared(Exception):
    pass


def _refuse_doctype(_name: str, *_ids: object) -> None:
    raise _DoctypeDeclared


def _doctype_refused(file: Path) -> MHLError:
    return MHLError(
        f"{file}: refused to parse: it declares a DTD or entities (DTDForbidden), which MHL "
        "files never do; it may be an XML bomb. Restore this file from a trusted copy."
    )


def _malformed(file: Path, problem: object) -> MHLError:
    return MHLError(
        f"{file} is not well-formed XML ({problem}). Restore it from a trusted copy of the media; "
        "do not edit MHL files by hand."
    )


_parsers = threading.local()  # an lxml parser must not be shared between threads
_DOCTYPE = re.compile(rb"<!DOCTYPE")  # (a regex also searches a memoryview)


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        # No entity expansion, no DTD loading, no network, libxml2's size limits kept
        # (huge_tree off). Comments and processing instructions are dropped, so
        # elements only ever have element children and their text reads through them.
        parser = _parsers.parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
    return parser


def _parse_xml(data: bytes | memoryview, file: Path) -> etree._Element:
    """Parse a whole document and return its root element; a document with a DOCTYPE is refused.

    The defence against XML bombs stays that of defusedxml (which ran Python's
    ElementTree parser, several times slower than libxml2): a document that
    declares a DTD is not read, and nothing is expanded, loaded or fetched.
    """
    if _DOCTYPE.search(data):
        # Expat, which defusedxml used, decides as before: a DOCTYPE inside a comment
        # is harmless, and a real one is refused before any later syntax error counts.
        expat = pyexpat.ParserCreate()
        expat.StartDoctypeDeclHandler = _refuse_doctype
        try:
            expat.Parse(data, True)
        except _DoctypeDeclared:
            raise _doctype_refused(file) from None
        except pyexpat.ExpatError as exc:
            raise _malformed(file, exc) from exc
    try:
        root: etree._Element = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _malformed(file, exc) from exc
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None:
        # Only in an encoding in which the search above cannot see "<!DOCTYPE" (UTF-16):
        # libxml2 read the DTD without expanding or fetching anything, within its limits.
        raise _doctype_refused(file)
    return root


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _unsafe(path: str) -> bool:
    """True for an absolute path or one with '..': nothing read from a file may point outside its root."""
    return not path or path[0] == "/" or (".." in path and ".." in path.split("/"))


# --- XML writing helpers ----------------------------------------------------

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


# What _xml_text escapes or refuses.
_TEXT_SPECIAL = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    if _XML_FORBIDDEN.search(value):
        raise ValueError(f"{value!r} contains control characters that XML cannot store")
    return value.translate(_TEXT_ESCAPES)


def _xml_attribute(value: str) -> str:
    if _XML_FORBIDDEN.search(value):
        raise ValueError(f"{value!r} contains control characters that XML cannot store")
    return value.translate(_ATTRIBUTE_ESCAPES)
