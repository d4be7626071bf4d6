"""`manage.py ale_import` and `ale_export`: preview, apply, JSON, every kind of bad input, round trips."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import AuditEvent, Clip, Project, ShootDay, Volume
from metadata.models import ReviewItem
from metadata.review import ingest_rules_update
from tests.fixtures import World

HEADING = "Heading\nFIELD_DELIM\tTABS\nVIDEO_FORMAT\t1080\nAUDIO_FORMAT\t48khz\nFPS\t25\n\n"


def ale(columns: list[str], rows: list[list[str]], *, heading: str = HEADING, newline: str = "\n") -> str:
    lines = [*heading.rstrip("\n").split("\n"), "", "Column", "\t".join(columns), "", "Data"]
    lines += ["\t".join(r) for r in rows]
    return newline.join(lines) + newline


def run_import(path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("ale_import", "--project", "FILM", str(path), "--json", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def run_text(path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("ale_import", "--project", "FILM", str(path), *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def make_clips(project: Project, *, day: ShootDay | None = None, card: Volume | None = None) -> list[Clip]:
    clips = []
    for n in range(1, 4):
        clips.append(
            Clip.objects.create(
                project=project,
                day=day,
                card=card,
                name=f"C001C00{n}_261102_R1AB",
                camera="C",
                reel="C001",
                start_tc=f"10:0{n}:00:00",
                fps=Decimal("25"),
                duration_frames=250,
                codec="ProRes HQ",
                resolution="3840x2160",
            )
        )
    return clips


def snapshot(project: Project) -> list[tuple[Any, ...]]:
    return list(
        Clip.objects.filter(project=project)
        .order_by("name")
        .values_list(
            "name",
            "scene",
            "take",
            "circled",
            "camera",
            "reel",
            "cast",
            "location",
            "lens",
            "notes",
            "start_tc",
            "extra",
        )
    )


@pytest.fixture
def clips(world: World) -> list[Clip]:
    return make_clips(world.project)


def test_preview_shows_changes_per_clip_and_applies_nothing(
    world: World, clips: list[Clip], tmp_path: Path
) -> None:
    path = tmp_path / "day1.ale"
    path.write_text(
        ale(
            [
                "Name",
                "Tracks",
                "Start",
                "End",
                "Scene",
                "Take",
                "Circled",
                "Cast",
                "Comments",
                "ASC_SOP",
                "ASC_SAT",
            ],
            [
                [
                    "C001C001_261102_R1AB",
                    "V",
                    "10:01:00:00",
                    "10:01:10:00",
                    "42",
                    "3",
                    "Yes",
                    "Ava Stone, Ben Ode",
                    "good take",
                    "(1.1 1 0.9)(0 0 0.01)(1 1 1)",
                    "0.9",
                ],
                ["C001C002_261102_R1AB", "V", "10:02:00:00", "10:02:10:00", "42", "4", "", "", "", "", ""],
                ["Z999C001_261102_R1AB", "V", "11:00:00:00", "11:00:10:00", "7", "1", "", "", "", "", ""],
            ],
        )
    )
    before = snapshot(world.project)
    audit_before = AuditEvent.objects.count()
    code, result, _ = run_import(path)
    assert code == 0
    assert result["rows_parsed"] == 3
    assert result["columns"] == [
        "Name",
        "Tracks",
        "Start",
        "End",
        "Scene",
        "Take",
        "Circled",
        "Cast",
        "Comments",
        "ASC_SOP",
        "ASC_SAT",
    ]
    assert result["errors"] == [] and result["applied"] is False
    first, second = result["matched"]
    assert (first["line"], first["clip"], first["matched_by"]) == (11, "C001C001_261102_R1AB", "name")
    assert first["changes"] == {
        "scene": {"before": "", "after": "42"},
        "take": {"before": "", "after": "3"},
        "circled": {"before": False, "after": True},
        "cast": {"before": [], "after": ["Ava Stone", "Ben Ode"]},
        "notes": {"before": "", "after": "good take"},
        "cdl": {"before": None, "after": {"asc_sop": "(1.1 1 0.9)(0 0 0.01)(1 1 1)", "asc_sat": "0.9"}},
    }
    assert second["changes"] == {"scene": {"before": "", "after": "42"}, "take": {"before": "", "after": "4"}}
    (unmatched,) = result["unmatched"]
    assert (unmatched["line"], unmatched["name"]) == (13, "Z999C001_261102_R1AB")
    assert "no clip of the project matches name 'Z999C001_261102_R1AB'" in unmatched["reason"]
    assert snapshot(world.project) == before
    assert AuditEvent.objects.count() == audit_before


def test_apply_changes_clips_in_one_transaction_with_audit_before_and_after(
    world: World, clips: list[Clip], tmp_path: Path
) -> None:
    path = tmp_path / "script.ale"
    path.write_text(
        ale(
            ["Name", "Camera", "Reel", "Scene", "Take", "Location", "Lens"],
            [
                ["C001C001_261102_R1AB", "Z", "Z042", "42", "3", "Harbour", "Cooke S4 32mm"],
                ["C001C003_261102_R1AB", "", "", "43", "1", "", ""],
            ],
        )
    )
    code, result, _ = run_import(path, "--apply")
    assert code == 0 and result["applied"] is True and result["clips_changed"] == 2
    clip = Clip.objects.get(project=world.project, name="C001C001_261102_R1AB")
    assert (clip.scene, clip.take, clip.location, clip.lens) == ("42", "3", "Harbour", "Cooke S4 32mm")
    assert (clip.camera, clip.reel) == ("C", "C001")  # from the camera: used to match, never merged
    events = AuditEvent.objects.filter(action="clip.ale_import").order_by("id")
    assert [e.object_id for e in events] == [str(clips[0].pk), str(clips[2].pk)]
    assert events[0].before == {"scene": "", "take": "", "location": "", "lens": ""}
    assert events[0].after == {"scene": "42", "take": "3", "location": "Harbour", "lens": "Cooke S4 32mm"}
    summary = AuditEvent.objects.get(action="ale.import")
    assert summary.after["file"] == "script.ale" and summary.after["clips_changed"] == 2
    assert summary.source.startswith("cli:")


def test_the_human_preview_lists_changes_per_clip(world: World, clips: list[Clip], tmp_path: Path) -> None:
    path = tmp_path / "a.ale"
    path.write_text(ale(["Name", "Scene"], [["C001C002_261102_R1AB", "12"]]))
    code, out, _ = run_text(path)
    assert code == 0
    assert "line 11: C001C002_261102_R1AB (by name)" in out
    assert "scene: '' -> '12'" in out
    assert "Preview only: run again with --apply" in out
    assert Clip.objects.get(pk=clips[1].pk).scene == ""


def test_rows_are_matched_by_tape_and_timecode_range(world: World, clips: list[Clip], tmp_path: Path) -> None:
    path = tmp_path / "sound.ale"
    path.write_text(
        ale(
            ["Name", "Tape", "Start", "Scene", "Take"],
            [
                ["42-3 sound", "C001", "10:02:03:10", "42", "3"],
                ["no such tc", "C001", "12:00:00:00", "50", "1"],
            ],
        )
    )
    code, result, _ = run_import(path, "--apply")
    assert code == 0
    (match,) = result["matched"]
    assert (match["clip"], match["matched_by"]) == ("C001C002_261102_R1AB", "tape + timecode")
    assert "no clip on reel 'C001' contains timecode 12:00:00:00" in result["unmatched"][0]["reason"]
    assert Clip.objects.get(pk=clips[1].pk).scene == "42"


def test_rows_are_matched_by_source_file_and_by_name_with_extension(world: World, tmp_path: Path) -> None:
    Clip.objects.create(project=world.project, name="A118_C029_1102JR")
    Clip.objects.create(project=world.project, name="A020C003_150905_E2XZ")
    path = tmp_path / "resolve.ale"
    path.write_text(
        ale(
            ["Name", "Source File", "Scene"],
            [["timeline clip 1", "A118_C029_1102JR_001.R3D", "5"], ["A020C003_150905_E2XZ.mov", "", "6"]],
        )
    )
    code, result, _ = run_import(path)
    assert code == 0
    assert [(m["clip"], m["matched_by"]) for m in result["matched"]] == [
        ("A118_C029_1102JR", "source file"),
        ("A020C003_150905_E2XZ", "name"),
    ]


def bad_input_case(tmp_path: Path, name: str, data: bytes) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / name
    path.write_bytes(data)
    return run_import(path, "--apply")


def assert_refused(world: World, before: list[tuple[Any, ...]], code: int, result: dict[str, Any]) -> None:
    assert code == 1
    assert result["applied"] is False
    assert snapshot(world.project) == before
    assert not AuditEvent.objects.filter(action__in=["clip.ale_import", "ale.import"]).exists()


def test_an_ale_with_no_data_section_is_refused(world: World, clips: list[Clip], tmp_path: Path) -> None:
    before = snapshot(world.project)
    text = HEADING + "Column\nName\tScene\n"
    code, result, _ = bad_input_case(tmp_path, "truncated.ale", text.encode())
    assert_refused(world, before, code, result)
    (error,) = result["errors"]
    assert error["message"].startswith("no Data section")
    code, _out, err = run_text(tmp_path / "truncated.ale", "--apply")
    assert "error: truncated.ale: no Data section" in err and "Nothing was applied." in err


def test_a_row_with_the_wrong_number_of_fields_is_refused_with_its_line(
    world: World, clips: list[Clip], tmp_path: Path
) -> None:
    before = snapshot(world.project)
    text = ale(
        ["Name", "Scene"], [["C001C001_261102_R1AB", "42"], ["C001C002_261102_R1AB", "43", "extra", "x"]]
    )
    code, result, _ = bad_input_case(tmp_path, "wide.ale", text.encode())
    assert_refused(world, before, code, result)
    (error,) = result["errors"]
    assert error["line"] == 12
    assert error["message"].startswith("row has 4 fields but the Column line has 2 columns")
    _code, _out, err = run_text(tmp_path / "wide.ale", "--apply")
    assert "error: wide.ale, line 12: row has 4 fields" in err


def test_an_unknown_column_is_refused_unless_ignored(world: World, clips: list[Clip], tmp_path: Path) -> None:
    before = snapshot(world.project)
    text = ale(["Name", "Tracks", "Scene", "Mood"], [["C001C001_261102_R1AB", "V", "42", "dark"]])
    code, result, _ = bad_input_case(tmp_path, "mood.ale", text.encode())
    assert_refused(world, before, code, result)
    (error,) = result["errors"]
    assert error["line"] == 8  # the column names
    assert error["message"].startswith("unknown column 'Mood': not a Reelvault clip field")
    code, result, _ = run_import(tmp_path / "mood.ale", "--apply", "--ignore-unknown-columns")
    assert code == 0 and result["applied"] is True
    assert result["ignored_columns"] == ["Tracks", "Mood"]
    assert Clip.objects.get(pk=clips[0].pk).scene == "42"


def test_a_timecode_that_does_not_parse_is_refused_with_its_line(
    world: World, clips: list[Clip], tmp_path: Path
) -> None:
    before = snapshot(world.project)
    text = ale(
        ["Name", "Start", "Scene"],
        [["C001C001_261102_R1AB", "10:01:00:00", "42"], ["C001C002_261102_R1AB", "10:02:00:31", "43"]],
    )
    code, result, _ = bad_input_case(tmp_path, "tc.ale", text.encode())
    assert_refused(world, before, code, result)
    (error,) = result["errors"]
    assert error == {
        "line": 12,
        "message": "Start: '10:02:00:31' is not a valid timecode: frames must be < 25 at 25 fps",
    }


def test_an_undecodable_byte_is_refused_with_its_line(
    world: World, clips: list[Clip], tmp_path: Path
) -> None:
    before = snapshot(world.project)
    text = ale(["Name", "Scene"], [["C001C001_261102_R1AB", "42"], ["C001C002_261102_R1AB", "43"]])
    data = b"\xef\xbb\xbf" + text.encode().replace(b"43", b"4\xff")  # UTF-8 with BOM: the BOM declares it
    code, result, _ = bad_input_case(tmp_path, "bad.ale", data)
    assert_refused(world, before, code, result)
    (error,) = result["errors"]
    assert error["line"] == 12
    # (formats.ale names the byte 3 places off after a BOM; the line is right.)
    assert "cannot be decoded as utf-8-sig" in error["message"]


def test_a_50_mb_file_is_refused_without_reading_it_all(
    world: World, clips: list[Clip], tmp_path: Path
) -> None:
    before = snapshot(world.project)
    path = tmp_path / "huge.ale"
    with path.open("wb") as handle:
        handle.write(ale(["Name", "Scene"], [["C001C001_261102_R1AB", "42"]]).encode())
        handle.truncate(50 * 1024 * 1024 + 1)
    code, result, _ = run_import(path, "--apply")
    assert_refused(world, before, code, result)
    (error,) = result["errors"]
    assert error["message"].startswith("file is too large (52.4 MB; the limit is 52.4 MB)")


def test_two_rows_for_one_clip_are_refused(world: World, clips: list[Clip], tmp_path: Path) -> None:
    before = snapshot(world.project)
    text = ale(["Name", "Scene"], [["C001C001_261102_R1AB", "42"], ["c001c001_261102_r1ab", "43"]])
    code, result, _ = bad_input_case(tmp_path, "twice.ale", text.encode())
    assert_refused(world, before, code, result)
    assert result["errors"] == [
        {
            "line": 12,
            "message": "matches clip C001C001_261102_R1AB, like line 11, but sets scene to '43' "
            "where that line "
            "sets '42': one clip cannot take two different rows",
        }
    ]


@pytest.mark.parametrize(
    ("encoding", "newline", "bom"),
    [
        ("utf-8", "\n", b""),
        ("utf-8", "\r\n", b"\xef\xbb\xbf"),
        ("utf-16-le", "\r\n", b"\xff\xfe"),
        ("utf-16-be", "\n", b"\xfe\xff"),
        ("latin-1", "\r\n", b""),
    ],
)
def test_encodings_and_line_endings(
    world: World, clips: list[Clip], tmp_path: Path, encoding: str, newline: str, bom: bytes
) -> None:
    text = ale(
        ["Name", "Scene", "Location"], [["C001C001_261102_R1AB", "42", "Café Müller"]], newline=newline
    )
    path = tmp_path / "enc.ale"
    path.write_bytes(bom + text.encode(encoding))
    code, result, _ = run_import(path, "--apply")
    assert code == 0, result["errors"]
    clip = Clip.objects.get(pk=clips[0].pk)
    assert (clip.scene, clip.location) == ("42", "Café Müller")


def export(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    call_command("ale_export", "--project", "FILM", *args, str(out), stdout=io.StringIO())
    return out


def test_export_of_a_day_and_of_a_card_is_avid_shaped(world: World, tmp_path: Path) -> None:
    day1 = ShootDay.objects.create(project=world.project, number=1, date="2026-11-02")
    card = Volume.objects.create(project=world.project, label="C001", kind=Volume.Kind.CARD, location="/c")
    make_clips(world.project, day=day1, card=card)
    Clip.objects.filter(name="C001C001_261102_R1AB").update(
        scene="42", take="3", circled=True, notes="tab\there"
    )
    data = export(tmp_path, "day1.ale", "--day", "1").read_bytes()
    text = data.decode("utf-8")
    assert text.startswith(
        "Heading\r\nFIELD_DELIM\tTABS\r\nVIDEO_FORMAT\t1080\r\nAUDIO_FORMAT\t48khz\r\nFPS\t25\r\n"
    )
    lines = text.split("\r\n")
    columns = lines[lines.index("Column") + 1].split("\t")
    assert columns[:4] == ["Name", "Tracks", "Source File", "Start"]
    assert {"End", "Scene", "Take", "Circled", "Reel", "ASC_SOP", "ASC_SAT"} <= set(columns)
    data_rows = lines[lines.index("Data") + 1 : -1]
    assert len(data_rows) == 3
    first = dict(zip(columns, data_rows[0].split("\t"), strict=True))
    assert (first["Name"], first["Start"], first["End"], first["Scene"], first["Circled"]) == (
        "C001C001_261102_R1AB",
        "10:01:00:00",
        "10:01:10:00",
        "42",
        "Yes",
    )
    assert first["Comments"] == "tab here"
    csv_text = export(tmp_path, "card.csv", "--card", "C001").read_bytes().decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Name,Source File,Start,End")
    assert len(csv_text.splitlines()) == 4
    assert AuditEvent.objects.filter(action="clip.export").count() == 2


@pytest.mark.parametrize("suffix", ["ale", "csv"])
def test_export_then_import_changes_nothing(
    world: World, clips: list[Clip], tmp_path: Path, suffix: str
) -> None:
    Clip.objects.filter(pk=clips[0].pk).update(
        scene="42",
        take="3",
        circled=True,
        cast=["Ava Stone", "Ben Ode"],
        location="Harbour, pier 4",
        lens="Cooke S4 32mm",
        notes="line one\nline two",
        extra={"cdl": {"asc_sop": "(1 1 1)(0 0 0)(1 1 1)", "asc_sat": "1"}},
    )
    Clip.objects.filter(pk=clips[1].pk).update(notes="=SUM(A1)", scene="-1")
    before = snapshot(world.project)
    path = export(tmp_path, f"all.{suffix}")
    code, result, _ = run_import(path, "--apply")
    assert code == 0, result["errors"]
    count = Clip.objects.filter(project=world.project).count()
    assert result["rows_parsed"] == count and len(result["matched"]) == count
    assert result["clips_changed"] == 0, result["matched"]
    assert snapshot(world.project) == before
    assert not AuditEvent.objects.filter(action="clip.ale_import").exists()


def test_an_import_closes_the_review_items_it_fixes(world: World, clips: list[Clip], tmp_path: Path) -> None:
    ingest_rules_update(actor=None, project=world.project, required_fields=["scene", "take"])
    assert ReviewItem.objects.filter(clip=clips[0], state="open", kind="required").count() == 2
    path = tmp_path / "fix.ale"
    path.write_text(ale(["Name", "Scene", "Take"], [["C001C001_261102_R1AB", "42", "1"]]))
    code, _result, _ = run_import(path, "--apply")
    assert code == 0
    items = ReviewItem.objects.filter(clip=clips[0], kind="required")
    assert {(i.state, i.resolution) for i in items} == {("fixed", "fixed by an ALE import")}
    assert ReviewItem.objects.filter(clip=clips[1], state="open", kind="required").count() == 2


@pytest.mark.parametrize("name", ["otio_sample_cdl.ale", "otio_sampleUHD.ale", "otio_sample_blanks.ale"])
def test_real_ales_from_other_tools_preview_through_the_import(
    world: World, tmp_path: Path, samples: Path, name: str
) -> None:
    Clip.objects.create(project=world.project, name="A005_C010_0501J0")
    Clip.objects.create(project=world.project, name="A118_C029_1102JR")
    Clip.objects.create(project=world.project, name="A020C003_150905_E2XZ")
    code, result, _ = run_import(samples / "ale" / name, "--ignore-unknown-columns")
    assert code == 0, result["errors"]
    assert result["rows_parsed"] >= 1
    assert len(result["matched"]) + len(result["unmatched"]) == result["rows_parsed"]
    if name == "otio_sample_cdl.ale":
        match = next(m for m in result["matched"] if m["clip"] == "A005_C010_0501J0")
        assert match["changes"]["cdl"]["after"] == {
            "asc_sop": "(0.8714 0.9334 0.9947)(-0.087 -0.0922 -0.0808)(0.9988 1.0218 1.0101)",
            "asc_sat": "0.9",
        }


def test_a_real_avid_ale_with_an_impossible_timecode_is_refused_at_that_line(
    world: World, tmp_path: Path, samples: Path
) -> None:
    code, result, _ = run_import(samples / "ale" / "kloptops_all_headings.ALE", "--apply")
    assert code == 1 and result["applied"] is False
    assert result["errors"] == [
        {"line": 15, "message": "End: '23:59:59:29' is not a valid timecode: frames must be < 24 at 24 fps"}
    ]
    assert result["rows_parsed"] == 5
