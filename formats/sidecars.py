"""Camera sidecar metadata: parse what cameras and their tools write next to the media.

Pure Python, no Django. :func:`parse_sidecar` recognises the format from the
file's content (not its extension, which lies: ARRI's ``.csv`` is tab-separated)
and returns a :class:`SidecarMetadata` with normalised fields plus every raw value
in :attr:`SidecarMetadata.extra`.

Supported formats (``SidecarMetadata.format``):

``sony_xml``
    Sony NonRealTimeMeta ``…M01.XML`` (VENICE, FX9/FX6/FX3, XDCAM). Parsed with
    defusedxml and DTDs refused, so entity-expansion bombs and external entities
    fail with :class:`SidecarError`. Elements are matched by local name because the
    namespace carries a version (``…nonRealTimeMeta:ver.2.10`` / ``ver.2.20``).
``arri_ame``
    ARRI Meta Extract export: tab-separated despite ``.csv``, one row per frame.
    Static values come from the first row; the end timecode from the last.
``red_static`` / ``red_frames``
    ``REDline --printMeta 3`` (one row per clip) and ``--printMeta 5`` (per frame).
``canon_static`` / ``canon_frames``
    Canon's own metadata export (static CSV and per-frame CSV).
``blackmagic``
    Blackmagic RAW SDK ``ExtractMetadata`` dump (``Clip Metadata`` then ``Frame N
    Metadata`` sections of ``key: value`` lines).

When a static file (REDline ``….static.csv``, Canon ``…_Static.csv``) is parsed
from a path and its per-frame sibling exists, the first frame's lens values fill
fields the static file lacks, and the raw frame values land in ``extra`` under
``frames.<column>``.

Values a field cannot be read from (a malformed number) are left None and noted
in :attr:`SidecarMetadata.warnings`; only structural problems (unknown format,
malformed XML/CSV, no data rows, unsafe XML, too large) raise :class:`SidecarError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DefusedET

from formats.naming import recognize_camera_name
from formats.timecode import Timecode, TimecodeError, frame_rate

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SidecarError",
    "SidecarMetadata",
    "parse_sidecar",
    "parse_sidecar_bytes",
]

#: Largest sidecar read (100 MB). An ARRI per-frame export is ~1.2 kB a frame, so
#: this covers a take of over an hour at 24 fps while refusing media files.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024


class SidecarError(ValueError):
    """A sidecar that cannot be parsed.

    Attributes:
        source: The file name.
        problem: What is wrong (the message is ``"<source>: <problem>"``).
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")

    def __reduce__(self) -> tuple[object, ...]:
        # Two-argument __init__ breaks default exception pickling (Celery pickles them).
        return (self.__class__, (self.source, self.problem))


#: Raw keys naming the look or LUT, most specific first (see SidecarMetadata.look).
_LOOK_KEYS = ("Look Name", "Custom LUT File Name", "Camera 3D LUT", "3D LUT", "post_3dlut_embedded_name")
_NO_LOOK = frozenset({"--", "0", "OFF", "none", "None"})
_SONY_LOOK_KEYS = (".MonitoringDescriptions", ".PreCDLTransform")


