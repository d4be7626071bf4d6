"""Transfer reports of an offload: one structure, rendered as HTML (template), CSV and PDF.

The report is the hand-off document of a card: production header (project,
day, DIT, card, cameras), every checksum computed (XXH3-128 always, MD5 and
SHA-1 when asked for), local times with the zone, human sizes, where the card
and its ASC MHL history are on each destination, and a poster frame per clip
(the ones metadata extraction made; the PDF embeds them when present).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils import timezone
from fpdf import FPDF

from catalog.display import when_text
from catalog.models import Clip
from copyengine import fsnames, mhl
from formats.units import format_bytes
from ingest import selectors
from ingest.models import OffloadJob
from metadata.extraction import thumbnail_path

#: Catalog hash columns, in the order reports show them, with their names for people.
HASH_NAMES = {"xxh128": "XXH3-128", "md5": "MD5", "sha1": "SHA-1"}


@dataclass(frozen=True)
class ReportFile:
    path: str
    size: int
    hashes: dict[str, str]  # {algorithm: hex}, the algorithms of the offload that the catalog holds
    copies: dict[str, str]  # destination label -> copy state
    xxh128: str = ""

    @property
    def size_text(self) -> str:
        return format_bytes(self.size)


@dataclass(frozen=True)
class ReportClip:
    name: str
    camera: str
    scene: str
    take: str
    thumbnail_url: str  # "" when no poster frame was made
    thumbnail_file: Path | None  # the JPEG, when this host has it (the PDF embeds it)
    files: int
    size: int

    @property
    def size_text(self) -> str:
        return format_bytes(self.size)


@dataclass(frozen=True)
class ReportDestination:
    label: str
    card_folder: str  # where the card is on this destination
    mhl_folder: str  # its ASC MHL history
    mhl_generation: str  # the newest generation file, when this host can see it
    state: str  # "verified", "failed: why", "not finished"
    verified: str  # human size read back and matched


@dataclass(frozen=True)
class TransferReport:
    job: OffloadJob
    destinations: list[str]
    files: list[ReportFile]
    failures: list[str]
    run_by: str
    algorithms: list[str] = field(default_factory=list)  # hash columns shown, catalog order
    clips: list[ReportClip] = field(default_factory=list)
    places: list[ReportDestination] = field(default_factory=list)
    cameras: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def hash_names(self) -> list[str]:
        return [HASH_NAMES[a] for a in self.algorithms]


def _newest_generation(folder: Path) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix == ".mhl")
    except OSError:
        return ""  # not mounted on this host, or no history yet
    return names[-1] if names else ""


def _places(job: OffloadJob) -> list[ReportDestination]:
    summary = selectors.offload_summary(job=job).get("destinations", {})
    places = []
    for volume in sorted(job.destinations.all(), key=lambda v: v.label):
        card_folder = Path(volume.location) / job.dest_folder
        done = summary.get(volume.label)
        if done is None:
            state = "not finished"
        elif done["failure"]:
            state = f"failed: {done['failure']}"
        else:
            state = "verified"
        places.append(
            ReportDestination(
                label=volume.label,
                card_folder=str(card_folder),
                mhl_folder=str(card_folder / mhl.ASCMHL_FOLDER),
                mhl_generation=_newest_generation(card_folder / mhl.ASCMHL_FOLDER),
                state=state,
                verified=format_bytes(done["bytes_verified"]) if done else "",
            )
        )
    return places


def _clips(job: OffloadJob) -> list[ReportClip]:
    clips = []
    for clip in (
        Clip.objects.filter(files__card=job.card).distinct().order_by("name").prefetch_related("files")
    ):
        thumbnail = thumbnail_path(clip) if clip.extra.get("thumbnail") else None
        files = [f for f in clip.files.all() if f.card_id == job.card_id]
        clips.append(
            ReportClip(
                name=clip.name,
                camera=clip.camera,
                scene=clip.scene,
                take=clip.take,
                thumbnail_url=clip.thumbnail_url,
                thumbnail_file=thumbnail if thumbnail is not None and thumbnail.is_file() else None,
                files=len(files),
                size=sum(f.size for f in files),
            )
        )
    return clips


def transfer_report(*, job: OffloadJob) -> TransferReport:
    destinations = sorted(v.label for v in job.destinations.all())
    algorithms = [a for a in HASH_NAMES if a in job.algorithms or a == "xxh128"]
    files = []
    for media_file in selectors.offload_files(job=job):
        values = {"xxh128": media_file.xxh128, "md5": media_file.md5, "sha1": media_file.sha1}
        files.append(
            ReportFile(
                path=fsnames.shown(media_file.relative_path),
                size=media_file.size,
                hashes={a: values[a] for a in algorithms},
                copies={
                    d: next((c.state for c in media_file.copies.all() if c.volume.label == d), "")
                    for d in destinations
                },
                xxh128=media_file.xxh128,
            )
        )
    failures = list(job.summary.get("not_safe_reasons", []))
    failures += [f"{p['path']}: {p['message']}" for p in selectors.offload_mhl_notes(job=job)]
    if job.error:
        failures.insert(0, job.error)
    creator = job.created_by
    run_by = (creator.get_full_name() or creator.get_username()) if creator else "command line"
    clips = _clips(job)
    return TransferReport(
        job=job,
        destinations=destinations,
        files=files,
        failures=failures,
        run_by=run_by,
        algorithms=algorithms,
        clips=clips,
        places=_places(job),
        cameras=", ".join(sorted({c.camera for c in clips if c.camera})),
    )


def local_time(moment: datetime | None) -> str:
    """A moment in local time with its zone, as the pages show it: "Nov. 2, 2026, 6:40 p.m. CET"."""
    return when_text(moment)


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


def speed(report: TransferReport) -> str:
    """The card's bytes per second of the whole offload, in human units ("212.4 MB/s")."""
    seconds = report.job.seconds
    return f"{format_bytes(report.total_bytes / seconds)}/s" if seconds > 0 else "—"


