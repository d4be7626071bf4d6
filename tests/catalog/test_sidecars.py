"""Camera sidecars: every real sample, unsafe and malformed input.

Expected values were read from the sample files by hand.
"""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
from pathlib import Path

import pytest

from formats.sidecars import SidecarError, SidecarMetadata, parse_sidecar, parse_sidecar_bytes

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "camera_sidecar"


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.is_file():
        pytest.skip("../shared/samples is not present in this checkout")
    return path


def test_sony_venice_m01_xml() -> None:
    meta = parse_sidecar(sample("sony_venice/D001C005_210716AGM01.xml"))
    assert meta.format == "sony_xml"
    assert meta.normalized() == {
        "source": "D001C005_210716AGM01.xml",
        "format": "sony_xml",
        "camera_make": "Sony",
        "camera_model": "MPC-3610",  # the <Camera>, not the AXS-R7 recorder <Device>
        "camera_serial": "0010201",
        "camera_index": "D",
        "lens": "S7i-32",  # padded with spaces in the file
        "iso": 500,
        "exposure_index": 250,
        "white_balance_k": 4300,
        "shutter_angle": 103.8,  # 10380 hundredths of a degree
        "fps": 24.0,
        "capture_fps": 24.0,
        # LTC 19044716 = BCD frames/seconds/minutes/hours
        "start_timecode": "16:47:04:19",
        # 587 frames later at 24 fps
        "end_timecode": "16:47:29:06",
        "reel": "001",
        "clip_name": "D001C005_210716AG",
        "width": 5674,
        "height": 3192,
        "resolution": "5674x3192",
        "codec": "F55_X-OCN_XT_6K_16:9",
        "recorded_at": dt.datetime(2021, 7, 16, 11, 46, 22, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
        "date": dt.date(2021, 7, 16),
        "duration_frames": 588,
    }
    assert meta.extra["Device.modelName"] == "AXS-R7"
    assert meta.extra["SonyF65CameraMetadataSet.PreCDLTransform"] == "LUT:SL3SG3Ctos709.cube"
    assert meta.extra["CameraUnitMetadataSet.CaptureGammaEquation"] == "scene-linear"
    assert meta.extra["Meta.Shot"] == "005"
    assert meta.extra["namespace"] == "urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.10"
    assert meta.scene is None and meta.take is None and meta.circled is None  # empty in the file
    assert meta.warnings == []


def test_sony_fx3_m01_xml_newer_namespace() -> None:
    meta = parse_sidecar(sample("sony_fx3/ILME-FX3_clipM01_reconstructed.XML"))
    assert meta.format == "sony_xml"
    assert meta.extra["namespace"] == "urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.20"
    assert (meta.camera_make, meta.camera_model) == ("Sony", "ILME-FX3")
    assert meta.camera_serial is None  # 4294967295 is the "no serial" value
    assert meta.extra["Device.serialNo"] == "4294967295"
    assert meta.start_timecode == "19:57:30:17"  # 17305719
    assert meta.end_timecode == "20:00:25:21"  # 21250020, 4379 frames later at 25 fps
    assert (meta.fps, meta.capture_fps) == (25.0, 25.0)
    assert (meta.width, meta.height, meta.codec) == (3840, 2160, "AVC_3840_2160_HP@L51")
    assert meta.duration_frames == 4380
    assert meta.recorded_at == dt.datetime(
        2022, 9, 25, 11, 57, 59, tzinfo=dt.timezone(dt.timedelta(hours=10))
    )
    assert meta.extra["CameraUnitMetadataSet.CaptureGammaEquation"] == "s-cinetone"
    assert meta.lens is None and meta.iso is None and meta.clip_name is None
    assert meta.warnings == []


def test_arri_meta_extract_tab_separated_per_frame() -> None:
    meta = parse_sidecar(sample("arri_ame/B001C001_180327_R1ZA.mov.csv"))
    assert meta.format == "arri_ame"
    assert meta.normalized() == {
        "source": "B001C001_180327_R1ZA.mov.csv",
        "format": "arri_ame",
        "camera_make": "ARRI",
        "camera_model": "Alexa LF Plus W",
        "camera_serial": "2566",
        "camera_index": "B",
        "lens": "ARRI SP40 T1.8",
        "lens_serial": "2",
        "focal_length_mm": 40.0,
        "iris": "1.4 + 7/10",
        "exposure_index": 400,
        "white_balance_k": 3200,
        "shutter_angle": 172.8,
        "fps": 24.0,
        "capture_fps": 24.0,
        "start_timecode": "13:36:49:07",  # first frame row
        "end_timecode": "13:37:10:02",  # last frame row
        "reel": "B001R1ZA",
        "clip_name": "B001C001_180327_R1ZA",
        "scene": "no scene name",
        "width": 1920,
        "height": 1080,
        "resolution": "1920x1080",
        "codec": "Apple ProRes 4444",
        "recorded_at": dt.datetime(2018, 3, 27, 12, 36, 51, tzinfo=dt.UTC),
        "date": dt.date(2018, 3, 27),
        "duration_frames": 500,  # rows Index 0..499
    }
    assert meta.take is None  # "n.a."
    assert meta.circled is None  # "--"
    # Static values come from the first row (focus changes per frame).
    assert meta.extra["Lens Focus Distance"] == "4.812"
    assert meta.extra["Production"] == "ALEXA LF Samplefootage"
    assert meta.extra["Master TC Frame Count"] == "1176223"
    assert meta.warnings == []


def test_redline_static_with_frames_sibling() -> None:
    meta = parse_sidecar(sample("red_redline/A001_C066_0303LZ_001.static.csv"))
    assert meta.format == "red_static"
    assert meta.normalized() == {
        "source": "A001_C066_0303LZ_001.static.csv",
        "format": "red_static",
        "camera_make": "RED",
        "camera_model": "RANGER MONSTRO 8K VV",
        "camera_serial": "130-27E-4B5",
        "camera_index": "A",
        "lens": "SIGMA 40mm T1.5 FF | 018",
        "lens_serial": "G53599764",
        "focal_length_mm": 40.0,
        "iris": "F5.6",
        "iso": 250,
        "white_balance_k": 5600,
        "shutter_angle": 180.0,
        "shutter_speed": "1/48",
        "fps": 24.0,
        "capture_fps": 24.0,
        "start_timecode": "23:17:21:08",
        "end_timecode": "23:17:21:09",
        "reel": "A001",
        "clip_name": "A001_C066_0303LZ",
        "take": "066",
        "width": 4096,
        "height": 2160,
        "resolution": "4096x2160",
        "codec": "REDcode 8:1",
        "recorded_at": dt.datetime(2022, 3, 3, 13, 21, 46),  # noqa: DTZ001 - REDline gives no offset
        "date": dt.date(2022, 3, 3),
        "duration_frames": 2,
    }
    assert meta.extra["Media Serial Number"] == "20181024AAUS08390041"
    assert meta.extra["Edge TC"] == "01:20:52:10"
    # The per-frame sibling was merged under frames.*
    assert meta.extra["frames.Focus Distance"] == "410"
    assert meta.extra["frames.Rotation X"] == "-2.257000"
    assert meta.warnings == []


def test_redline_static_without_merging(tmp_path: Path) -> None:
    meta = parse_sidecar(sample("red_redline/A001_C066_0303LZ_001.static.csv"), merge_frames=False)
    assert not any(k.startswith("frames.") for k in meta.extra)
    alone = tmp_path / "A001_C066_0303LZ_001.static.csv"
    shutil.copy(sample("red_redline/A001_C066_0303LZ_001.static.csv"), alone)
    assert not any(k.startswith("frames.") for k in parse_sidecar(alone).extra)


def test_redline_frames_alone() -> None:
    meta = parse_sidecar(sample("red_redline/A001_C066_0303LZ_001.frames.csv"))
    assert meta.format == "red_frames"
    assert (meta.start_timecode, meta.end_timecode) == ("23:17:21:08", "23:17:21:09")
    assert (meta.focal_length_mm, meta.iris, meta.duration_frames) == (40.0, "F5.6", 2)
    assert meta.clip_name == "A001_C066_0303LZ"
    assert meta.extra["Focus Distance"] == "410"


def test_canon_static_merges_frames() -> None:
    meta = parse_sidecar(sample("canon/20221007_TNumber_CanonCameraMetadata_Static.csv"))
    assert meta.format == "canon_static"
    assert meta.camera_make == "Canon"
    assert (meta.clip_name, meta.reel) == ("A001C001", "1")
    assert meta.scene is None and meta.take is None
    assert (meta.width, meta.height) == (5952, 3140)
    assert meta.recorded_at == dt.datetime(2021, 12, 31, 23, 1)  # noqa: DTZ001 - Canon gives no offset
    assert meta.duration_seconds == pytest.approx(135135 / 30000)
    # From the per-frame sibling:
    assert meta.focal_length_mm == 18.0  # 180/10
    assert meta.iris == "T4.5"  # 45/10, ApertureMode 2
    assert meta.iso == 1600  # 2147485248 = 0x80000000 + 1600
    assert meta.shutter_angle == 180.0  # 18000/100 in angle mode
    assert meta.white_balance_k == 5600
    assert meta.start_timecode == "00:00:00:00"  # written "0:00:00:00"
    assert meta.extra["frames.BaseISO"] == "800"
    assert meta.extra["UMID"] == "060A2B340101010501010D4313000000CD75881A79950580000085745900200003"
    assert meta.warnings == []


def test_canon_static_bytes_have_no_frame_values() -> None:
    path = sample("canon/20221007_TNumber_CanonCameraMetadata_Static.csv")
    meta = parse_sidecar_bytes(path.read_bytes(), name=path.name)
    assert meta.iso is None and meta.focal_length_mm is None
    assert meta.clip_name == "A001C001"


def test_canon_frames_alone() -> None:
    meta = parse_sidecar(sample("canon/20221007_TNumber_CanonCameraMetadata_Frames.csv"))
    assert meta.format == "canon_frames"
    assert (meta.iso, meta.iris, meta.focal_length_mm, meta.white_balance_k) == (1600, "T4.5", 18.0, 5600)


def test_blackmagic_raw_metadata_dump() -> None:
    meta = parse_sidecar(sample("blackmagic_braw/metadata.txt"))
    assert meta.format == "blackmagic"
    assert meta.normalized() == {
        "source": "metadata.txt",
        "format": "blackmagic",
        "camera_make": "Blackmagic Design",
        "camera_model": "Blackmagic URSA Mini Pro 12K",
        "camera_serial": "7ef33b36-a5ba-4a04-b218-0afc7eb1f8b6",
        "camera_index": "A",
        "lens": "Cooke Anamorphic /i Prime Lens 50mm",
        "focal_length_mm": 50.0,
        "iris": "T2.3",
        "iso": 800,
        "white_balance_k": 6000,
        "shutter_angle": 180.0,  # "180°"
        "fps": 24.0,  # format_frame_rate 1572864 = 24 << 16
        "capture_fps": 48.0,  # sensor_rate 48,1
        "reel": "1",
        "clip_name": "A001_04190112_C102",
        "scene": "1",
        "take": "99",
        "circled": False,  # good_take: false
        "width": 5120,
        "height": 4272,
        "resolution": "5120x4272",
        "codec": "Blackmagic RAW 12:1",
        "date": dt.date(2021, 4, 19),
    }
    assert meta.extra["firmware_version"] == "7.2.1"
    assert meta.extra["frame0.distance"] == "991mm"
    assert meta.warnings == []


# --------------------------------------------------------------------------- #
# Unsafe and malformed input
# --------------------------------------------------------------------------- #

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.10">
 <Device manufacturer="&lol9;" modelName="x" serialNo="1"/>
</NonRealTimeMeta>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<NonRealTimeMeta><Device manufacturer="&xxe;"/></NonRealTimeMeta>
"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_bombs_and_external_entities_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "C0001M01.XML"
    path.write_bytes(payload)
    with pytest.raises(SidecarError) as caught:
        parse_sidecar(path)
    assert caught.value.source == "C0001M01.XML"
    assert str(caught.value).startswith("C0001M01.XML: refused unsafe XML")
    assert "possible XML bomb" in str(caught.value)


def test_sony_drop_frame_ltc(tmp_path: Path) -> None:
    # Frames byte 0x42 = drop-frame flag (0x40) + 02 frames: 01:01:00;02 at 29.97 DF.
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.00">
  <LtcChangeTable tcFps="30" halfStep="false">
    <LtcChange frameCount="0" value="42000101" status="increment"/>
    <LtcChange frameCount="1" value="43000101" status="end"/>
  </LtcChangeTable>
  <VideoFormat><VideoFrame videoCodec="MPEG2HD422" captureFps="29.97p" formatFps="29.97p"/></VideoFormat>
</NonRealTimeMeta>
"""
    meta = parse_sidecar_bytes(xml, name="C0002M01.XML")
    assert meta.start_timecode == "01:01:00;02"
    assert meta.end_timecode == "01:01:00;03"
    assert meta.fps == 29.97
    assert meta.clip_name == "C0002"


def test_bad_values_become_warnings_not_errors() -> None:
    xml = b"""<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.10">
  <LtcChangeTable tcFps="25"><LtcChange frameCount="0" value="ZZ000000" status="increment"/></LtcChangeTable>
  <CreationDate value="yesterday"/>
  <AcquisitionRecord><Group name="CameraUnitMetadataSet"><Item name="ISOSensitivity" value="lots"/></Group>
  </AcquisitionRecord>
</NonRealTimeMeta>"""
    meta = parse_sidecar_bytes(xml, name="x.xml")
    assert meta.iso is None and meta.start_timecode is None and meta.recorded_at is None
    assert meta.warnings == [
        "CameraUnitMetadataSet.ISOSensitivity: 'lots' is not a number",
        "CreationDate: 'yesterday' is not an ISO date-time",
        "LtcChange: 'ZZ000000' is not BCD timecode",
    ]
    assert meta.extra["CameraUnitMetadataSet.ISOSensitivity"] == "lots"


def test_truncated_real_xml_is_malformed(tmp_path: Path) -> None:
    data = sample("sony_venice/D001C005_210716AGM01.xml").read_bytes()
    path = tmp_path / "D001C005_210716AGM01.xml"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SidecarError, match=r"^D001C005_210716AGM01\.xml: malformed XML: "):
        parse_sidecar(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.xml", b"<rss><channel/></rss>", "XML root is <rss>, not a Sony <NonRealTimeMeta> sidecar"),
        ("notes.txt", b"just some notes\n", "not a supported camera sidecar"),
        ("empty.csv", b"", "not a supported camera sidecar"),
        ("a.mov.csv", b"Index\tMaster TC\tReel\n", "ARRI Meta Extract file has a header but no frame rows"),
        ("a.static.csv", b"Clip Name,Abs TC\n", "has a header but no data rows"),
        ("a.static.csv", b"Clip Name,Abs TC\nA,01:00:00:00,extra\n", "line 2: 3 fields but the header has 2"),
        ("a.static.csv", b'Clip Name,Abs TC\n"A,01:00:00:00\n', "malformed CSV"),
        ("a.frames.csv", b"FrameNo,Timecode\n", "REDline frames file has a header but no frame rows"),
        ("metadata.txt", b"Clip Metadata\nmanufacturer: X\ngarbage line\n", "line 3: expected 'key: value'"),
    ],
)
def test_malformed_sidecars_raise_naming_the_file(name: str, content: bytes, message: str) -> None:
    with pytest.raises(SidecarError) as caught:
        parse_sidecar_bytes(content, name=name)
    assert caught.value.source == name
    assert str(caught.value).startswith(f"{name}: ")
    assert message in str(caught.value)


def test_size_limit_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 100)
    with pytest.raises(SidecarError, match=r"big\.csv: file is too large"):
        parse_sidecar(path, max_bytes=99)
    with pytest.raises(SidecarError, match="cannot read the file"):
        parse_sidecar(tmp_path / "missing.xml")


def test_latin1_sidecar_text(tmp_path: Path) -> None:
    path = tmp_path / "A001_C001_0101AB_001.static.csv"
    path.write_bytes("Clip Name,Abs TC,Location\nA001_C001_0101AB,01:00:00:00,Café\n".encode("latin-1"))
    meta = parse_sidecar(path)
    assert meta.extra["Location"] == "Café"
    assert meta.start_timecode == "01:00:00:00"


def test_sidecar_error_pickles() -> None:
    error = SidecarError("a.xml", "malformed XML")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.source, copy.problem, str(copy)) == ("a.xml", "malformed XML", "a.xml: malformed XML")


def test_resolution_property() -> None:
    meta = SidecarMetadata(source="x", format="red_static", width=4096)
    assert meta.resolution is None
    meta.height = 2160
    assert meta.resolution == "4096x2160"


@pytest.mark.parametrize(
    ("relative", "look"),
    [
        ("sony_venice/D001C005_210716AGM01.xml", "SL3SG3Ctos709.cube"),  # MonitoringDescriptions LUT:…
        ("red_redline/A001_C066_0303LZ_001.static.csv", "A001_C066_0303LZ-RED_FilmBias.cube"),
        ("blackmagic_braw/metadata.txt", "Ursa_Mini_Pro_Gen5_Natural_Rec709_V1.cube"),
        ("arri_ame/B001C001_180327_R1ZA.mov.csv", None),  # "Look Name" is "--": none
        ("sony_fx3/ILME-FX3_clipM01_reconstructed.XML", None),
    ],
)
def test_look_or_lut_name_from_each_format(relative: str, look: str | None) -> None:
    assert parse_sidecar(sample(relative)).look == look
