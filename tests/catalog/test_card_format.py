"""Camera formats recognised from a card's folder layout and names (formats/cardformat.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from formats.cardformat import recognise_card

CARDS = {
    "arri_ari": (["A001R1AB/A001C001_230815_R1AB/A001C001_230815_R1AB.0000001.ari"], "ARRI", "ARRIRAW"),
    "arri_prores": (["A001C003_230815_R2AB.mov", "A001C004_230815_R2AB.mov"], "ARRI", "ARRI MOV"),
    "red": (["A002_0815XY.RDM/A002_C005_0815XY.RDC/A002_C005_0815XY_001.R3D"], "RED", "REDCODE RAW"),
    "sony_venice": (
        ["XDROOT/Clip/D001C005_210716AG.MXF", "XDROOT/Clip/D001C005_210716AGM01.XML"],
        "Sony",
        "XDCAM",
    ),
    "sony_xdcam_disc": (["Clip/C0001.MXF", "Clip/C0001M01.XML", "MEDIAPRO.XML"], "Sony", "XDCAM"),
    "sony_ex": (["BPAV/CLPR/339_0001_01/339_0001_01.MP4"], "Sony", "XDCAM EX"),
    "sony_xavcs": (["PRIVATE/M4ROOT/CLIP/C0001.MP4", "PRIVATE/M4ROOT/CLIP/C0001M01.XML"], "Sony", "XAVC S"),
    "canon_xfavc": (["CONTENTS/CLIPS001/A001C001_211231AB_CANON.MXF"], "Canon", "XF-AVC"),
    "canon_raw": (["DCIM/100CANON/A001C001_211231AB.CRM"], "Canon", "Cinema RAW Light"),
    "blackmagic": (["A001_04190112_C102.braw"], "Blackmagic", "Blackmagic RAW"),
    "avchd": (["PRIVATE/AVCHD/BDMV/STREAM/00000.MTS", "PRIVATE/AVCHD/BDMV/INDEX.BDM"], "AVCHD", "AVCHD"),
    "p2": (["CONTENTS/VIDEO/0001AB.MXF", "CONTENTS/CLIP/0001AB.XML"], "Panasonic", "P2"),
    "gopro": (["DCIM/100GOPRO/GX010001.MP4"], "GoPro", "GoPro MP4"),
}


@pytest.mark.parametrize("name", sorted(CARDS))
def test_each_camera_layout_is_recognised(name: str) -> None:
    paths, maker, fmt = CARDS[name]
    found = recognise_card(paths)
    assert (found.maker, found.format) == (maker, fmt), found


def test_camera_letter_and_recording_date_come_from_the_clip_names() -> None:
    found = recognise_card(
        ["XDROOT/Clip/B002C001_261103AB.MXF", "XDROOT/Clip/B002C002_261102AB.MXF", "XDROOT/General/x.xml"]
    )
    assert (found.camera, found.recorded) == ("B", dt.date(2026, 11, 2))
    assert str(found) == "Sony XDCAM"


def test_an_unknown_card_says_so_and_never_raises() -> None:
    found = recognise_card(["notes.txt", "", ".DS_Store", "x/../../etc/passwd"])
    assert not found.known and str(found) == "unknown format"
    assert not recognise_card([]).known
