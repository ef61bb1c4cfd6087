"""The parts of a union document around a briefing's or report's body: letterhead, number, motto, place and date,
document type and summary, recipients, signature — one plain dict (`data["document"]`) drawn by both the HTML
template and the DOCX, plus the DOCX page set-up (A4, margins, fonts, page numbers).

What we follow (Quyết định 933/QĐ-TLĐ of 14/5/2024 on trade-union documents, which builds on Decree 30/2020/NĐ-CP);
where we were unsure, what we assumed:
- The issuing body is written under its direct parent body: parent in upper case, regular; issuing body in upper
  case, bold. The province's federation is under «TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM»; the daily briefing is issued
  by a department of the province's federation (setting `document.issuing_department`, «BAN TUYÊN GIÁO»).
- «Số: …/BC-…» sits under the letterhead; the number itself is left blank for the clerk (`report_number_prefix`).
- The national motto («CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do - Hạnh phúc») is on the right, the
  place and date line in italics under it. (Some union offices put «TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM» there instead;
  we keep the motto as the brief and Decree 30 ask, and the Tổng Liên đoàn in the letterhead.)
- Type «BÁO CÁO» in bold capitals, the summary (trích yếu) in bold below it, centred.
- «Nơi nhận:» bottom left (bold italic, 12 pt; lines 11 pt); signature bottom right: authority (TM./KT.) and position
  in bold capitals, room to sign, name in bold. Blank settings print a dotted line for the clerk.
- A4, margins top/bottom 2 cm, left 3 cm, right 2 cm; Times New Roman 13 (title 14; letterhead and the motto's
  first line 12, as the decree allows 12–13); page number centred in the footer (the brief asked for the footer;
  Decree 30 puts it at the top from page 2 — a setting could switch it if offices ask).
"""
from __future__ import annotations

from datetime import date
from typing import Any

TLD = "TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
BLANK = "……………………"
NUMBER_BLANK = "\u00a0" * 8   # room for the clerk's number («Số:        /BC-…»), kept by HTML and Word alike


def upper(text: str) -> str:
    return (text or "").upper()


def _chain(units: list[dict], code: str | None) -> tuple[dict | None, dict | None]:
    """(the unit, its parent) from the org units' rows."""
    by_code = {u["code"]: u for u in units}
    by_id = {u["id"]: u for u in units}
    unit = by_code.get(code) if code else None
    if unit is None:
        unit = next((u for u in units if u["parent_id"] is None), None)
    parent = by_id.get(unit["parent_id"]) if unit and unit.get("parent_id") else None
    return unit, parent


def header(units: list[dict], settings, *, unit_code: str | None, daily: bool, summary: str,
           signed: date, doc_type: str = "BÁO CÁO") -> dict[str, Any]:
    """The document parts of a briefing (`daily`, issued by the province's department) or of a unit's report."""
    doc = settings.document
    unit, parent = _chain(units, unit_code)
    unit_name = unit["name"] if unit else f"Liên đoàn Lao động tỉnh {settings.province}"
    if daily:   # the province's department, under the province's federation
        parent_body, issuing_body = upper(unit_name), upper(doc.issuing_department)
    else:
        parent_body, issuing_body = (upper(parent["name"]) if parent else TLD), upper(unit_name)
    prefix = doc.report_number_prefix.strip() or "BC"
    report_to = f"Thường trực {unit_name}" if daily else (parent["name"] if parent else "")
    recipients = list(doc.recipients) or (
        ([f"- {report_to} (để báo cáo);"] if report_to else []) + ["- Lưu: VT."])
    place = doc.place or settings.province
    return {
        "parent_body": parent_body, "issuing_body": issuing_body,
        "number": f"Số: {NUMBER_BLANK}/{prefix}",
        "motto": list(MOTTO),
        "place_date": f"{place}, ngày {signed.day:02d} tháng {signed.month:02d} năm {signed.year}",
        "doc_type": doc_type, "summary": summary,
        "recipients": recipients,
        "signer": {"authority": upper(doc.signer_authority), "position": upper(doc.signer_position) or BLANK,
                   "name": doc.signer_name or BLANK},
    }