def production_rows(report: TransferReport) -> list[tuple[str, str]]:
    """The production header: who, what and when, as a studio files it."""
    job = report.job
    day = job.day
    company = (
        [("Production company", job.project.production_company)] if job.project.production_company else []
    )
    return [
        ("Production", f"{job.project.name} ({job.project.code})"),
        *company,
        ("Shoot day", f"Day {day.number} ({day.unit} unit), {day.date:%Y-%m-%d}" if day else "not set"),
        ("DIT", report.run_by),
        ("Card", job.label),
        ("Camera", report.cameras or "not recognised"),
    ]


def _header_rows(report: TransferReport) -> list[tuple[str, str]]:
    job = report.job
    return [
        *production_rows(report),
        ("Source", f"{job.source_path} on {job.host}"),
        ("Started", local_time(job.started_at)),
        ("Finished", local_time(job.finished_at)),
        ("State", job.get_state_display()),
        ("Safe to format", "YES" if job.safe_to_format else "NO"),
        ("Files", f"{len(report.files)} ({format_bytes(report.total_bytes)})"),
        ("Time", f"{duration(job.seconds)} at {speed(report)}"),
        ("Checksums", ", ".join(report.hash_names)),
    ]


def transfer_report_csv(report: TransferReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for key, value in _header_rows(report):
        writer.writerow([f"# {key}", value])
    for failure in report.failures:
        writer.writerow(["# Failure", failure])
    for place in report.places:
        writer.writerow([f"# {place.label}", place.card_folder, f"ASC MHL: {place.mhl_folder}", place.state])
    writer.writerow(["path", "size", *report.algorithms, *report.destinations])
    for f in report.files:
        writer.writerow(
            [f.path, f.size, *f.hashes.values(), *(f.copies.get(d, "") for d in report.destinations)]
        )
    return out.getvalue()


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1; anything else is shown as '?', never dropped silently.
    return text.encode("latin-1", "replace").decode("latin-1")


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, _latin1(title), new_x="LMARGIN", new_y="NEXT")


