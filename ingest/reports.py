"""Transfer reports of an offload: one structure, rendered as HTML (template), CSV and PDF."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF

from ingest import selectors
from ingest.models import OffloadJob


@dataclass(frozen=True)
class ReportFile:
    path: str
    size: int
    xxh128: str
    md5: str
    sha1: str
    copies: dict[str, str]  # destination label -> copy state


@dataclass(frozen=True)
class TransferReport:
    job: OffloadJob
    destinations: list[str]
    files: list[ReportFile]
    failures: list[str]
    run_by: str

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def transfer_report(*, job: OffloadJob) -> TransferReport:
    destinations = sorted(v.label for v in job.destinations.all())
    files = [
        ReportFile(
            path=media_file.relative_path,
            size=media_file.size,
            xxh128=media_file.xxh128,
            md5=media_file.md5,
            sha1=media_file.sha1,
            copies={
                c.volume.label: c.state for c in media_file.copies.all() if c.volume.label in destinations
            },
        )
        for media_file in selectors.offload_files(job=job)
    ]
    failures = list(job.summary.get("not_safe_reasons", []))
    failures += [f"{p['path']}: {p['message']}" for p in selectors.offload_mhl_notes(job=job)]
    if job.error:
        failures.insert(0, job.error)
    run_by = job.created_by.get_username() if job.created_by else "command line"
    return TransferReport(job=job, destinations=destinations, files=files, failures=failures, run_by=run_by)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _header_rows(report: TransferReport) -> list[tuple[str, str]]:
    job = report.job
    return [
        ("Project", job.project.code),
        ("Card", job.label),
        ("Source", job.source_path),
        ("Host", job.host),
        ("Run by", report.run_by),
        ("Started", _when(job.started_at)),
        ("Finished", _when(job.finished_at)),
        ("State", job.state),
        ("Safe to format", "YES" if job.safe_to_format else "NO"),
        ("Files", str(len(report.files))),
        ("Bytes", str(report.total_bytes)),
        ("Seconds", f"{job.seconds:.1f}"),
        ("MB/s", f"{job.summary.get('mb_per_second', 0)}"),
        ("Hashes", ", ".join(job.algorithms)),
        ("Destinations", ", ".join(report.destinations)),
    ]


def transfer_report_csv(report: TransferReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for key, value in _header_rows(report):
        writer.writerow([f"# {key}", value])
    for failure in report.failures:
        writer.writerow(["# Failure", failure])
    writer.writerow(["path", "size", "xxh128", "md5", "sha1", *report.destinations])
    for f in report.files:
        writer.writerow(
            [f.path, f.size, f.xxh128, f.md5, f.sha1, *(f.copies.get(d, "") for d in report.destinations)]
        )
    return out.getvalue()


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1; anything else is shown as '?', never dropped silently.
    return text.encode("latin-1", "replace").decode("latin-1")


def transfer_report_pdf(report: TransferReport) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0, 10, _latin1(f"Reelvault transfer report - card {report.job.label}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=9)
    for key, value in _header_rows(report):
        pdf.cell(35, 5, _latin1(key))
        pdf.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    if report.failures:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, "Failures", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)
        for failure in report.failures:
            pdf.multi_cell(0, 4, _latin1(f"- {failure}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    columns = [("Path", 110), ("Size", 22), ("XXH128", 62)] + [(d[:14], 28) for d in report.destinations[:3]]
    pdf.set_font("Helvetica", "B", 8)
    for title, width in columns:
        pdf.cell(width, 5, _latin1(title), border=1)
    pdf.ln()
    pdf.set_font("Courier", size=7)
    for f in report.files:
        cells = [f.path[-70:], str(f.size), f.xxh128] + [f.copies.get(d, "") for d in report.destinations[:3]]
        for (_, width), text in zip(columns, cells, strict=True):
            pdf.cell(width, 4, _latin1(text), border=1)
        pdf.ln()
    return bytes(pdf.output())
