"""Small files of every format the library reads, written by the tests, each holding the kind of
text that used to be lost: broken codes at line ends, parts of Word files beyond the body,
slides, sheets, encodings, pictures of text."""

from __future__ import annotations

import zipfile
from pathlib import Path

# --- PDF -------------------------------------------------------------------------------------------


def write_lines_pdf(path: Path, pages: list[list[str]], fontsize: float = 11) -> Path:
    """Each page's lines set one under the other, exactly as given (no reflow)."""
    import pymupdf

    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=595, height=842)
        for number, line in enumerate(lines):
            page.insert_text((72, 90 + number * 16), line, fontsize=fontsize)
    doc.save(path)
    doc.close()
    return path


def write_outlines_pdf(path: Path) -> Path:
    """A page of letters drawn as vector paths (as a "print to PDF, text as curves" gives):
    many small shapes, no text layer, no picture."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    shape = page.new_shape()
    for row in range(6):
        for column in range(8):
            x, y = 72 + column * 40, 100 + row * 30
            shape.draw_bezier((x, y), (x + 10, y - 12), (x + 20, y + 12), (x + 28, y))
    shape.finish(color=(0, 0, 0), width=1.2)
    shape.commit()
    doc.save(path)
    doc.close()
    return path


def write_truncated_pdf(path: Path, pages: int = 20, keep: float = 0.3) -> Path:
    """A PDF whose download stopped part way: its page tree survives, most pages' content not."""
    import pymupdf

    doc = pymupdf.open()
    for number in range(pages):
        doc.new_page().insert_text((72, 72), f"Page {number + 1} describes valve {number}.")
    doc.save(path)
    doc.close()
    data = path.read_bytes()
    # Cut after a whole object, as a download that stopped between two packets may.
    cut = data.rfind(b"endobj", 0, int(len(data) * keep)) + len(b"endobj\n")
    path.write_bytes(data[:cut])
    return path


def text_image(lines: list[str], fontsize: float = 28):
    """A PyMuPDF Pixmap of black text on white, like a scanned page (no text layer)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=700, height=120 + 60 * len(lines))
    for number, line in enumerate(lines):
        page.insert_text((40, 80 + number * 60), line, fontsize=fontsize)
    pixmap = page.get_pixmap(dpi=110, alpha=False)
    doc.close()
    return pixmap


def write_text_png(path: Path, lines: list[str]) -> Path:
    text_image(lines).save(str(path))
    return path


def write_scanned_pdf(path: Path, first_page_text: str, scanned_lines: list[str]) -> Path:
    """Page 1 has a text layer; page 2 is only a picture of `scanned_lines`."""
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), first_page_text)
    page = doc.new_page()
    pixmap = text_image(scanned_lines)
    page.insert_image(
        pymupdf.Rect(36, 72, 559, 72 + 523 * pixmap.height / pixmap.width), pixmap=pixmap
    )
    doc.save(path)
    doc.close()
    return path


# --- Word ------------------------------------------------------------------------------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS = (
    f'xmlns:w="{_W}" xmlns:r="{_R}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" mc:Ignorable="wps"'
)


def _p(text: str, style: str | None = None) -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{properties}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


# Every place a Word file keeps text, in the order a reader meets it; each holds one marker.
RICH_DOCX_MARKERS = [
    "Body paragraph about the pump room.",
    "Link to the wiring diagram",
    "Control value: blue valve",
    "Outer cell text",
    "Nested cell holds torque 45 Nm",
    "Inserted sentence about filter FX-200.",
    "Text box note: check the drain weekly.",
    "Footnote says the seal is rubber.",
    "Endnote mentions supplier Brandt.",
    "Header shows plant Lindau.",
    "Footer shows revision R7.",
    "Comment (Ines): confirm the torque value.",
]
RICH_DOCX_DELETED = "Deleted sentence about the old filter."


def write_rich_docx(path: Path) -> Path:
    """A Word file with text in every part python-docx's paragraph list does not show."""
    body = (
        _p("Pump room", "Heading1")
        + _p("Body paragraph about the pump room.")
        + '<w:p><w:hyperlink r:id="rIdLink"><w:r><w:t>Link to the wiring diagram</w:t></w:r>'
        "</w:hyperlink></w:p>"
        + '<w:sdt><w:sdtPr><w:alias w:val="Valve"/></w:sdtPr><w:sdtContent>'
        + _p("Control value: blue valve")
        + "</w:sdtContent></w:sdt>"
        + "<w:tbl><w:tr><w:tc>"
        + _p("Outer cell text")
        + "<w:tbl><w:tr><w:tc>"
        + _p("Nested cell holds torque 45 Nm")
        + "</w:tc></w:tr></w:tbl><w:p/></w:tc></w:tr></w:tbl>"
        + '<w:p><w:ins w:id="1" w:author="Ines"><w:r><w:t>Inserted sentence about filter FX-200.'
        "</w:t></w:r></w:ins>"
        f'<w:del w:id="2" w:author="Ines"><w:r><w:delText>{RICH_DOCX_DELETED}</w:delText>'
        "</w:r></w:del></w:p>"
        + '<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp>'
        "<wps:txbx><w:txbxContent>"
        + _p("Text box note: check the drain weekly.")
        + "</w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice><mc:Fallback><w:pict>"
        "<v:shape><v:textbox><w:txbxContent>"
        + _p("Text box note: check the drain weekly.")
        + "</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent>"
        "</w:r></w:p>"
        + '<w:p><w:r><w:t>See note</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r>'
        '<w:commentRangeStart w:id="0"/><w:r><w:t xml:space="preserve"> and end note</w:t></w:r>'
        '<w:commentRangeEnd w:id="0"/><w:r><w:endnoteReference w:id="1"/></w:r></w:p>'
        + '<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/>'
        '<w:footerReference w:type="default" r:id="rIdFooter"/></w:sectPr>'
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>'
            '<Override PartName="/word/endnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml"/>'
            '<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
            '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
            '<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/>'
            "</Relationships>"
        ),
        "word/_rels/document.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rIdFoot" Type="{_REL}/footnotes" Target="footnotes.xml"/>'
            f'<Relationship Id="rIdEnd" Type="{_REL}/endnotes" Target="endnotes.xml"/>'
            f'<Relationship Id="rIdHeader" Type="{_REL}/header" Target="header1.xml"/>'
            f'<Relationship Id="rIdFooter" Type="{_REL}/footer" Target="footer1.xml"/>'
            f'<Relationship Id="rIdComments" Type="{_REL}/comments" Target="comments.xml"/>'
            f'<Relationship Id="rIdLink" Type="{_REL}/hyperlink" Target="https://example.org/" '
            'TargetMode="External"/>'
            "</Relationships>"
        ),
        "word/document.xml": f"<w:document {_NS}><w:body>{body}</w:body></w:document>",
        "word/footnotes.xml": (
            f'<w:footnotes {_NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r>'
            '<w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1">'
            + _p("Footnote says the seal is rubber.")
            + "</w:footnote></w:footnotes>"
        ),
        "word/endnotes.xml": (
            f'<w:endnotes {_NS}><w:endnote w:id="1">'
            + _p("Endnote mentions supplier Brandt.")
            + "</w:endnote></w:endnotes>"
        ),
        "word/header1.xml": f"<w:hdr {_NS}>" + _p("Header shows plant Lindau.") + "</w:hdr>",
        "word/footer1.xml": f"<w:ftr {_NS}>" + _p("Footer shows revision R7.") + "</w:ftr>",
        "word/comments.xml": (
            f'<w:comments {_NS}><w:comment w:id="0" w:author="Ines">'
            + _p("confirm the torque value.")
            + "</w:comment></w:comments>"
        ),
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    return path


