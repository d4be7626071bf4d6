"""Naming schemas, camera-native names, and grouping a card's files into clips."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from formats.ale import parse_ale
from formats.naming import (
    CameraName,
    NamingPatternError,
    NamingSchema,
    group_clip_files,
    recognize_camera_name,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
ARRI_PATTERN = "{camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}"


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip("../shared/samples is not present in this checkout")
    return path


# --------------------------------------------------------------------------- #
# Schemas
# --------------------------------------------------------------------------- #


def test_arri_pattern_parse_validate_format() -> None:
    schema = NamingSchema(ARRI_PATTERN)
    assert schema.tokens == ("camera", "roll", "clip", "date", "card")
    parsed = schema.parse("A001C003_230815_R2AB")
    assert parsed == {"camera": "A", "roll": 1, "clip": 3, "date": dt.date(2023, 8, 15), "card": "R2AB"}
    assert schema.validate("A001C003_230815_R2AB") == []
    assert (
        schema.format(camera="A", roll=1, clip=3, date=dt.date(2023, 8, 15), card="R2AB")
        == "A001C003_230815_R2AB"
    )
    assert schema.format(
        camera="b", roll=12, clip=140, date=dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC), card="X9"
    ) == ("B012C140_240102_X9")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("A001X003_230815_R2AB", "position 5: expected 'C', found 'X003_230815_'"),
        ("1001C003_230815_R2AB", "position 1: expected a camera letter, found '1001C003_230'"),
        ("A01C003_230815_R2AB", "position 2: expected roll as 3 digits, found '01C003_23081'"),
        ("A001C003_230231_R2AB", "date '230231' is not a real date (%y%m%d)"),
        ("A001C003_230815_", "position 17: expected card (letters/digits), found 'the end of the name'"),
        ("A001C003_230815_R2AB.mxf", "position 21: unexpected extra text '.mxf'"),
        ("", "name is empty"),
    ],
)
def test_validate_says_where_a_name_goes_wrong(name: str, problem: str) -> None:
    schema = NamingSchema(ARRI_PATTERN)
    assert schema.validate(name) == [problem]
    assert schema.parse(name) is None


def test_other_tokens_and_literals() -> None:
    schema = NamingSchema("{scene}_{take:02}_{reel:3}")
    assert schema.parse("19A_03_R01") == {"scene": "19A", "take": 3, "reel": "R01"}
    assert schema.parse("19A_3_R01") is None
    assert schema.format(scene="19A", take=3, reel="R01") == "19A_03_R01"
    dated = NamingSchema("DAY-{date:%Y-%m-%d}-{clip}")
    assert dated.parse("DAY-2024-02-29-7") == {"date": dt.date(2024, 2, 29), "clip": 7}
    assert dated.parse("DAY-2023-02-29-7") is None  # not a leap year
    braces = NamingSchema("{{x}}_{clip:03}")
    assert braces.parse("{x}_005") == {"clip": 5}
    assert braces.format(clip=5) == "{x}_005"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "naming pattern is empty"),
        ("A001C003", "has no tokens"),
        ("{camera}{bogus}", "unknown token {bogus} (known: camera, roll, clip"),
        ("{roll}{clip}", "{roll} has no fixed width and is followed by {clip}"),
        ("{card}1", "{card} has no fixed width and is followed by '1'"),
        ("{camera", "'{' at position 1 is never closed"),
        ("camera}", "'}' at position 7 has no opening '{'"),
        ("{roll:abc}", "width must look like 03"),
        ("{card:x}", "width must be a number of characters"),
        ("{camera:2}", "camera takes no format"),
        ("{date}", "date needs a format"),
        ("{date:%H%M}", "%H is not supported"),
        ("{date:%m%d}", "a date needs a year"),
        ("{date:%y%Y%m%d}", "use %y or %Y, not both"),
        ("{date:%y%m%d%d}", "%d appears twice"),
        ("{camera}_{camera}", "token {camera} is used twice"),
    ],
)
def test_bad_patterns_raise_clear_errors(pattern: str, message: str) -> None:
    with pytest.raises(NamingPatternError) as caught:
        NamingSchema(pattern)
    assert message in str(caught.value)


def test_variable_width_token_before_separator_is_fine() -> None:
    schema = NamingSchema("{roll}_{clip}")
    assert schema.parse("12_345") == {"roll": 12, "clip": 345}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"camera": "A", "roll": 1000, "clip": 3, "date": dt.date(2023, 8, 15), "card": "R2AB"}, "roll=1000"),
        ({"camera": "AB", "roll": 1, "clip": 3, "date": dt.date(2023, 8, 15), "card": "R2AB"}, "camera='AB'"),
        (
            {"camera": "A", "roll": -1, "clip": 3, "date": dt.date(2023, 8, 15), "card": "R2AB"},
            "non-negative",
        ),
        ({"camera": "A", "roll": 1, "clip": 3, "date": "230815", "card": "R2AB"}, "datetime.date"),
        (
            {"camera": "A", "roll": 1, "clip": 3, "date": dt.date(2023, 8, 15), "card": "R2_AB"},
            "card='R2_AB'",
        ),
        ({"camera": "A", "roll": 1, "clip": 3, "date": dt.date(2023, 8, 15)}, "missing card"),
        (
            {"camera": "A", "roll": 1, "clip": 3, "date": dt.date(2023, 8, 15), "card": "X", "take": 1},
            "not in the pattern: take",
        ),
    ],
)
def test_format_rejects_values_that_do_not_fit(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        NamingSchema(ARRI_PATTERN).format(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Camera-native names
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "A001C003_230815_R2AB",
            CameraName("arri", "A001C003_230815_R2AB", "A", 1, 3, dt.date(2023, 8, 15), None, "R2AB"),
        ),
        (
            "CARD/A001C003_230815_R2AB/A001C003_230815_R2AB.0000123.ari",
            CameraName("arri", "A001C003_230815_R2AB", "A", 1, 3, dt.date(2023, 8, 15), None, "R2AB"),
        ),
        (
            "A002_C005_0815XY",
            CameraName("red", "A002_C005_0815XY", "A", 2, 5, None, (8, 15), "XY", None),
        ),
        (
            "A002_0815XY.RDM/A002_C005_0815XY.RDC/A002_C005_0815XY_002.R3D",
            CameraName("red", "A002_C005_0815XY", "A", 2, 5, None, (8, 15), "XY", 2),
        ),
        (
            "D001C005_210716AG.mxf",
            CameraName("sony", "D001C005_210716AG", "D", 1, 5, dt.date(2021, 7, 16), None, "AG"),
        ),
        (
            "Clip\\D001C005_210716AGM01.XML",
            CameraName("sony", "D001C005_210716AG", "D", 1, 5, dt.date(2021, 7, 16), None, "AG"),
        ),
        ("C0001.MP4", CameraName("sony", "C0001", clip=1)),
        (
            "A001C001_211231AB_CANON.MXF",
            CameraName("canon", "A001C001_211231AB_CANON", "A", 1, 1, dt.date(2021, 12, 31), None, "AB"),
        ),
        (
            "A001_04190112_C102.braw",
            CameraName("blackmagic", "A001_04190112_C102", "A", 1, 102, None, (4, 19)),
        ),
    ],
)
def test_recognize_camera_names(name: str, expected: CameraName) -> None:
    assert recognize_camera_name(name) == expected


@pytest.mark.parametrize(
    "name",
    ["holiday.mov", "A001C003_231315_R2AB", "A002_C005_1315XY", "A001C003_230815_R2A", "", "B001R1ZA"],
)
def test_unrecognized_names(name: str) -> None:
    assert recognize_camera_name(name) is None


def test_names_found_in_real_files() -> None:
    # ALEXA 35 names from an ARRI day-log ALE (Tape column).
    table = parse_ale(sample("ale/otio_sample_no_blanks.ale"))
    found = recognize_camera_name(table.rows[0]["Tape"])
    assert found == CameraName(
        "arri", "A_0076C001_230511_184122_h1CTJ", "A", 76, 1, dt.date(2023, 5, 11), None, "1CTJ"
    )
    assert [recognize_camera_name(r["Tape"]).clip for r in table.rows] == [1, 2, 3, 4, 5, 6]  # type: ignore[union-attr]
    # RED clip and file names from a REDCINE-X ALE.
    uhd = parse_ale(sample("ale/otio_sampleUHD.ale")).rows[0]
    red = recognize_camera_name(uhd["Source File"])
    assert red is not None and (red.vendor, red.clip_name, red.roll, red.clip, red.span) == (
        "red",
        "A118_C029_1102JR",
        118,
        29,
        1,
    )
    assert red.month_day == (11, 2)
    # Sidecar file names as cameras wrote them.
    sony = recognize_camera_name(sample("camera_sidecar/sony_venice/D001C005_210716AGM01.xml").name)
    assert sony is not None and sony.clip_name == "D001C005_210716AG" and sony.camera == "D"
    arri = recognize_camera_name(sample("camera_sidecar/arri_ame/B001C001_180327_R1ZA.mov.csv").name)
    assert arri is not None and (arri.camera, arri.roll, arri.clip, arri.card) == ("B", 1, 1, "R1ZA")
    assert arri.date == dt.date(2018, 3, 27)
    red_csv = recognize_camera_name(sample("camera_sidecar/red_redline/A001_C066_0303LZ_001.static.csv").name)
    assert red_csv is not None and (red_csv.clip_name, red_csv.span, red_csv.month_day) == (
        "A001_C066_0303LZ",
        1,
        (3, 3),
    )


# --------------------------------------------------------------------------- #
# Grouping
# --------------------------------------------------------------------------- #


def test_group_red_spanned_clip() -> None:
    card = [
        "A002_0815XY.RDM/A002_C005_0815XY.RDC/A002_C005_0815XY_001.R3D",
        "A002_0815XY.RDM/A002_C005_0815XY.RDC/A002_C005_0815XY_002.R3D",
        "A002_0815XY.RDM/A002_C005_0815XY.RDC/A002_C005_0815XY_003.R3D",
        "A002_0815XY.RDM/A002_C005_0815XY.RDC/A002_C005_0815XY.RMD",
        "A002_0815XY.RDM/A002_C006_0815XY.RDC/A002_C006_0815XY_001.R3D",
        "A002_0815XY.RDM/A002_C006_0815XY.RDC/A002_C006_0815XY.ALE",
        "A002_0815XY.RDM/.DS_Store",
    ]
    groups = group_clip_files(card)
    assert dict(groups) == {
        "A002_C005_0815XY": sorted(card[:4]),
        "A002_C006_0815XY": sorted(card[4:6]),
    }
    assert groups.other == ["A002_0815XY.RDM/.DS_Store"]
    assert len(groups) == 2
    assert list(groups) == ["A002_C005_0815XY", "A002_C006_0815XY"]


def test_group_sony_cards() -> None:
    venice = [
        "XDROOT/Clip/D001C005_210716AG.mxf",
        "XDROOT/Clip/D001C005_210716AGM01.XML",
        "XDROOT/Clip/D001C006_210716AG.mxf",
        "XDROOT/MEDIAPRO.XML",
    ]
    groups = group_clip_files(venice)
    assert dict(groups) == {
        "D001C005_210716AG": ["XDROOT/Clip/D001C005_210716AG.mxf", "XDROOT/Clip/D001C005_210716AGM01.XML"],
        "D001C006_210716AG": ["XDROOT/Clip/D001C006_210716AG.mxf"],
    }
    assert groups.other == ["XDROOT/MEDIAPRO.XML"]
    fx3 = [
        "PRIVATE/M4ROOT/CLIP/C0001.MP4",
        "PRIVATE/M4ROOT/CLIP/C0001M01.XML",
        "PRIVATE/M4ROOT/SUB/C0001S03.MP4",
        "PRIVATE/M4ROOT/THMBNL/C0001T01.JPG",
        "PRIVATE/M4ROOT/STATUS.BIN",
    ]
    groups = group_clip_files(fx3)
    assert dict(groups) == {"C0001": sorted(fx3[:3])}
    assert groups.other == ["PRIVATE/M4ROOT/STATUS.BIN", "PRIVATE/M4ROOT/THMBNL/C0001T01.JPG"]


def test_group_arri_and_renamed_media() -> None:
    card = [
        "A001C003_230815_R2AB.mxf",
        "A001C003_230815_R2AB.mov.csv",  # Meta Extract export next to the clip
        "Proxy/A001C003_230815_R2AB.mov",
        "A001C004_230815_R2AB/A001C004_230815_R2AB.0000001.ari",
        "A001C004_230815_R2AB/A001C004_230815_R2AB.0000002.ari",
        "interview_take2.mov",
        "interview_take2.xml",
        "ROOM01.mov",
        "ROOM01M01.XML",
        "readme.txt",
    ]
    groups = group_clip_files(card)
    assert dict(groups) == {
        "A001C003_230815_R2AB": [
            "A001C003_230815_R2AB.mov.csv",
            "A001C003_230815_R2AB.mxf",
            "Proxy/A001C003_230815_R2AB.mov",
        ],
        "A001C004_230815_R2AB": [
            "A001C004_230815_R2AB/A001C004_230815_R2AB.0000001.ari",
            "A001C004_230815_R2AB/A001C004_230815_R2AB.0000002.ari",
        ],
        "interview_take2": ["interview_take2.mov", "interview_take2.xml"],
        "ROOM01": ["ROOM01.mov", "ROOM01M01.XML"],
    }
    assert groups.other == ["readme.txt"]


def test_group_real_card_from_samples() -> None:
    root = sample("mhl/ascmhl_v2/scenario_03_md5_added/A002R2EC")
    paths = [
        Path(dirpath, f).relative_to(root).as_posix()
        for dirpath, _dirs, files in os.walk(root)
        for f in files
    ]
    groups = group_clip_files(paths)
    assert dict(groups) == {
        "A002C006_141024_R2EC": ["Clips/A002C006_141024_R2EC.mov"],
        "A002C007_141024_R2EC": ["Clips/A002C007_141024_R2EC.mov"],
    }
    assert "Sidecar.txt" in groups.other
    assert all(p.startswith("ascmhl/") or p == "Sidecar.txt" for p in groups.other)


def test_group_empty() -> None:
    groups = group_clip_files([])
    assert dict(groups) == {} and groups.other == []