@dataclass
class SidecarMetadata:
    """Normalised camera metadata from one sidecar; None where the file says nothing.

    Attributes:
        source: File name parsed.
        format: One of the formats in the module docstring.
        camera_make / camera_model / camera_serial: The camera body.
        camera_index: Camera letter (A, B, …) of a multi-camera shoot.
        lens / lens_serial: Lens model and serial as the camera reports them.
        focal_length_mm: Focal length (first frame for per-frame formats).
        iris: Aperture as written, prefixed F or T when the format says which
            ("F5.6", "T2.3"); ARRI's "1.4 + 7/10" (T-stop plus tenths) is kept as is.
        iso: Sensitivity the camera reports as ISO (Sony's base ISO, RED/BMD/Canon ISO).
        exposure_index: Exposure index rating where the camera reports one separately
            (Sony EI, ARRI EI/ASA).
        white_balance_k: Colour temperature in kelvin.
        shutter_angle: Shutter angle in degrees.
        shutter_speed: Shutter speed as written ("1/48").
        fps: Project / timecode rate. capture_fps: sensor rate (differs when off-speed).
        start_timecode / end_timecode: First and last frame's timecode, HH:MM:SS:FF.
        reel: Reel / camera roll name as the camera writes it.
        clip_name: The camera's clip name.
        scene / take / circled: Slate data entered on the camera.
        width / height: Recorded image size in pixels.
        codec: Recording codec as the camera names it.
        recorded_at: Recording start; timezone-aware when the file gives an offset.
        date: Recording date.
        duration_frames: Clip length in frames, when the file states it.
        duration_seconds: Clip length in seconds, when stated as time (Canon).
        extra: Every raw value, keyed as in the file (``group.item`` for Sony XML,
            ``frame0.key`` for Blackmagic per-frame values, ``frames.column`` for a
            merged per-frame file).
        warnings: Values that were present but could not be interpreted.
    """

    source: str
    format: str
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    camera_index: str | None = None
    lens: str | None = None
    lens_serial: str | None = None
    focal_length_mm: float | None = None
    iris: str | None = None
    iso: int | None = None
    exposure_index: int | None = None
    white_balance_k: int | None = None
    shutter_angle: float | None = None
    shutter_speed: str | None = None
    fps: float | None = None
    capture_fps: float | None = None
    start_timecode: str | None = None
    end_timecode: str | None = None
    reel: str | None = None
    clip_name: str | None = None
    scene: str | None = None
    take: str | None = None
    circled: bool | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    recorded_at: dt.datetime | None = None
    date: dt.date | None = None
    duration_frames: int | None = None
    duration_seconds: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def resolution(self) -> str | None:
        """``"WIDTHxHEIGHT"`` when both are known, else None."""
        if self.width is None or self.height is None:
            return None
        return f"{self.width}x{self.height}"

    @property
    def look(self) -> str | None:
        """The look or monitoring LUT the camera recorded with, by name, when the file says.

        ARRI and RED write ``Look Name`` (ARRI ``--`` for none), RED also ``Camera 3D LUT``,
        ARRI ``Custom LUT File Name``; Blackmagic ``post_3dlut_embedded_name``; Sony its
        ``MonitoringDescriptions`` / ``PreCDLTransform`` as ``LUT:<file>``.
        """
        for key in _LOOK_KEYS:
            value = self.extra.get(key, "").strip()
            if value and value not in _NO_LOOK:
                return value
        for key, value in self.extra.items():
            if key.endswith(_SONY_LOOK_KEYS) and value.startswith("LUT:") and value[4:].strip():
                return value[4:].strip()
        return None

    def normalized(self) -> dict[str, object]:
        """Return the normalised fields that have a value (no ``extra``/``warnings``).

        Includes ``resolution`` when width and height are known.
        """
        values = {k: v for k, v in asdict(self).items() if v is not None and k not in ("extra", "warnings")}
        if self.resolution:
            values["resolution"] = self.resolution
        return values


# --------------------------------------------------------------------------- #
# Entry points
# --------------------------------------------------------------------------- #


def parse_sidecar(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, merge_frames: bool = True
) -> SidecarMetadata:
    """Parse a camera sidecar file, detecting its format from the content.

    Args:
        path: The sidecar file.
        max_bytes: Refuse larger files (checked on disk before reading).
        merge_frames: For a REDline/Canon static file, also read the per-frame
            sibling if present (see the module docstring).

    Returns:
        The :class:`SidecarMetadata`.

    Raises:
        SidecarError: naming the file, if it cannot be read, is too large, is not a
            supported sidecar, is malformed, or is XML with a DTD/entities.
    """
    path = Path(path)
    data = _read(path, max_bytes=max_bytes)
    meta = parse_sidecar_bytes(data, name=path.name)
    if merge_frames:
        sibling = _frames_sibling(path, meta.format)
        if sibling is not None and sibling.is_file():
            frames = parse_sidecar_bytes(_read(sibling, max_bytes=max_bytes), name=sibling.name)
            _merge_frames(meta, frames)
    return meta