# --- OpenDocument, PowerPoint, spreadsheets ------------------------------------------------------


def write_odt(path: Path) -> Path:
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}" '
        f'xmlns:text="{text}" xmlns:table="{table}" office:version="1.3"><office:body>'
        "<office:text>"
        '<text:h text:outline-level="1">Boiler service</text:h>'
        '<text:p>Bleed the radiators<text:s/>before winter.<text:note text:note-class="footnote">'
        "<text:note-citation>1</text:note-citation><text:note-body><text:p>Use key type K3."
        "</text:p></text:note-body></text:note></text:p>"
        "<table:table><table:table-row><table:table-cell><text:p>Pressure</text:p>"
        "</table:table-cell><table:table-cell><text:p>1.5 bar</text:p></table:table-cell>"
        "</table:table-row></table:table>"
        "<text:list><text:list-item><text:p>Check the flue yearly.</text:p></text:list-item>"
        "</text:list>"
        "</office:text></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
    return path


def write_pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[1])
    first.shapes.title.text = "Quarterly review"
    first.placeholders[1].text = "Revenue grew in the northern region."
    second = presentation.slides.add_slide(presentation.slide_layouts[5])
    second.shapes.title.text = "Spare parts"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    table.cell(0, 0).text = "Gasket"
    table.cell(0, 1).text = "part GX-17"
    table.cell(1, 0).text = "Impeller"
    table.cell(1, 1).text = "part IM-4"
    second.notes_slide.notes_text_frame.text = "Order impellers before March."
    presentation.save(path)
    return path


def write_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    first.title = "Budget"
    first.append(["Item", "Cost"])
    for number in range(2, 30):
        first.append([f"line item {number}", number * 10])
    first.append(["Heat exchanger overhaul", 4200])
    second = workbook.create_sheet("Staff")
    second.append(["Name", "Role"])
    second.append(["Marta", "shift lead for the cooling tower"])
    workbook.save(path)
    return path


def cite_deck_and_sheet(folder: Path, embedder) -> list:
    """Hits from a real slide deck and workbook indexed in `folder`: one citing slide 2 of the
    deck, one the Staff sheet's rows 1-2 of the workbook (in that order)."""
    from engine.library import Library

    deck, sheet = write_pptx(folder / "review.pptx"), write_xlsx(folder / "plant.xlsx")
    library = Library.open(folder / "libraries", "places", embedder=embedder)
    try:
        library.index([deck, sheet])
        hits = library.search("Gasket GX-17", k=1, files=[deck])
        hits += library.search("Marta shift lead cooling tower", k=1, files=[sheet])
    finally:
        library.close()
    return hits
