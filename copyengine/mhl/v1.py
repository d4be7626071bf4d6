"""Legacy MHL v1 files: read_mhl_v1 and verify_mhl_v1."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import xxhash
from lxml import etree

from copyengine import hashing
from copyengine.mhl.model import FileCheck, FileStatus, MHLError, VerifyReport
from copyengine.mhl.reading import _FieldReader, _read_bytes
from copyengine.mhl.verifying import _by_path, _hash_payload
from copyengine.mhl.xmlsafe import _local, _parse_xml


@dataclass(frozen=True, slots=True)
class V1Entry:
    """One ``<hash>`` of a legacy MHL v1 file.

    ``hashes`` uses the v2/hashing.py names with canonical hex values:
    v1 ``xxhash`` (32-bit, written as a decimal number) becomes ``xxh32``;
    v1 ``xxhash64`` (mhl-tool wrote its bytes little-endian) and
    ``xxhash64be`` both become ``xxh64``. A ``<null/>`` hash adds nothing.
    """

    file: str
    size: int | None
    hashes: dict[str, str]
    last_modification_date: datetime | None
    hash_date: datetime | None = None


# --- Legacy MHL v1 ----------------------------------------------------------

# MHL v1 element -> (hashing name, how the value is written)
_V1_FORMATS = {
    "md5": ("md5", "hex"),
    "sha1": ("sha1", "hex"),
    "xxhash": ("xxh32", "decimal"),
    "xxhash64": ("xxh64", "little-endian hex"),
    "xxhash64be": ("xxh64", "hex"),
}
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# Without a BOM, the first characters "<?" give UTF-16/32 away (XML 1.0 appendix F).
_UNMARKED = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_TEXT_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _as_utf8_xml(data: bytes, file: Path) -> bytes:
    """Return the document re-encoded as UTF-8 with no encoding declaration.

    Expat itself only knows UTF-8/16, Latin-1 and ASCII; MHL v1 tools also
    wrote Windows-1251, ISO-8859-15, EUC-JP and more, so Python decodes.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    encoding = encoding or next((name for mark, name in _UNMARKED if data.startswith(mark)), None)
    if encoding is None:
        declared = _DECLARATION.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise MHLError(
            f"{file} declares the unknown text encoding {encoding!r}; convert it to UTF-8"
        ) from exc
    except UnicodeDecodeError as exc:
        raise MHLError(
            f"{file} is not valid {encoding} text (byte {exc.start}); it may be damaged. "
            "Restore it from another copy"
        ) from exc
    return _TEXT_DECLARATION.sub("", text, count=1).encode("utf-8")


def _v1_value(element: etree._Element, hash_name: str, read: _FieldReader) -> tuple[str, str] | None:
    """``(format, canonical hex)`` for one v1 hash element; None for <null/> and non-hash elements."""
    if hash_name not in _V1_FORMATS:
        return None
    format_, written = _V1_FORMATS[hash_name]
    value = read.token(element).lower()
    try:
        if written == "decimal":
            return format_, f"{int(value):08x}"
        if written == "little-endian hex":
            return format_, bytes.fromhex(value)[::-1].hex()
        bytes.fromhex(value)  # only validates
        return format_, value
    except ValueError as exc:
        raise read.fail(f"{hash_name} value {value!r} is malformed") from exc


def _v1_date(value: str | None, read: _FieldReader) -> datetime | None:
    # mhlcreate wrote "2012-12-01 18-34-54" (no zone); mhl-tool wrote ISO 8601 with "Z".
    if value and (legacy := re.fullmatch(r"(\d{4}-\d\d-\d\d) (\d\d)-(\d\d)-(\d\d)", value.strip())):
        value = f"{legacy[1]}T{legacy[2]}:{legacy[3]}:{legacy[4]}"
    return read.date(value)


def read_mhl_v1(path: str | os.PathLike[str]) -> list[V1Entry]:
    """Read a legacy MHL v1 file (any text encoding) and return its entries in file order.

    Dates without a zone (as mhlcreate wrote them) come back naive. Raises
    MHLError when the file is missing, malformed, an XML bomb, not MHL v1, or
    records two different values for one hash.
    """
    file = Path(path)
    read = _FieldReader(file)
    data = _as_utf8_xml(_read_bytes(file, "MHL file"), file)
    entries: list[V1Entry] = []
    root = _parse_xml(data, file)
    for element in root.iter("{*}hash"):
        children: dict[str, etree._Element] = {}
        hashes: dict[str, str] = {}
        for child in element:
            name = _local(child.tag)
            value = _v1_value(child, name, read)
            if value is None:
                children[name] = child
            elif hashes.setdefault(*value) != value[1]:
                raise read.fail(f"it records two different {value[0]} values for one file")
        if "file" not in children:
            raise read.fail("a <hash> element has no <file>")
        field_text = {name: read.token(child) for name, child in children.items()}
        entries.append(
            V1Entry(
                read.path(children["file"]),
                read.integer(field_text.get("size")),
                hashes,
                _v1_date(field_text.get("lastmodificationdate"), read),
                _v1_date(field_text.get("hashdate"), read),
            )
        )
    if _local(root.tag) != "hashlist":
        raise MHLError(f"{file} is not an MHL file (no <hashlist> root); check the path")
    return entries


def _xxh32_file(path: Path) -> str:
    # hashing.py has no 32-bit xxHash (nothing records it any more but v1 files).
    hasher = xxhash.xxh32()
    with path.open("rb") as stream:
        while chunk := stream.read(hashing.CHUNK_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest()


def verify_mhl_v1(
    path: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None, drop_cache: bool = False
) -> VerifyReport:
    """Check the files a legacy MHL v1 file lists; paths are relative to ``base`` (default: its folder).

    Every recorded hash is compared, so a v1 file whose hashes disagree with
    each other shows as a mismatch. An entry with only ``<null/>`` is
    UNVERIFIABLE when its size matches (existence was all it promised).
    Files on disk that the MHL does not list are not reported. Raises
    MHLError when the MHL file cannot be read.
    """
    file = Path(path)
    folder = Path(base) if base is not None else file.parent
    checks = []
    for entry in read_mhl_v1(file):
        target = folder / entry.file
        if not target.is_file():
            checks.append(
                FileCheck(entry.file, FileStatus.MISSING, entry.hashes, message="listed but not on disk")
            )
            continue
        if entry.size is not None and target.stat().st_size != entry.size:
            checks.append(
                FileCheck(
                    entry.file,
                    FileStatus.MISMATCH,
                    entry.hashes,
                    message=f"size is {target.stat().st_size}, the MHL file says {entry.size}",
                )
            )
            continue
        if not entry.hashes:
            checks.append(
                FileCheck(entry.file, FileStatus.UNVERIFIABLE, message="no hash recorded (<null/>)")
            )
            continue
        others = [f for f in entry.hashes if f != "xxh32"]
        try:
            actual = _hash_payload(target, others, drop_cache) if others else {}
            if "xxh32" in entry.hashes:
                actual["xxh32"] = _xxh32_file(target)
        except (hashing.HashingError, OSError) as exc:
            checks.append(FileCheck(entry.file, FileStatus.UNVERIFIABLE, entry.hashes, message=str(exc)))
            continue
        differing = [f for f in entry.hashes if entry.hashes[f] != actual[f]]
        status = FileStatus.MISMATCH if differing else FileStatus.OK
        message = f"content differs ({', '.join(differing)})" if differing else ""
        checks.append(FileCheck(entry.file, status, entry.hashes, actual, message=message))
    return VerifyReport(folder, tuple(sorted(checks, key=_by_path)))
