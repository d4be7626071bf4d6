"""ALE and clip CSV: real files from Media Composer, Resolve, REDCINE-X and ARRI; bad input; round trips.

Expected values were read from the sample files by hand (see ../shared/samples/SOURCES.md).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from formats import ale
from formats.ale import (
    ALE_COLUMN_MAPPING,
    DEFAULT_MAX_BYTES,
    ALEError,
    ClipTable,
    column_for_field,
    field_for_column,
    fields_to_row,
    format_ale,
    interpret_circled,
    parse_ale,
    parse_asc_sat,
    parse_asc_sop,
    read_csv,
    write_ale,
    write_csv,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "ale"
SAMPLE_NAMES = [
    "kloptops_all_headings.ALE",
    "kloptops_simple.ALE",
    "otio_sample.ale",
    "otio_sample2.ale",
    "otio_sampleUHD.ale",
    "otio_sample_blanks.ale",
    "otio_sample_cdl.ale",
    "otio_sample_no_blanks.ale",
]


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip("../shared/samples is not present in this checkout")
    return path


# --------------------------------------------------------------------------- #
# Real files
# --------------------------------------------------------------------------- #


def test_kloptops_simple_media_composer() -> None:
    table = parse_ale(sample("kloptops_simple.ALE"))
    assert table.source == "kloptops_simple.ALE"
    assert table.format == "ale"
    assert table.encoding == "utf-8"
    assert table.newline == "\n"
    assert table.heading == {
        "FIELD_DELIM": "TABS",
        "VIDEO_FORMAT": "NTSC",
        "AUDIO_FORMAT": "44kHz",
        "TAPE": "001",
        "FPS": "29.97",
    }
    assert table.columns == ["Name", "Tracks", "Start", "End"]
    # The file has no final newline: the last row must still be there.
    assert table.rows == [
        {"Name": "CU Josh & Mary", "Tracks": "V", "Start": "01:00:00:00", "End": "01:15:05:00"}
    ]
    assert table.row_lines == [10]
    assert table.ok and table.errors == [] and table.warnings == []
    assert table.fps is not None and table.fps.label == "29.97"
    assert table.unknown_columns == ["Tracks"]
    assert table.clip_fields(table.rows[0]) == {
        "name": "CU Josh & Mary",
        "start_tc": "01:00:00:00",
        "end_tc": "01:15:05:00",
    }


def test_kloptops_all_headings_numeric_names_and_padding_kept() -> None:
    table = parse_ale(sample("kloptops_all_headings.ALE"))
    assert table.heading["FILM_FORMAT"] == "35mm, 4 perf"
    assert table.heading_value("fps") == "24"
    assert len(table.columns) == 58
    assert table.columns[:5] == ["Name", "Tracks", "Start", "End", "Duration"]
    assert table.columns[-1] == "TC 25P"
    # Numeric clip names stay text ("01", not 1); Avid's padding spaces stay too.
    assert [r["Name"] for r in table.rows] == ["01", "02", "03", "04", "253"]
    assert table.rows[0]["IN-OUT"] == "       1:07"
    assert table.rows[0]["Mark IN"] == "01:00:01:08"
    assert table.rows[0]["KN Start"] == "-0003+00"
    assert table.rows[4]["End"] == "23:59:59:29"
    assert table.rows[4]["Tracks"] == "VA1A2A3A4"
    assert all(r["Tape"] == "253" for r in table.rows)
    assert table.row_lines == [11, 12, 13, 14, 15]
    assert table.ok and table.warnings == []
    # "Reel #" is empty and "Reel" absent: no reel field; "Duration" maps.
    fields = table.clip_fields(table.rows[0])
    assert "reel" not in fields
    assert fields["duration"] == "10:00:00"
    assert fields["tape"] == "253"


def test_otio_sample_129_columns() -> None:
    table = parse_ale(sample("otio_sample.ale"))
    assert list(table.heading) == ["AUDIO_FORMAT", "FIELD_DELIM", "FPS", "VIDEO_FORMAT"]
    assert len(table.columns) == 129
    assert table.columns[0] == "Color" and table.columns[-1] == "Comments"
    assert [r["Name"] for r in table.rows] == ["test_017056", "test_017057", "test_017058", "Something"]
    # A row whose first value is only spaces is a row, not a blank line.
    assert table.rows[0]["Color"] == "   "
    assert table.rows[1]["Color Space"] == "YCbCr REC709 [full range]"
    assert table.rows[3]["UNC Path"] == "/Users/zzz/Desktop/output.aaf"
    fields = table.clip_fields(table.rows[0])
    assert fields["source_file"] == "test_017056.aaf"
    assert fields["resolution"] == "1920 x 1080"  # from "Image Size"
    assert fields["fps"] == "24.00"
    assert "Drive" in table.unknown_columns and "Name" not in table.unknown_columns


def test_otio_sample2_crlf_one_line_heading_short_row_and_asc_sop_timecodes() -> None:
    table = parse_ale(sample("otio_sample2.ale"))
    assert table.newline == "\r\n"
    # All four heading pairs sit on one line in this file.
    assert table.heading == {
        "FIELD_DELIM": "TABS",
        "VIDEO_FORMAT": "1080",
        "AUDIO_FORMAT": "48Khz",
        "FPS": "23.98",
    }
    assert table.fps is not None and table.fps.label == "23.976"
    assert len(table.columns) == 32
    assert table.columns[-2:] == ["DESCRIPT", "COMMENTS"]
    assert [r["Name"] for r in table.rows] == ["19A-1xa", "19A-2xa"]
    # Line 8 has 30 fields: padded, with a warning naming the line.
    assert table.rows[0]["DESCRIPT"] == "" and table.rows[0]["COMMENTS"] == ""
    assert table.rows[0]["Origin"] == "3NY004M33840001         "
    assert table.rows[1]["Origin"] == "3NY004M33840002         "
    padded = [w for w in table.warnings if "padded" in w.message]
    assert [(w.line, w.message) for w in padded] == [(8, "row has 30 of 32 fields; padded with empty values")]
    # ASC_SOP holds timecodes here: kept verbatim, flagged, no crash.
    assert table.rows[0]["ASC_SOP"] == "13:18:25:19"
    assert table.rows[1]["ASC_SAT"] == "13:21:53:15"
    sop_warnings = [w for w in table.warnings if "ASC_SOP" in w.message]
    assert len(sop_warnings) == 1
    assert sop_warnings[0].line == 8
    assert "'13:18:25:19', which is not a CDL value (2 of 2 rows)" in sop_warnings[0].message
    assert table.ok  # warnings do not block an import
    fields = table.clip_fields(table.rows[0])
    assert fields["camroll"] == "XA007"  # "XA007   " stripped for the clip field
    assert table.rows[0]["Camroll"] == "XA007   "  # ...but the row keeps the file's value
    assert fields["scene"] == "19A" and fields["take"] == "1xa" and fields["camera"] == "A"
    assert fields["asc_sop"] == "13:18:25:19"
    assert parse_asc_sop(fields["asc_sop"]) is None


def test_otio_sample_uhd_red() -> None:
    table = parse_ale(sample("otio_sampleUHD.ale"))
    assert table.heading["VIDEO_FORMAT"] == "CUSTOM"
    assert table.columns == ["Name", "Tape", "Start", "End", "Source File", "Image Size", "FPS"]
    assert table.rows == [
        {
            "Name": "A118_C029_1102JR",
            "Tape": "",
            "Start": "14:40:02:11",
            "End": "14:42:22:23",
            "Source File": "A118_C029_1102JR_001.R3D",
            "Image Size": "4096 x 2304",
            "FPS": "23.98",
        }
    ]
    assert table.unknown_columns == []


def test_otio_sample_blanks_resolve_blank_lines_and_trailing_tabs() -> None:
    table = parse_ale(sample("otio_sample_blanks.ale"))
    assert table.heading == {
        "FIELD_DELIM": "TABS",
        "VIDEO_FORMAT": "1080",
        "AUDIO_FORMAT": "48khz",
        "FPS": "25",
    }
    # The Column line ends with a tab: 37 names, not 38 with an empty one.
    assert len(table.columns) == 37
    assert table.columns[-3:] == ["ASC_SOP", "ASC_SAT", "RESOLVE_SIZING"]
    assert table.row_lines == [21]
    row = table.rows[0]
    assert row["Name"] == "A020C003_150905_E2XZ.mov"
    assert row["Camera Serial #"] == "3120"
    assert row["UNC"].startswith("Y:\\Pennrand_CompWorkflow_XXXXXX\\04_Compositing\\")
    assert row["RESOLVE_SIZING"] == "(0.0000 0.0000 1.0000 0.0000 0.0000 0 0)"
    assert parse_asc_sop(row["ASC_SOP"]) == (
        (1.1822, 1.2183, 1.2284),
        (-0.2429, -0.2823, -0.2849),
        (0.7283, 0.7096, 0.7054),
    )
    assert parse_asc_sat(row["ASC_SAT"]) == 1.068
    assert table.ok and table.warnings == []
    fields = table.clip_fields(row)
    assert fields["shoot_date"] == "20150905"  # column spelled "Shoot date"
    assert fields["reel"] == "A020E2XZ"
    assert fields["resolution"] == "2048x1152"  # from "Source Resolution"


def test_otio_sample_cdl() -> None:
    table = parse_ale(sample("otio_sample_cdl.ale"))
    assert table.heading["FILM_FORMAT"] == "35mm,4perf"
    assert "AUDIO_FORMAT" not in table.heading
    assert len(table.columns) == 17 and table.columns[-1] == "R3D.HighlightRollOff"
    assert [r["Start"] for r in table.rows] == ["17:49:33:01", "17:49:55:19", "17:40:25:06", "17:50:21:23"]
    assert [r["Length"] for r in table.rows] == ["57", "153", "68", "86"]
    assert table.rows[2]["Name"] == "A005_C009_0501A0"
    assert parse_asc_sop(table.rows[2]["ASC_SOP"]) == (
        (0.8604, 0.9252, 0.9755),
        (-0.0735, -0.0813, -0.0737),
        (0.9988, 1.0218, 1.0101),
    )
    assert table.warnings == []  # real CDL values: no ASC_SOP warning


def test_otio_sample_no_blanks_alexa35_245_columns() -> None:
    table = parse_ale(sample("otio_sample_no_blanks.ale"))
    assert len(table.columns) == 245
    assert table.columns[0] == "Name" and table.columns[-1] == "ZCoordPresent"
    assert len(table.rows) == 6
    assert table.row_lines == [9, 10, 11, 12, 13, 14]  # no blank lines anywhere
    assert [r["Take"] for r in table.rows] == ["1", "2", "3", "4", "5", "6"]
    assert table.rows[3]["Tracks"] == "VA1A2A3A4A5"
    assert table.rows[5]["StartTCFrames"] == "1816287"
    assert table.rows[0]["ClipUMID"] == "060a2b340101010501010d2113cfea796d2c3706f02b11edbcddb916c1737bc5"
    assert all(len(r) == 245 for r in table.rows)
    first, fifth = table.clip_fields(table.rows[0]), table.clip_fields(table.rows[4])
    assert first["name"] == "469C-4-1"
    assert first["tape"] == "A_0076C001_230511_184122_h1CTJ"
    assert first["lens"] == "Cooke S4 32 1178"  # ARRI's camelCase "lensModel"
    assert fifth["lens"] == "Cooke S4 40 1149"
    assert first["location"] == "Asturias_Barcelona"
    assert first["reel"] == "A_0076_1CTJ"  # "reelName"
    assert first["resolution"] == "4608x2592"
    assert interpret_circled(first["circled"]) is False  # "circleTake" = "false"
    assert table.warnings == []


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_parses_cleanly(name: str) -> None:
    table = parse_ale(sample(name))
    assert table.ok
    assert table.columns and table.rows
    assert all(list(row) == table.columns for row in table.rows)
    assert table.fps is not None


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_round_trips_through_write_ale_and_csv(name: str) -> None:
    table = parse_ale(sample(name))
    assert table.fps is not None
    written = write_ale(table.rows, table.columns, table.fps)
    again = parse_ale(written, name="again.ale")
    assert again.columns == table.columns
    assert again.rows == table.rows
    csv_again = read_csv(write_csv(table.rows, table.columns))
    assert csv_again.columns == table.columns
    assert csv_again.rows == table.rows


def test_inputs_path_bytes_stream_agree() -> None:
    path = sample("otio_sample_cdl.ale")
    from_path = parse_ale(path)
    from_str = parse_ale(str(path))
    from_bytes = parse_ale(path.read_bytes(), name="x.ale")
    with path.open("rb") as handle:
        from_stream = parse_ale(handle)
    assert from_stream.source == "otio_sample_cdl.ale"  # taken from the stream's name
    assert from_bytes.source == "x.ale"
    assert from_path.rows == from_str.rows == from_bytes.rows == from_stream.rows


# --------------------------------------------------------------------------- #
# Encodings and line endings
# --------------------------------------------------------------------------- #

ACCENTED = (
    "Heading\nFIELD_DELIM\tTABS\nVIDEO_FORMAT\t1080\nAUDIO_FORMAT\t48khz\nFPS\t25\n\n"
    "Column\nName\tComments\tCast\n\nData\n"
    "A001C001_230815_R2AB\tAmélie très bien\tZoë\n"
    "A001C002_230815_R2AB\tÆrø ß\tFrançois\n"
)
ACCENTED_ROWS = [
    {"Name": "A001C001_230815_R2AB", "Comments": "Amélie très bien", "Cast": "Zoë"},
    {"Name": "A001C002_230815_R2AB", "Comments": "Ærø ß", "Cast": "François"},
]


@pytest.mark.parametrize(
    ("codec", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with BOM
        ("utf-16-le", "utf-16-le"),  # no BOM: recognised by its NUL bytes
        ("utf-16-be", "utf-16-be"),
        ("utf-32", "utf-32"),
    ],
)
def test_unicode_encodings_detected(tmp_path: Path, codec: str, reported: str) -> None:
    path = tmp_path / "day1.ale"
    path.write_bytes(ACCENTED.encode(codec))
    table = parse_ale(path)
    assert table.encoding == reported
    assert table.rows == ACCENTED_ROWS
    assert table.warnings == []


def test_latin1_fallback_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "day1.ale"
    path.write_bytes(ACCENTED.encode("latin-1"))
    table = parse_ale(path)
    assert table.encoding == "latin-1"
    assert table.rows == ACCENTED_ROWS
    assert len(table.warnings) == 1
    warning = table.warnings[0]
    assert warning.line == 11  # the first row, where "é" is
    assert "not valid UTF-8 (byte 0xE9); decoded the file as Latin-1" in warning.message
    assert table.ok


def test_undecodable_byte_is_an_error_when_strict_or_declared(tmp_path: Path) -> None:
    data = ACCENTED.encode("latin-1")
    with pytest.raises(ALEError) as caught:
        parse_ale(data, name="day1.ale", latin1_fallback=False)
    assert caught.value.line == 11
    assert caught.value.source == "day1.ale"
    assert "byte 0xE9" in caught.value.problem and "utf-8" in caught.value.problem
    assert "re-export the file as UTF-8" in str(caught.value)
    with pytest.raises(ALEError) as declared:
        parse_ale(data, name="day1.ale", encoding="utf-8")
    assert declared.value.line == 11
    assert "declared encoding" in declared.value.problem
    # A BOM that lies is caught too: UTF-8 BOM followed by Latin-1 bytes.
    with pytest.raises(ALEError, match="detected encoding"):
        parse_ale(b"\xef\xbb\xbf" + data, name="day1.ale")
    with pytest.raises(ALEError, match="unknown encoding"):
        parse_ale(data, encoding="klingon")


@pytest.mark.parametrize(("newline", "reported"), [("\r\n", "\r\n"), ("\n", "\n"), ("\r", "\r")])
def test_line_endings(newline: str, reported: str) -> None:
    text = ACCENTED.replace("\n", newline)
    table = parse_ale(text.encode())
    assert table.newline == reported
    assert table.rows == ACCENTED_ROWS
    assert table.row_lines == [11, 12]


def test_mixed_line_endings_reported() -> None:
    table = parse_ale(ACCENTED.replace("\n", "\r\n", 3).encode())
    assert table.newline == "mixed"
    assert table.rows == ACCENTED_ROWS


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #

GOOD_HEAD = "Heading\nFIELD_DELIM\tTABS\nFPS\t25\n\nColumn\nName\tTape\tStart\n\nData\n"


def test_no_data_section() -> None:
    text = "Heading\nFIELD_DELIM\tTABS\nFPS\t25\n\nColumn\nName\tTape\tStart\n"
    with pytest.raises(ALEError) as caught:
        parse_ale(text.encode(), name="cut.ale")
    assert caught.value.problem == "no Data section"
    assert caught.value.line is None
    assert str(caught.value).startswith("cut.ale: no Data section. ")
    assert "truncated" in caught.value.hint


def test_no_column_line() -> None:
    with pytest.raises(ALEError) as caught:
        parse_ale(b"Heading\nFIELD_DELIM\tTABS\nFPS\t25\n\nData\nA\tB\n", name="x.ale")
    assert caught.value.problem == "no Column line before the data"
    assert caught.value.line == 5
    # "Column" keyword but no names before Data
    with pytest.raises(ALEError, match="no Column line"):
        parse_ale(b"Heading\nFPS\t25\nColumn\n\nData\nA\n")
    # No Column section at all
    with pytest.raises(ALEError, match="no Column line"):
        parse_ale(b"Heading\nFPS\t25\n")


def test_row_with_too_many_fields_is_collected_with_its_line_number() -> None:
    text = GOOD_HEAD + "A\tT1\t10:00:00:00\nB\tT2\t10:00:01:00\textra\tmore\nC\tT3\t10:00:02:00\n"
    table = parse_ale(text.encode(), name="bad.ale")
    assert not table.ok
    assert len(table.errors) == 1
    error = table.errors[0]
    assert error.line == 10
    assert error.message == "row has 5 fields but the Column line has 3 columns"
    assert "tab" in error.hint
    # The other rows are still parsed (for display), but the caller applies nothing.
    assert [r["Name"] for r in table.rows] == ["A", "C"]
    with pytest.raises(ALEError) as caught:
        table.raise_for_errors()
    assert caught.value.line == 10
    assert caught.value.source == "bad.ale"
    assert caught.value.issues == tuple(table.errors)
    assert str(caught.value).startswith("bad.ale, line 10: row has 5 fields")
    with pytest.raises(ALEError) as strict:
        parse_ale(text.encode(), name="bad.ale", strict=True)
    assert strict.value.line == 10


def test_many_row_errors_counted() -> None:
    text = GOOD_HEAD + "A\tT\tS\tx\nB\tT\tS\ty\nC\tT\tS\tz\n"
    table = parse_ale(text.encode())
    assert [e.line for e in table.errors] == [9, 10, 11]
    with pytest.raises(ALEError, match=r"\(and 2 more errors\)"):
        table.raise_for_errors()


def test_trailing_tabs_are_not_extra_fields() -> None:
    table = parse_ale((GOOD_HEAD + "A\tT1\t10:00:00:00\t\t\t\n").encode())
    assert table.ok
    assert table.rows == [{"Name": "A", "Tape": "T1", "Start": "10:00:00:00"}]


def test_short_rows_padded_with_warning() -> None:
    table = parse_ale((GOOD_HEAD + "A\n").encode())
    assert table.rows == [{"Name": "A", "Tape": "", "Start": ""}]
    assert [(w.line, w.message) for w in table.warnings] == [
        (9, "row has 1 of 3 fields; padded with empty values")
    ]


def test_tab_only_line_skipped_with_warning() -> None:
    table = parse_ale((GOOD_HEAD + "\t\t\nA\tT\tS\n").encode())
    assert table.rows == [{"Name": "A", "Tape": "T", "Start": "S"}]
    assert table.row_lines == [10]
    assert [(w.line, w.message) for w in table.warnings] == [(9, "row with no values skipped")]


def test_clip_named_like_a_section_keyword() -> None:
    table = parse_ale((GOOD_HEAD + "Heading\nData\n").encode())
    assert [r["Name"] for r in table.rows] == ["Heading", "Data"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no Column line"),
        ("hello world\n", "does not look like an ALE: expected 'Heading', found 'hello world'"),
        ("Heading\nFIELD_DELIM\tCOMMAS\n\nColumn\nName\n\nData\nA\n", "FIELD_DELIM is 'COMMAS'; only TABS"),
        ("Heading\n\nColumn\nName\tTape\tName\n\nData\nA\tB\tC\n", "column 'Name' appears twice"),
        ("Heading\n\nColumn\nName\t\tTape\n\nData\nA\tB\tC\n", "column 2 has no name"),
        ("Heading\n\nColumn\nName\nTape\n\nData\nA\n", "more than one line in the Column section"),
        ("Heading\nHeading\n", "a second 'Heading' section"),
    ],
)
def test_unusable_files_raise(text: str, message: str) -> None:
    with pytest.raises(ALEError) as caught:
        parse_ale(text.encode(), name="f.ale")
    assert message in str(caught.value)


def test_missing_heading_is_only_a_warning() -> None:
    table = parse_ale(b"Column\nName\n\nData\nA\n")
    assert table.rows == [{"Name": "A"}]
    assert [w.message for w in table.warnings] == ["no Heading section; FPS and formats are unknown"]
    assert table.fps is None


def test_unknown_column_kept_and_reported() -> None:
    text = "Heading\nFPS\t25\n\nColumn\nName\tMood\tCircle\n\nData\nA001\tmelancholy\tYes\n"
    table = parse_ale(text.encode())
    assert table.rows == [{"Name": "A001", "Mood": "melancholy", "Circle": "Yes"}]
    assert table.unknown_columns == ["Mood"]
    assert table.column_fields == {"Name": "name", "Circle": "circled"}
    assert table.clip_fields(table.rows[0]) == {"name": "A001", "circled": "Yes"}


def test_size_limit_on_bytes_and_stream() -> None:
    data = (GOOD_HEAD + "A\tT\tS\n").encode()
    with pytest.raises(ALEError) as caught:
        parse_ale(data, name="big.ale", max_bytes=len(data) - 1)
    assert "file is too large" in caught.value.problem
    assert parse_ale(data, max_bytes=len(data)).rows  # exactly at the limit is fine

    class Endless(io.RawIOBase):
        """A stream that never ends and counts what was read."""

        def __init__(self) -> None:
            self.served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            n = len(buffer)
            buffer[:n] = b"x" * n
            self.served += n
            return n

    raw = Endless()
    with pytest.raises(ALEError, match="too large"):
        parse_ale(io.BufferedReader(raw, buffer_size=1024), name="upload", max_bytes=10_000)
    assert raw.served <= 10_001 + 1024  # never more than the limit (plus one buffer)


def test_size_limit_on_path_checked_before_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.ale"
    with path.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(DEFAULT_MAX_BYTES + 1)

    def refuse_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", refuse_open)
    with pytest.raises(ALEError) as caught:
        parse_ale(path)
    assert caught.value.source == "huge.ale"
    assert "the limit is 52.4 MB" in caught.value.problem
    assert "max_bytes" in caught.value.hint


def test_missing_file() -> None:
    with pytest.raises(ALEError, match="cannot read the file"):
        parse_ale("/nonexistent/day.ale")


def test_text_stream_refused() -> None:
    with pytest.raises(TypeError, match="binary stream"):
        parse_ale(io.StringIO("Heading\n"))  # type: ignore[arg-type]


def test_ale_error_pickles_for_celery() -> None:
    error = ALEError("bad row", source="day.ale", line=7, hint="fix it", issues=[ale.Issue(7, "bad row")])
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert isinstance(copy, ALEError)
    assert (copy.source, copy.line, copy.problem, copy.hint, copy.issues) == (
        "day.ale",
        7,
        "bad row",
        "fix it",
        (ale.Issue(7, "bad row"),),
    )
    assert str(copy) == str(error) == "day.ale, line 7: bad row. fix it"


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def test_write_ale_layout_matches_avid() -> None:
    rows = [{"Name": "A001C003_230815_R2AB", "Tracks": "V", "Start": "10:00:00:00", "End": "10:00:10:00"}]
    data = write_ale(rows, ["Name", "Tracks", "Start", "End"], "23.976", heading={"TAPE": "A001"})
    assert data == (
        b"Heading\r\nFIELD_DELIM\tTABS\r\nVIDEO_FORMAT\t1080\r\nAUDIO_FORMAT\t48khz\r\nFPS\t23.976\r\n"
        b"TAPE\tA001\r\n\r\nColumn\r\nName\tTracks\tStart\tEnd\r\n\r\nData\r\n"
        b"A001C003_230815_R2AB\tV\t10:00:00:00\t10:00:10:00\r\n"
    )
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM
    table = parse_ale(data)
    assert table.heading == {
        "FIELD_DELIM": "TABS",
        "VIDEO_FORMAT": "1080",
        "AUDIO_FORMAT": "48khz",
        "FPS": "23.976",
        "TAPE": "A001",
    }
    assert table.rows == rows


def test_write_ale_round_trip_with_awkward_values() -> None:
    columns = ["Name", "Scene", "Take", "Comments", "Cast", "Start"]
    rows: list[dict[str, object]] = [
        {
            "Name": "01",
            "Scene": "19A",
            "Take": "1xa",
            "Comments": "  padded  ",
            "Cast": "Zoë",
            "Start": "01:00:00:00",
        },
        {"Name": "Heading", "Comments": "", "Cast": None},  # missing keys and None become ""
        {"Name": "A", "Comments": "ends empty", "Start": ""},
    ]
    table = parse_ale(write_ale(rows, columns, 25))
    expected = [{c: "" if row.get(c) is None else str(row.get(c)) for c in columns} for row in rows]
    assert table.rows == expected
    assert table.ok and table.warnings == []


def test_write_ale_sanitises_tabs_and_newlines() -> None:
    text = format_ale(
        [{"Name": "A\tB", "Comments": "line one\r\nline two\nthree\x00\x07"}], ["Name", "Comments"], "25"
    )
    table = parse_ale(text.encode())
    assert table.rows == [{"Name": "A B", "Comments": "line one line two three"}]
    assert text.endswith("\r\n")


@pytest.mark.parametrize(
    ("columns", "rows", "fps", "message"),
    [
        ([], [], "25", "at least one column"),
        (["Name", "Name"], [], "25", "listed twice"),
        (["Name", ""], [], "25", "is empty"),
        (["Na\tme"], [], "25", "contains a tab"),
        (["Data"], [], "25", "single column cannot be named"),
        (["Name"], [{"Name": "A", "Mood": "x"}], "25", "not in the column list: ['Mood']"),
        (["Name", "Tape"], [{"Name": " ", "Tape": ""}], "25", "row 1 has no values"),
        (["Name"], [{"Name": "A"}], "17", "not a supported frame rate"),
    ],
)
def test_write_ale_rejects(columns: list[str], rows: list[dict[str, object]], fps: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        write_ale(rows, columns, fps)


def test_write_ale_rejects_reserved_heading_and_unencodable() -> None:
    with pytest.raises(ValueError, match="written by format_ale itself"):
        write_ale([{"Name": "A"}], ["Name"], 25, heading={"fps": "24"})
    with pytest.raises(ValueError, match="cannot be written as latin-1"):
        write_ale([{"Name": "日本"}], ["Name"], 25, encoding="latin-1")


# --------------------------------------------------------------------------- #
# Column mapping
# --------------------------------------------------------------------------- #


def test_mapping_table_is_consistent() -> None:
    fields = [m.field for m in ALE_COLUMN_MAPPING]
    assert len(fields) == len(set(fields))
    required = {
        "name", "tape", "source_file", "start_tc", "end_tc", "duration", "scene", "take", "circled",
        "camera", "camroll", "labroll", "reel", "lens", "cast", "location", "comments", "shoot_date",
        "asc_sop", "asc_sat", "fps", "codec", "resolution",
    }  # fmt: skip
    assert required <= set(fields)
    seen: dict[str, str] = {}
    for mapping in ALE_COLUMN_MAPPING:
        assert field_for_column(mapping.column) == mapping.field
        assert column_for_field(mapping.field) == mapping.column
        for spelling in (mapping.column, *mapping.aliases):
            key = spelling.casefold()
            assert seen.setdefault(key, mapping.field) == mapping.field, f"{spelling} maps twice"
            assert field_for_column(spelling) == mapping.field


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Name", "name"),
        ("NAME", "name"),
        ("Circle", "circled"),
        ("circled", "circled"),
        ("Lens Type", "lens"),
        ("lens_type", "lens"),
        ("lensModel", "lens"),
        ("Shoot date", "shoot_date"),
        ("shoot_date", "shoot_date"),
        ("Notes", "comments"),
        ("Image Size", "resolution"),
        ("Reel #", "reel"),
        ("asc_sop", "asc_sop"),
        ("Mood", None),
        ("TapeID", None),  # a different Avid column from Tape
        ("Source File Path", None),
    ],
)
def test_field_for_column(column: str, field: str | None) -> None:
    assert field_for_column(column) == field


def test_fields_to_row() -> None:
    assert fields_to_row(
        {"name": "A001", "circled": True, "start_tc": "10:00:00:00", "take": 3, "scene": None}
    ) == {
        "Name": "A001",
        "Circled": "Yes",
        "Start": "10:00:00:00",
        "Take": "3",
        "Scene": "",
    }
    assert fields_to_row({"circled": False}) == {"Circled": ""}
    with pytest.raises(KeyError, match="not a mapped clip field"):
        fields_to_row({"mood": "x"})


def test_clip_fields_precedence() -> None:
    table = ClipTable(source="t", format="ale", encoding="utf-8", newline="\n", columns=["Reel #", "Reel"])
    assert table.clip_fields({"Reel #": "R1", "Reel": ""}) == {"reel": "R1"}  # blank canonical skipped
    assert table.clip_fields({"Reel #": "R1", "Reel": "R2"}) == {"reel": "R2"}  # canonical wins


def test_cdl_helpers() -> None:
    assert parse_asc_sop("(1 1 1)(0 0 0)(1 1 1)") == ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert parse_asc_sop(" ( 1.5 .2 -3e-2 ) (0 0 0)(1 1 1) ") == ((1.5, 0.2, -0.03), (0, 0, 0), (1, 1, 1))
    for bad in ("13:18:25:19", "(1 1)(0 0 0)(1 1 1)", "", "(a b c)(0 0 0)(1 1 1)"):
        assert parse_asc_sop(bad) is None
    assert parse_asc_sat("0.9") == 0.9
    assert parse_asc_sat("13:18:25:15") is None
    assert parse_asc_sat("-1") is None
    assert parse_asc_sat("nan") is None
    assert interpret_circled("Yes") is True
    assert interpret_circled("*") is True
    assert interpret_circled("false") is False
    assert interpret_circled("") is None
    assert interpret_circled("maybe") is None


# --------------------------------------------------------------------------- #
# CSV
# --------------------------------------------------------------------------- #


def test_csv_round_trip_with_quotes_commas_newlines() -> None:
    columns = ["Name", "Comments", "Cast", "Start"]
    rows = [
        {
            "Name": "A001",
            "Comments": 'said "cut", then\nwalked off',
            "Cast": "Zoë, Ærø",
            "Start": "10:00:00:00",
        },
        {"Name": "=1+1", "Comments": "", "Cast": "", "Start": ""},
    ]
    data = write_csv(rows, columns)
    assert data.startswith(b"\xef\xbb\xbfName,Comments,Cast,Start\r\n")
    table = read_csv(data, name="clips.csv")
    assert table.format == "csv"
    assert table.encoding == "utf-8-sig"
    assert table.heading == {}
    assert table.columns == columns
    assert table.rows == rows
    assert table.row_lines == [2, 4]  # the first record spans lines 2-3


def test_csv_excel_safe_neutralises_formulas() -> None:
    data = write_csv([{"Name": '=HYPERLINK("x")', "Take": "-3"}], ["Name", "Take"], excel_safe=True)
    assert read_csv(data).rows == [{"Name": '\'=HYPERLINK("x")', "Take": "'-3"}]


def test_csv_semicolon_and_errors() -> None:
    table = read_csv(b"Name;Scene\r\nA001;12\r\nA002\r\n", name="eu.csv")
    assert table.columns == ["Name", "Scene"]
    assert table.rows == [{"Name": "A001", "Scene": "12"}, {"Name": "A002", "Scene": ""}]
    assert [(w.line, w.message) for w in table.warnings] == [
        (3, "row has 1 of 2 fields; padded with empty values")
    ]
    bad = read_csv(b"Name,Scene\nA,1\nB,2,3\n", name="bad.csv")
    assert [(e.line, e.message) for e in bad.errors] == [(3, "row has 3 fields but the header has 2 columns")]
    with pytest.raises(ALEError, match=r"bad\.csv, line 3"):
        read_csv(b"Name,Scene\nA,1\nB,2,3\n", name="bad.csv", strict=True)
    with pytest.raises(ALEError, match="malformed CSV"):
        read_csv(b'Name,Scene\nA,"unclosed\n', name="q.csv")
    with pytest.raises(ALEError, match="no header row"):
        read_csv(b"\n\n", name="empty.csv")
    with pytest.raises(ALEError, match="appears twice"):
        read_csv(b"Name,Name\nA,B\n")
    with pytest.raises(ALEError, match="too large"):
        read_csv(b"Name\nA\n", max_bytes=3)


def test_heading_key_without_value() -> None:
    text = "Heading\nFIELD_DELIM\tTABS\nTAPE\t\nFPS\t25\tVIDEO_FORMAT\n\nColumn\nName\n\nData\nA\n"
    table = parse_ale(text.encode())
    assert table.heading == {"FIELD_DELIM": "TABS", "TAPE": "", "FPS": "25", "VIDEO_FORMAT": ""}
    assert [(w.line, w.message) for w in table.warnings] == [
        (4, "heading line has an odd number of fields: 'FPS\\t25\\tVIDEO_FORMAT'")
    ]
