"""Printable label sheets: identifier, project, kind and a QR code that opens the volume's page.

Pure I/O, no Django. The QR code is drawn as vector squares (no bitmap), so it
stays sharp on any printer. Sheet geometry follows the manufacturers' templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import qrcode  # type: ignore[import-untyped]  # qrcode 8.2 ships no type information
from fpdf import FPDF


@dataclass(frozen=True)
class Sheet:
    """A sticker sheet: page size, label size, margins and pitch, in millimetres."""

    name: str
    page: tuple[float, float]
    columns: int
    rows: int
    width: float
    height: float
    left: float
    top: float
    pitch_x: float
    pitch_y: float


SHEETS = {
    # Avery L7160: A4, 21 labels of 63.5 x 38.1 mm.
    "L7160": Sheet("Avery L7160 (A4, 21 up)", (210, 297), 3, 7, 63.5, 38.1, 7.25, 15.15, 66.04, 38.1),
    # Avery L7163: A4, 14 labels of 99.1 x 38.1 mm.
    "L7163": Sheet("Avery L7163 (A4, 14 up)", (210, 297), 2, 7, 99.1, 38.1, 4.65, 15.15, 101.6, 38.1),
    # Avery 5160: US Letter, 30 labels of 66.7 x 25.4 mm.
    "5160": Sheet("Avery 5160 (Letter, 30 up)", (215.9, 279.4), 3, 10, 66.7, 25.4, 4.8, 12.7, 69.85, 25.4),
}


@dataclass(frozen=True)
class Label:
    identifier: str
    project: str
    kind: str
    url: str
    detail: str = ""


def _latin1(text: str) -> str:
    # The built-in PDF fonts cover Latin-1 only.
    return text.encode("latin-1", "replace").decode("latin-1")


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(matrix):
        for column, dark in enumerate(line):
            if dark:
                pdf.rect(x + column * module, y + row * module, module, module, style="F")


def labels_pdf(labels: Sequence[Label], *, sheet: str = "L7160", skip: int = 0) -> bytes:
    """A PDF of label sheets; ``skip`` leaves the first N positions empty (a partly used sheet).

    Raises:
        KeyError: an unknown sheet name (see SHEETS).
    """
    geometry = SHEETS[sheet]
    pdf = FPDF(unit="mm", format=geometry.page)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    per_page = geometry.columns * geometry.rows
    pad = 2.5
    for index, label in enumerate(labels, start=skip):
        position = index % per_page
        if position == 0 or pdf.page == 0:
            pdf.add_page()
        column, row = position % geometry.columns, position // geometry.columns
        x = geometry.left + column * geometry.pitch_x
        y = geometry.top + row * geometry.pitch_y
        qr_size = geometry.height - 2 * pad
        _qr(pdf, label.url, x + pad, y + pad, qr_size)
        text_x = x + pad + qr_size + pad
        text_w = geometry.width - (text_x - x) - pad
        pdf.set_xy(text_x, y + pad)
        identifier = _latin1(label.identifier)
        size = 11.0 if geometry.height > 30 else 9.0
        pdf.set_font("Helvetica", "B", size)
        # The identifier is what people read off the drive: smaller rather than broken in two.
        while size > 6 and pdf.get_string_width(identifier) > text_w - 2 * pdf.c_margin:
            size -= 0.5
            pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(text_w, 5, identifier, new_x="LEFT", new_y="NEXT")
        pdf.set_font("Helvetica", size=7)
        for line in (label.project, label.kind, label.detail):
            if line:
                pdf.multi_cell(text_w, 3.2, _latin1(line), new_x="LEFT", new_y="NEXT", max_line_height=3.2)
    if pdf.page == 0:
        pdf.add_page()
    return bytes(pdf.output())