def parse_sidecar_bytes(data: bytes, *, name: str) -> SidecarMetadata:
    """Parse sidecar content already in memory (an upload); ``name`` is used in messages.

    Returns:
        The :class:`SidecarMetadata` (no sibling merging: there is no folder).

    Raises:
        SidecarError: as :func:`parse_sidecar`.
    """
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body.startswith(b"<"):
        return _parse_sony_xml(data, name)
    text = _decode_text(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.strip() == "Clip Metadata":
        return _parse_blackmagic(text, name)
    if "\t" in first:
        header = first.split("\t")
        if {"Master TC", "Camera Clip Name"} & set(header) or header[0] == "Index":
            return _parse_arri_ame(text, name)
    header = next(csv.reader([first])) if first else []
    columns = set(header)
    if {"Clip Name", "Abs TC"} <= columns or "Camera PIN" in columns:
        return _parse_red_static(text, name)
    if header[:2] == ["FrameNo", "Timecode"]:
        return _parse_red_frames(text, name)
    if {"SceneNumber", "ShotNumber", "ReelNumber"} <= columns:
        return _parse_canon_static(text, name)
    if "Timecode" in columns and "Record_Date_Year" in columns:
        return _parse_canon_frames(text, name)
    raise SidecarError(
        name,
        "not a supported camera sidecar (expected Sony M01 XML, ARRI Meta Extract, "
        "REDline CSV, Canon metadata CSV or a Blackmagic RAW metadata dump)",
    )


def _read(path: Path, *, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SidecarError(
                path.name, f"file is too large ({size / 1e6:.1f} MB, limit {max_bytes / 1e6:.1f} MB)"
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SidecarError(path.name, f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise SidecarError(path.name, f"file is too large (limit {max_bytes / 1e6:.1f} MB)")
    return data


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Camera tools on Windows write the ANSI code page; Latin-1 never fails and
        # keeps ASCII (every field we normalise) intact.
        return data.decode("latin-1")


def _frames_sibling(path: Path, fmt: str) -> Path | None:
    name = path.name
    if fmt == "red_static" and name.lower().endswith(".static.csv"):
        return path.with_name(name[: -len(".static.csv")] + ".frames.csv")
    if fmt == "canon_static":
        match = re.search(r"_static(\.csv)$", name, re.I)
        if match:
            frames = "_Frames" if "_Static" in name else "_frames"
            return path.with_name(name[: match.start()] + frames + match.group(1))
    return None


def _merge_frames(meta: SidecarMetadata, frames: SidecarMetadata) -> None:
    for key, value in frames.extra.items():
        meta.extra[f"frames.{key}"] = value
    for name in ("focal_length_mm", "iris", "iso", "white_balance_k", "shutter_angle", "start_timecode"):
        if getattr(meta, name) is None and getattr(frames, name) is not None:
            setattr(meta, name, getattr(frames, name))
    if meta.end_timecode is None and meta.format == "red_static":
        meta.end_timecode = frames.end_timecode
    meta.warnings.extend(f"{frames.source}: {w}" for w in frames.warnings)


# --------------------------------------------------------------------------- #
# Value helpers
# --------------------------------------------------------------------------- #

# What cameras write for "not set".
_PLACEHOLDERS = {"", "--", "n.a.", "n/a", "none", "null"}


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in _PLACEHOLDERS else value


class _Reader:
    """Typed getters over a raw ``{key: text}`` mapping that record bad values as warnings."""

    def __init__(self, raw: Mapping[str, str], warnings: list[str]) -> None:
        self.raw = raw
        self.warnings = warnings

    def text(self, key: str) -> str | None:
        return _text(self.raw.get(key))

    def number(self, key: str) -> float | None:
        """Leading number of the value ("40mm" -> 40.0, "180/10" -> 18.0), else None."""
        value = self.text(key)
        if value is None:
            return None
        match = re.match(r"^[+-]?\d+(?:\.\d+)?(?:/\d+)?", value)
        try:
            if not match:
                raise ValueError(value)
            number = match.group(0)
            return float(Fraction(number))
        except (ValueError, ZeroDivisionError):
            self.warnings.append(f"{key}: {value!r} is not a number")
            return None

    def integer(self, key: str) -> int | None:
        number = self.number(key)
        return None if number is None else round(number)

    def boolean(self, key: str) -> bool | None:
        value = self.text(key)
        if value is None:
            return None
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "y", "on", "circled", "circle"):
            return True
        if lowered in ("0", "false", "no", "n", "off"):
            return False
        self.warnings.append(f"{key}: {value!r} is not yes/no")
        return None


def _timecode_text(value: str | None, warnings: list[str], key: str) -> str | None:
    """Return HH:MM:SS:FF with two-digit hours; the rate is not always known, so no frame check."""
    value = _text(value)
    if value is None:
        return None
    match = re.fullmatch(r"(\d{1,2})([:;])(\d{2})([:;])(\d{2})([:;.])(\d{2})", value)
    if not match or int(match[1]) > 23 or int(match[3]) > 59 or int(match[5]) > 59:
        warnings.append(f"{key}: {value!r} is not a timecode")
        return None
    return f"{int(match[1]):02d}:{match[3]}:{match[5]}{match[6]}{match[7]}"


def _fps(value: str | None) -> float | None:
    # "24.00p", "25p", "59.94i", "23.976" -> float
    value = _text(value)
    match = re.match(r"^(\d+(?:\.\d+)?)", value or "")
    return float(match.group(1)) if match else None


def _dedupe_row(header: list[str], row: list[str]) -> dict[str, str]:
    # ARRI and REDline repeat some column names (Master TC, Lens, Aperture). Keep the
    # first; keep a differing repeat as "name [2]" so no raw value is lost.
    out: dict[str, str] = {}
    for position, (key, value) in enumerate(zip(header, row, strict=False)):
        if key not in out:
            out[key] = value
        elif out[key] != value:
            out[f"{key} [{position + 1}]"] = value
    return out


def _csv_rows(text: str, name: str, *, delimiter: str) -> tuple[list[str], Iterator[list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise SidecarError(name, "file is empty") from None
    except csv.Error as exc:
        raise SidecarError(name, f"malformed CSV header: {exc}") from None

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                if any(v.strip() for v in row):
                    if len(row) > len(header) and any(v.strip() for v in row[len(header) :]):
                        raise SidecarError(
                            name,
                            f"line {reader.line_num}: {len(row)} fields but the header has {len(header)}",
                        )
                    yield row
        except csv.Error as exc:
            raise SidecarError(name, f"malformed CSV at line {reader.line_num}: {exc}") from None

    return header, rows()


def _first_row(text: str, name: str, *, delimiter: str = ",") -> dict[str, str]:
    header, rows = _csv_rows(text, name, delimiter=delimiter)
    row = next(rows, None)
    if row is None:
        raise SidecarError(name, "has a header but no data rows")
    return _dedupe_row(header, row)


# --------------------------------------------------------------------------- #
# Sony NonRealTimeMeta XML
# --------------------------------------------------------------------------- #


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _sony_ltc(value: str) -> tuple[int, int, int, int, bool] | None:
    """Decode Sony's LTC value: 4 BCD bytes frames, seconds, minutes, hours.

    "19044716" is 16:47:04:19. Flag bits ride in the high bits (SMPTE 12M): bit 6
    of the frames byte is drop-frame, bit 7 colour framing; bit 7 of seconds and
    minutes and bits 6-7 of hours are binary-group flags. They are masked off.
    """
    if not re.fullmatch(r"[0-9A-Fa-f]{8}", value):
        return None
    raw = bytes.fromhex(value)
    masks = (0x3F, 0x7F, 0x7F, 0x3F)
    digits = []
    for byte, mask in zip(raw, masks, strict=True):
        byte &= mask
        tens, units = byte >> 4, byte & 0x0F
        if units > 9:
            return None
        digits.append(tens * 10 + units)
    frames, seconds, minutes, hours = digits
    return hours, minutes, seconds, frames, bool(raw[0] & 0x40)


def _parse_sony_xml(data: bytes, name: str) -> SidecarMetadata:
    try:
        # forbid_dtd: camera XML never has a DTD, so any DTD is refused outright;
        # defusedxml also refuses entity declarations and external references.
        root = DefusedET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise SidecarError(
            name,
            f"refused unsafe XML ({type(exc).__name__}): it declares a DTD or entities, "
            "which camera sidecars never do (possible XML bomb)",
        ) from None
    except ET.ParseError as exc:
        raise SidecarError(name, f"malformed XML: {exc}") from None
    if _local(root.tag) != "NonRealTimeMeta":
        raise SidecarError(name, f"XML root is <{_local(root.tag)}>, not a Sony <NonRealTimeMeta> sidecar")

    meta = SidecarMetadata(source=name, format="sony_xml")
    extra = meta.extra
    if "}" in str(root.tag):
        extra["namespace"] = str(root.tag)[1:].split("}", 1)[0]
    elements: dict[str, ET.Element] = {}
    for element in root.iter():
        local = _local(element.tag)
        elements.setdefault(local, element)
        if local == "Group":
            # <Group name="CameraUnitMetadataSet"><Item name="ISOSensitivity" value="500"/>
            for item in element:
                if _local(item.tag) == "Item":
                    extra[f"{element.get('name', '')}.{item.get('name', '')}"] = item.get("value", "")
        elif local == "Meta":
            extra[f"Meta.{element.get('name', '')}"] = element.get("content", "")
    for local in (
        "Duration",
        "CreationDate",
        "TargetMaterial",
        "VideoFrame",
        "VideoLayout",
        "Device",
        "Camera",
        "Lens",
    ):
        element = elements.get(local)
        if element is not None:
            for key, value in element.attrib.items():
                extra[f"{local}.{key}"] = value

    reader = _Reader(extra, meta.warnings)
    body = elements.get("Camera", elements.get("Device"))
    if body is not None:
        meta.camera_make = _text(body.get("manufacturer"))
        meta.camera_model = _text(body.get("modelName"))
        serial = _text(body.get("serialNo"))
        # 4294967295 (0xFFFFFFFF) is the "no serial" value consumer bodies write.
        meta.camera_serial = None if serial == "4294967295" else serial
    lens = elements.get("Lens")
    if lens is not None:
        meta.lens = (
            " ".join(p for p in (_text(lens.get("manufacturer")), _text(lens.get("modelName"))) if p) or None
        )

    meta.iso = reader.integer("CameraUnitMetadataSet.ISOSensitivity")
    meta.exposure_index = reader.integer("CameraUnitMetadataSet.ExposureIndexOfPhotoMeter")
    meta.white_balance_k = reader.integer("CameraUnitMetadataSet.WhiteBalance")
    angle = reader.number("CameraUnitMetadataSet.ShutterSpeedAngle")
    # Sony writes the angle in hundredths of a degree (10380 = 103.8°).
    meta.shutter_angle = None if angle is None else angle / 100
    meta.camera_index = reader.text("Meta.CameraIndex")
    meta.reel = reader.text("Meta.Reel")
    meta.scene = reader.text("Meta.Scene")
    meta.take = reader.text("Meta.Take")
    meta.circled = reader.boolean("Meta.Circle")

    frame = elements.get("VideoFrame")
    if frame is not None:
        meta.codec = _text(frame.get("videoCodec"))
        meta.capture_fps = _fps(frame.get("captureFps"))
        meta.fps = _fps(frame.get("formatFps")) or meta.capture_fps
    layout = elements.get("VideoLayout")
    if layout is not None:
        meta.width = reader.integer("VideoLayout.pixel")
        meta.height = reader.integer("VideoLayout.numOfVerticalLine")
    meta.duration_frames = reader.integer("Duration.value")
    created = reader.text("CreationDate.value")
    if created:
        try:
            meta.recorded_at = dt.datetime.fromisoformat(created)
            meta.date = meta.recorded_at.date()
        except ValueError:
            meta.warnings.append(f"CreationDate: {created!r} is not an ISO date-time")

    table = elements.get("LtcChangeTable")
    if table is not None:
        tc_fps = table.get("tcFps")
        for change in table:
            status = change.get("status")
            ltc = _sony_ltc(change.get("value", ""))
            if ltc is None:
                meta.warnings.append(f"LtcChange: {change.get('value')!r} is not BCD timecode")
                continue
            text = _sony_timecode(ltc, tc_fps, meta.warnings)
            if change.get("frameCount") == "0" and meta.start_timecode is None:
                meta.start_timecode = text
            if status == "end":
                meta.end_timecode = text

    stem = name.split(".", 1)[0]
    camera_name = recognize_camera_name(stem)
    if camera_name is not None and camera_name.vendor == "sony":
        meta.clip_name = camera_name.clip_name
    return meta


def _sony_timecode(
    ltc: tuple[int, int, int, int, bool], tc_fps: str | None, warnings: list[str]
) -> str | None:
    hours, minutes, seconds, frames, drop = ltc
    try:
        rate = frame_rate(tc_fps or "")
        if drop:
            # tcFps is the nominal rate (30/60); the DF flag means 29.97/59.94 DF.
            rate = frame_rate(Fraction(rate.nominal * 1000, 1001), drop_frame=True)
        return str(Timecode(hours, minutes, seconds, frames, rate))
    except TimecodeError as exc:
        warnings.append(f"LtcChange: {exc}")
        return None


# --------------------------------------------------------------------------- #
# ARRI Meta Extract
# --------------------------------------------------------------------------- #


def _parse_arri_ame(text: str, name: str) -> SidecarMetadata:
    header, rows = _csv_rows(text, name, delimiter="\t")
    first: list[str] | None = None
    last: list[str] | None = None
    count = 0
    for row in rows:  # streamed: per-frame files are long; keep only first and last
        if first is None:
            first = row
        last = row
        count += 1
    if first is None or last is None:
        raise SidecarError(name, "ARRI Meta Extract file has a header but no frame rows")
    raw = _dedupe_row(header, first)
    end_raw = _dedupe_row(header, last)
    meta = SidecarMetadata(source=name, format="arri_ame", extra=raw, camera_make="ARRI")
    r = _Reader(raw, meta.warnings)
    meta.camera_model = r.text("Camera Model")
    meta.camera_serial = r.text("Camera Serial Number")
    meta.camera_index = r.text("Camera Index")
    meta.lens = r.text("Lens Model")
    meta.lens_serial = r.text("Lens Serial Number")
    meta.focal_length_mm = r.number("Lens Focal Length")
    meta.iris = r.text("Lens Iris")
    meta.exposure_index = r.integer("Exposure Index ASA")
    meta.white_balance_k = r.integer("White Balance")
    meta.shutter_angle = r.number("Shutter Angle")
    meta.fps = r.number("Project FPS")
    meta.capture_fps = r.number("Sensor FPS")
    meta.start_timecode = _timecode_text(raw.get("Master TC"), meta.warnings, "Master TC")
    meta.end_timecode = _timecode_text(end_raw.get("Master TC"), meta.warnings, "Master TC (last frame)")
    meta.reel = r.text("Reel")
    meta.clip_name = r.text("Camera Clip Name")
    meta.scene = r.text("Scene")
    meta.take = r.text("Take")
    meta.circled = r.boolean("Circle Take")
    meta.width = r.integer("Image Width")
    meta.height = r.integer("Image Height")
    meta.codec = r.text("Recording Codec")
    meta.duration_frames = count
    meta.recorded_at, meta.date = _arri_datetime(r)
    return meta


def _arri_datetime(r: _Reader) -> tuple[dt.datetime | None, dt.date | None]:
    day = r.text("System Image Creation Date")
    if day is None:
        return None, None
    try:
        date = dt.datetime.strptime(day, "%Y/%m/%d").date()  # noqa: DTZ007 - a date only
    except ValueError:
        r.warnings.append(f"System Image Creation Date: {day!r} is not YYYY/MM/DD")
        return None, None
    time_text = r.text("System Image Creation Time")
    if time_text is None:
        return None, date
    try:
        clock = dt.time.fromisoformat(time_text)
    except ValueError:
        r.warnings.append(f"System Image Creation Time: {time_text!r} is not HH:MM:SS")
        return None, date
    tz: dt.tzinfo | None = None
    offset = re.fullmatch(r"UTC([+-])(\d{2}):(\d{2})", r.text("System Image Timezone Offset") or "")
    if offset:
        delta = dt.timedelta(hours=int(offset[2]), minutes=int(offset[3]))
        tz = dt.timezone(-delta if offset[1] == "-" else delta)
    return dt.datetime.combine(date, clock, tzinfo=tz), date


# --------------------------------------------------------------------------- #
# REDline
# --------------------------------------------------------------------------- #


def _parse_red_static(text: str, name: str) -> SidecarMetadata:
    raw = _first_row(text, name)
    meta = SidecarMetadata(source=name, format="red_static", extra=raw, camera_make="RED")
    r = _Reader(raw, meta.warnings)
    meta.camera_model = r.text("Camera Model")
    meta.camera_serial = r.text("Camera PIN")  # RED calls the body serial its PIN
    meta.camera_index = r.text("Camera")
    brand, lens_name = r.text("Lens Brand"), r.text("Lens Name")
    if r.text("Lens"):
        meta.lens = r.text("Lens")
    elif lens_name:
        meta.lens = (
            lens_name
            if brand and lens_name.startswith(brand)
            else " ".join(p for p in (brand, lens_name) if p)
        )
    meta.lens_serial = r.text("Lens Serial Number")
    meta.focal_length_mm = r.number("Focal Length")
    meta.iris = r.text("Aperture")
    meta.iso = r.integer("ISO")
    meta.white_balance_k = r.integer("Kelvin")
    meta.shutter_angle = r.number("Shutter (deg)")
    per_second = r.text("Shutter (1/sec)")
    meta.shutter_speed = f"1/{per_second}" if per_second else None
    meta.fps = r.number("FPS")
    meta.capture_fps = r.number("Record FPS")
    meta.start_timecode = _timecode_text(raw.get("Abs TC"), meta.warnings, "Abs TC")
    meta.end_timecode = _timecode_text(raw.get("End Abs TC"), meta.warnings, "End Abs TC")
    meta.reel = r.text("CamReelID") or r.text("Reel")
    meta.clip_name = r.text("Clip Name")
    meta.scene = r.text("Scene")
    meta.take = r.text("Take")
    meta.circled = r.boolean("Circle")
    meta.width = r.integer("Frame Width")
    meta.height = r.integer("Frame Height")
    meta.codec = r.text("REDCODE")
    meta.duration_frames = r.integer("Total Frames")
    day, clock = r.text("Date"), r.text("Timestamp")
    if day:
        try:
            meta.date = dt.datetime.strptime(day, "%Y%m%d").date()  # noqa: DTZ007 - a date only
            if clock:
                # REDline prints camera-local time with no offset: keep it naive.
                meta.recorded_at = dt.datetime.strptime(day + clock, "%Y%m%d%H%M%S")  # noqa: DTZ007
        except ValueError:
            meta.warnings.append(f"Date/Timestamp: {day!r} {clock!r} is not YYYYMMDD HHMMSS")
    return meta


def _parse_red_frames(text: str, name: str) -> SidecarMetadata:
    header, rows = _csv_rows(text, name, delimiter=",")
    first: dict[str, str] | None = None
    last: dict[str, str] | None = None
    count = 0
    for row in rows:
        last = _dedupe_row(header, row)
        first = first or last
        count += 1
    if first is None or last is None:
        raise SidecarError(name, "REDline frames file has a header but no frame rows")
    meta = SidecarMetadata(source=name, format="red_frames", extra=first, camera_make="RED")
    r = _Reader(first, meta.warnings)
    meta.start_timecode = _timecode_text(first.get("Timecode"), meta.warnings, "Timecode")
    meta.end_timecode = _timecode_text(last.get("Timecode"), meta.warnings, "Timecode (last frame)")
    meta.focal_length_mm = r.number("Focal Length")
    aperture = r.number("Aperture")
    meta.iris = None if aperture is None else f"F{aperture:g}"
    meta.duration_frames = count
    stem = name.split(".", 1)[0]
    found = recognize_camera_name(stem)
    if found is not None and found.vendor == "red":
        meta.clip_name = found.clip_name
    return meta


# --------------------------------------------------------------------------- #
# Canon
# --------------------------------------------------------------------------- #


def _parse_canon_static(text: str, name: str) -> SidecarMetadata:
    raw = _first_row(text, name)
    meta = SidecarMetadata(source=name, format="canon_static", extra=raw, camera_make="Canon")
    r = _Reader(raw, meta.warnings)
    meta.clip_name = r.text("ShotNumber")
    meta.reel = r.text("ReelNumber")
    meta.scene = r.text("SceneNumber")
    meta.take = r.text("TakeNumber")
    meta.width = r.integer("Width")
    meta.height = r.integer("Height")
    duration, timescale = r.integer("Duration"), r.integer("Timescale")
    if duration is not None and timescale:
        meta.duration_seconds = duration / timescale
    created = r.text("CreationTime")
    if created:
        try:
            # Canon writes local time with no offset: keep it naive.
            meta.recorded_at = dt.datetime.strptime(created, "%Y/%m/%d %H:%M")  # noqa: DTZ007
            meta.date = meta.recorded_at.date()
        except ValueError:
            meta.warnings.append(f"CreationTime: {created!r} is not YYYY/MM/DD HH:MM")
    return meta


def _parse_canon_frames(text: str, name: str) -> SidecarMetadata:
    raw = _first_row(text, name)
    meta = SidecarMetadata(source=name, format="canon_frames", extra=raw, camera_make="Canon")
    r = _Reader(raw, meta.warnings)
    meta.start_timecode = _timecode_text(raw.get("Timecode"), meta.warnings, "Timecode")
    meta.focal_length_mm = r.number("FocalLength")  # a fraction: 180/10 = 18 mm
    aperture = r.number("ApertureNumber")
    # Only mode 2 is known to mean a T-number (as in Canon's own camdkit reader);
    # other modes stay in extra rather than be guessed.
    if aperture is not None and r.text("ApertureMode") == "2":
        meta.iris = f"T{aperture:g}"
    if r.text("PhotographicSensitivityMode") == "1":
        # In ISO mode the value is 0x80000000 + ISO (2147485248/1 = ISO 1600).
        sensitivity = r.number("PhotographicSensitivity")
        if sensitivity is not None and sensitivity >= 0x80000000:
            meta.iso = int(sensitivity) - 0x80000000
    if r.text("ExposureTimeMode") == "2":
        meta.shutter_angle = r.number("ExposureTime")  # angle mode: 18000/100 = 180°
    meta.white_balance_k = r.integer("ColorTemperature")
    return meta


# --------------------------------------------------------------------------- #
# Blackmagic RAW
# --------------------------------------------------------------------------- #


def _parse_blackmagic(text: str, name: str) -> SidecarMetadata:
    clip: dict[str, str] = {}
    frames: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == "Clip Metadata":
            current = clip
        elif re.fullmatch(r"Frame \d+ Metadata", stripped):
            frames.append({})
            current = frames[-1]
        elif current is not None and ": " in line:
            key, _, value = line.partition(": ")
            current[key.strip()] = value.strip()
        elif current is not None and line.rstrip().endswith(":"):
            current[line.rstrip()[:-1].strip()] = ""
        else:
            raise SidecarError(name, f"line {number}: expected 'key: value', found {line[:40]!r}")
    frame0 = frames[0] if frames else {}
    extra = dict(clip)
    extra.update({f"frame0.{k}": v for k, v in frame0.items()})
    meta = SidecarMetadata(source=name, format="blackmagic", extra=extra)
    r = _Reader(extra, meta.warnings)
    meta.camera_make = r.text("manufacturer")
    meta.camera_model = r.text("camera_type")
    meta.camera_serial = r.text("camera_id")
    meta.camera_index = r.text("camera_number")
    meta.lens = r.text("lens_type")
    meta.reel = r.text("reel_name")
    meta.scene = r.text("scene")
    meta.take = r.text("take")
    meta.circled = r.boolean("good_take")
    meta.clip_name = r.text("clip_number")
    ratio = r.text("braw_compression_ratio")
    meta.codec = f"Blackmagic RAW {ratio}" if ratio else None
    crop = re.fullmatch(r"(\d+),(\d+),?", r.text("crop_size") or "")
    if crop:
        meta.width, meta.height = int(crop[1]), int(crop[2])
    fixed = r.integer("format_frame_rate")
    if fixed:
        # The SDK prints the project rate as 16.16 fixed point (1572864 = 24.0);
        # only accept it when that gives a rate timecode knows.
        try:
            meta.fps = float(frame_rate(Fraction(fixed, 65536)).fps)
        except TimecodeError:
            meta.warnings.append(f"format_frame_rate: {fixed} is not a known 16.16 frame rate")
    sensor = re.fullmatch(r"(\d+),(\d+),?", r.text("frame0.sensor_rate") or "")
    if sensor and int(sensor[2]):
        meta.capture_fps = int(sensor[1]) / int(sensor[2])
    meta.focal_length_mm = r.number("frame0.focal_length")
    meta.iris = r.text("frame0.aperture")
    meta.iso = r.integer("frame0.iso")
    meta.white_balance_k = r.integer("frame0.white_balance_kelvin")
    shutter = r.text("frame0.shutter_value")
    if shutter and (shutter.endswith("°") or r.text("shutter_type") == "Angle"):
        meta.shutter_angle = r.number("frame0.shutter_value")
    recorded = r.text("date_recorded")
    if recorded:
        try:
            meta.date = dt.datetime.strptime(recorded, "%Y:%m:%d").date()  # noqa: DTZ007 - a date only
        except ValueError:
            meta.warnings.append(f"date_recorded: {recorded!r} is not YYYY:MM:DD")
    return meta