def _pdf_clips(pdf: FPDF, clips: list[ReportClip]) -> None:
    """One tile per clip: poster frame (when made) and its name, scene/take, size; four per row."""
    _section(pdf, f"Clips ({len(clips)})")
    tile_w, image_w, image_h = 66.0, 60.0, 33.75
    for index, clip in enumerate(clips):
        column = index % 4
        if column == 0:
            if pdf.get_y() + image_h + 14 > pdf.h - pdf.b_margin:
                pdf.add_page()
            top = pdf.get_y()
        x = pdf.l_margin + column * tile_w
        if clip.thumbnail_file is not None:
            pdf.image(str(clip.thumbnail_file), x=x, y=top, w=image_w, h=image_h)
        else:
            pdf.set_draw_color(180, 180, 180)
            pdf.rect(x, top, image_w, image_h)
            pdf.set_xy(x, top + image_h / 2 - 2)
            pdf.set_font("Helvetica", size=7)
            pdf.cell(image_w, 4, "no poster frame", align="C")
        pdf.set_xy(x, top + image_h + 1)
        pdf.set_font("Helvetica", "B", 7)
        pdf.cell(image_w, 4, _latin1(clip.name[:48]))
        pdf.set_xy(x, top + image_h + 5)
        pdf.set_font("Helvetica", size=7)
        scene = f"Sc {clip.scene} Tk {clip.take} - " if clip.scene or clip.take else ""
        files = f"{clip.files} file" + ("" if clip.files == 1 else "s")
        pdf.cell(image_w, 4, _latin1(f"{scene}{files}, {clip.size_text}"))
        if column == 3 or index == len(clips) - 1:
            pdf.set_xy(pdf.l_margin, top + image_h + 11)


def transfer_report_pdf(report: TransferReport) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(_latin1(f"Transfer report - card {report.job.label}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _latin1(f"Transfer report - card {report.job.label}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, _latin1(f"Reelvault, printed {local_time(timezone.now())}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for key, value in _header_rows(report):
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(32, 5, _latin1(key))
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    _section(pdf, "Destinations")
    for place in report.places:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(32, 5, _latin1(place.label))
        pdf.set_font("Helvetica", size=9)
        lines = [
            f"Card folder: {place.card_folder}",
            f"ASC MHL: {place.mhl_folder}/" + (f"{place.mhl_generation}" if place.mhl_generation else ""),
            f"{place.state}" + (f", {place.verified} read back and matched" if place.verified else ""),
        ]
        pdf.multi_cell(0, 5, _latin1("\n".join(lines)), new_x="LMARGIN", new_y="NEXT")
    if report.failures:
        _section(pdf, "Failures")
        pdf.set_font("Helvetica", size=8)
        for failure in report.failures:
            pdf.multi_cell(0, 4, _latin1(f"- {failure}"), new_x="LMARGIN", new_y="NEXT")
    if report.clips:
        _pdf_clips(pdf, report.clips)
    if pdf.get_y() + 24 > pdf.h - pdf.b_margin:
        pdf.add_page()  # never the heading of the file table alone at the foot of a page
    _section(pdf, f"Files ({len(report.files)})")
    widths = {"xxh128": 52.0, "md5": 52.0, "sha1": 64.0}
    hash_w = sum(widths[a] for a in report.algorithms)
    dest_w = 22.0
    shown = report.destinations[:3]
    path_w = max(40.0, pdf.epw - 18 - hash_w - dest_w * len(shown))
    columns = [("File", path_w), ("Size", 18.0)]
    columns += [(HASH_NAMES[a], widths[a]) for a in report.algorithms]
    columns += [(d[:12], dest_w) for d in shown]

    def header() -> None:
        pdf.set_font("Helvetica", "B", 8)
        for title, width in columns:
            pdf.cell(width, 5, _latin1(title), border=1)
        pdf.ln()
        pdf.set_font("Courier", size=6.5)

    header()
    chars = int(path_w / 1.4)
    for f in report.files:
        if pdf.get_y() + 4 > pdf.h - pdf.b_margin:
            pdf.add_page()
            header()  # again on every page
        path = f.path if len(f.path) <= chars else "..." + f.path[-(chars - 3) :]
        cells = [path, f.size_text, *f.hashes.values(), *(f.copies.get(d, "") for d in shown)]
        for (_, width), text in zip(columns, cells, strict=True):
            pdf.cell(width, 4, _latin1(text), border=1)
        pdf.ln()
    return bytes(pdf.output())
