"""Which camera recorded a card: recognised from its folder layout and file names.

Pure Python, no Django, no I/O: give it the card's relative file paths (posix,
``/``-separated). Signatures, checked in this order (the first that matches wins):

==================  ===========================================================
maker / format      signature
==================  ===========================================================
RED R3D             ``*.R3D`` files (``*.RDM``/``*.RDC`` folders)
Blackmagic RAW      ``*.braw`` files
ARRI ARRIRAW        ``*.ari`` / ``*.arx`` files
AVCHD               ``PRIVATE/AVCHD/BDMV/STREAM/*.MTS`` (or ``AVCHD/BDMV/…``)
Sony XDCAM EX       a ``BPAV/`` folder (``BPAV/CLPR/…``)
Sony XDCAM          an ``XDROOT/`` folder, or ``Clip/*.MXF`` beside ``MEDIAPRO.XML``/``Clip/*M01.XML``
Sony XAVC S         ``PRIVATE/M4ROOT/CLIP/*.MP4``
Canon Cinema RAW    ``*.CRM`` files
Canon XF-AVC        ``CONTENTS/CLIPS001/*.MXF`` or names ending ``_CANON``
Panasonic P2        ``CONTENTS/VIDEO/*.MXF`` with ``CONTENTS/CLIP/*.XML``
ARRI ProRes/MXF     ``.mov``/``.mxf`` named the ALEXA way (``A001C003_230815_R2AB``)
GoPro               ``DCIM/1xxGOPRO/``
==================  ===========================================================

Besides the format, the camera letter (the most frequent one in camera-native
clip names, via :func:`formats.naming.recognize_camera_name`) and the earliest
full recording date in those names are returned, for the offload's folder
template and shoot day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from formats.naming import recognize_camera_name

__all__ = ["CardFormat", "recognise_card"]

_MEDIA = (".mov", ".mxf", ".mp4", ".r3d", ".braw", ".ari", ".arx", ".crm", ".mts")


@dataclass(frozen=True)
class CardFormat:
    """What a card is, as far as its layout and names tell.

    Attributes:
        maker: ``"ARRI"``, ``"RED"``, ``"Sony"``, ``"Canon"``, ``"Blackmagic"``, ``"Panasonic"``,
            ``"GoPro"``, ``"AVCHD"`` or ``""`` when unknown.
        format: The recording format (``"XDCAM"``, ``"REDCODE RAW"``…), ``""`` when unknown.
        evidence: The path or pattern that gave it away, for people ("XDROOT/ folder").
        camera: Camera letter from clip names (A, B…), or None.
        recorded: Earliest full recording date found in clip names, or None.
    """

    maker: str
    format: str
    evidence: str
    camera: str | None = None
    recorded: dt.date | None = None

    @property
    def known(self) -> bool:
        return bool(self.maker)

    def __str__(self) -> str:
        if not self.known:
            return "unknown format"
        return self.format if self.format.startswith(self.maker) else f"{self.maker} {self.format}"


def _upper(paths: Iterable[str]) -> list[str]:
    return [p.strip("/").upper() for p in paths if p and not p.startswith(".")]


def _first(paths: list[str], pattern: str) -> str | None:
    regex = re.compile(pattern)
    return next((p for p in paths if regex.search(p)), None)


# (maker, format, regex over the upper-cased relative path, how to describe the evidence)
_SIGNATURES: tuple[tuple[str, str, str, str], ...] = (
    ("RED", "REDCODE RAW", r"\.R3D$", "R3D files"),
    ("Blackmagic", "Blackmagic RAW", r"\.BRAW$", "BRAW files"),
    ("ARRI", "ARRIRAW", r"\.ARI$|\.ARX$", "ARRIRAW frames"),
    ("AVCHD", "AVCHD", r"(^|/)AVCHD/BDMV/(STREAM/[^/]+\.MTS$|INDEX\.BDM$)", "AVCHD/BDMV folder"),
    ("Sony", "XDCAM EX", r"(^|/)BPAV/", "BPAV/ folder"),
    ("Sony", "XDCAM", r"(^|/)XDROOT/", "XDROOT/ folder"),
    ("Sony", "XDCAM", r"^(CLIP/[^/]+M01\.XML|MEDIAPRO\.XML)$", "Clip/ folder with MEDIAPRO.XML or M01.XML"),
    ("Sony", "XAVC S", r"(^|/)PRIVATE/M4ROOT/", "PRIVATE/M4ROOT/ folder"),
    ("Canon", "Cinema RAW Light", r"\.CRM$", "CRM files"),
    (
        "Canon",
        "XF-AVC",
        r"(^|/)CONTENTS/CLIPS\d{3}/[^/]+\.MXF$|_CANON\.[A-Z0-9]+$",
        "CONTENTS/CLIPS001/ folder",
    ),
    ("Panasonic", "P2", r"(^|/)CONTENTS/VIDEO/[^/]+\.MXF$", "CONTENTS/VIDEO/ folder"),
    ("GoPro", "GoPro MP4", r"(^|/)DCIM/\d{3}GOPRO/", "DCIM/…GOPRO folder"),
)

_VENDOR_NAMES = {"arri": "ARRI", "red": "RED", "sony": "Sony", "canon": "Canon", "blackmagic": "Blackmagic"}


def recognise_card(relative_paths: Iterable[str]) -> CardFormat:
    """Recognise a card from its files' relative paths (see the module table).

    Never raises on odd input: a card with no known signature gives an
    unknown :class:`CardFormat` (``maker == ""``), possibly still carrying a
    camera letter and recording date from its clip names.
    """
    original = [p for p in relative_paths if isinstance(p, str)]
    paths = _upper(original)
    camera, recorded, vendors = _from_names(original)
    for maker, fmt, pattern, evidence in _SIGNATURES:
        if _first(paths, pattern) is not None:
            return CardFormat(maker, fmt, evidence, camera, recorded)
    if vendors:
        vendor = vendors.most_common(1)[0][0]
        maker = _VENDOR_NAMES.get(vendor, vendor.title())
        extensions = Counter(p.rsplit(".", 1)[-1] for p in paths if p.lower().endswith(_MEDIA))
        container = extensions.most_common(1)[0][0] if extensions else "media"
        return CardFormat(maker, f"{maker} {container}", f"{maker} clip names", camera, recorded)
    return CardFormat("", "", "", camera, recorded)


def _from_names(paths: list[str]) -> tuple[str | None, dt.date | None, Counter[str]]:
    cameras: Counter[str] = Counter()
    vendors: Counter[str] = Counter()
    dates: list[dt.date] = []
    for path in paths:
        if not path.lower().endswith(_MEDIA):
            continue
        name = recognize_camera_name(path)
        if name is None:
            continue
        vendors[name.vendor] += 1
        if name.camera:
            cameras[name.camera] += 1
        if name.date is not None:
            dates.append(name.date)
    camera = cameras.most_common(1)[0][0] if cameras else None
    return camera, (min(dates) if dates else None), vendors