def legacy(data: dict) -> dict[str, Any]:
    """The document parts of a briefing stored before they were kept in its data (drawn again from what it has)."""
    from service.config import Settings

    settings = Settings()
    settings.province = data.get("province") or settings.province
    day, month, year = (int(x) for x in data.get("signed_on") or ["1", "1", "2000"])
    daily = data.get("type") == "daily"
    summary = (f"Tình hình dư luận xã hội ngày {data.get('day_vn', '')}" if daily
               else f"Tình hình dư luận xã hội và công tác nắm bắt dư luận {data.get('period_label', '')}")
    return header([], settings, unit_code=None, daily=daily, summary=summary, signed=date(year, month, day),
                  doc_type="BÁO CÁO NHANH" if daily else "BÁO CÁO")


# --- DOCX ---------------------------------------------------------------------------------------------------
def setup_docx(doc) -> None:
    """A4, the decree's margins, Times New Roman 13, and the page number centred in every page's footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    for section in doc.sections:
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(2), Cm(2)
        section.left_margin, section.right_margin = Cm(3), Cm(2)
        p = section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run()
        run.font.name, run.font.size = "Times New Roman", Pt(13)
        for tag, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if tag:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), tag)
            else:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = text
            run._r.append(el)
    for name in ("Normal", "Table Grid"):
        if name in [s.name for s in doc.styles]:
            style = doc.styles[name]
            style.font.name = "Times New Roman"
            style.font.size = Pt(13)
            style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "Times New Roman")


def draw_top(doc, head: dict, para) -> None:
    """Letterhead and number (left), motto and place-date (right), then type and summary, centred."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    center = WD_ALIGN_PARAGRAPH.CENTER
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    _widths(table, (6.5, 9.5))   # the motto's line needs the wider column
    _first(left, para, head["parent_body"], size=12, align=center)
    para(head["issuing_body"], bold=True, size=12, align=center, cell=left)
    para(head["number"], size=13, align=center, cell=left)
    _first(right, para, head["motto"][0], bold=True, size=12, align=center)
    para(head["motto"][1], bold=True, size=14, align=center, cell=right)
    para(head["place_date"], italic=True, size=14, align=center, cell=right)
    para()
    para(head["doc_type"], bold=True, size=14, align=center)
    para(head["summary"], bold=True, size=14, align=center)


def draw_bottom(doc, head: dict, para) -> None:
    """«Nơi nhận:» (left) and the signature block (right)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    center = WD_ALIGN_PARAGRAPH.CENTER
    table = doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    _widths(table, (7.5, 8.5))
    _first(left, para, "Nơi nhận:", bold=True, italic=True, size=12)
    for line in head["recipients"]:
        para(line, size=11, cell=left)
    signer = head["signer"]
    if signer["authority"]:
        _first(right, para, signer["authority"], bold=True, size=13, align=center)
        para(signer["position"], bold=True, size=13, align=center, cell=right)
    else:
        _first(right, para, signer["position"], bold=True, size=13, align=center)
    for _ in range(3):
        para("", cell=right)
    para(signer["name"], bold=True, size=13, align=center, cell=right)


def _widths(table, cm: tuple[float, float]) -> None:
    from docx.shared import Cm

    table.autofit = False
    for column, width in zip(table.columns, cm):
        for cell in column.cells:
            cell.width = Cm(width)


def _first(cell, para, text: str, **kw) -> None:
    """Write into a cell's own first (empty) paragraph, so no blank line opens the cell."""
    p = para(text, cell=cell, **kw)
    first = cell.paragraphs[0]
    if first is not p and not first.text:
        first._element.getparent().remove(first._element)
