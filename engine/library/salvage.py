"""Open a document with PyMuPDF, reading what is left of a PDF that is cut short or damaged.

MuPDF repairs most damaged PDFs itself. Three faults of a cut-short file are beyond its repair,
and each would lose the whole file although many of its pages are still there:
- the file ends inside an object: MuPDF gives up; read up to the last whole object instead;
- its page list counts more pages than the file has objects left: MuPDF takes the count for
  nonsense; placeholder objects let the list be read, the lost pages then read as empty;
- its page list itself is lost (many writers store it at the end of the file): the pages are
  those found in the file, in the order they are stored.
The indexer and the page viewer open files through here, so a page number means the same page
in both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The most pages a page list may claim before placeholders are made for its lost pages: more
# is a damaged count, not a document.
MAX_PLACEHOLDER_PAGES = 100_000
# A PDF's "%PDF-" marker must start within this many bytes (as readers allow).
PDF_MARKER_WITHIN = 1024


class PagesUnreadable(Exception):
    """The document opened, but its pages cannot be counted, even with the mending above."""


@dataclass
class OpenedDocument:
    """A PyMuPDF document and what it took to read it.

    Attributes:
        doc: The PyMuPDF document (close it when done).
        repaired: The file is damaged or cut short: MuPDF or this module mended it to read it.
        pages_found: The file's list of pages was lost: `doc`'s pages are those found in the
            file, and how many it had is unknown.
    """

    doc: Any
    repaired: bool = False
    pages_found: bool = False


def open_salvaged(path: Path) -> OpenedDocument:
    """Open `path` with PyMuPDF; a PDF that is cut short or damaged gives what can be read of it.

    Returns:
        The opened document. Its `page_count` can be read without an error, unless it needs a
        password.

    Raises:
        PagesUnreadable: It opened, but its pages cannot be counted.
        Exception: PyMuPDF's own error (it raises several types) for a file it cannot open.
    """
    import pymupdf

    try:
        doc = pymupdf.open(path)
    except Exception:
        doc = _open_whole_objects(path)
        if doc is None:
            raise
        return _with_pages(OpenedDocument(doc, repaired=True))
    return _with_pages(OpenedDocument(doc, repaired=bool(getattr(doc, "is_repaired", False))))


def _open_whole_objects(path: Path) -> Any:
    """The PDF at `path` read up to the end of its last whole object, or None when it is not a
    PDF or even that cannot be opened."""
    import pymupdf

    try:
        with path.open("rb") as handle:
            if b"%PDF-" not in handle.read(PDF_MARKER_WITHIN):
                return None
            handle.seek(0)
            data = bytearray(handle.read())
    except OSError:
        return None
    end = data.rfind(b"endobj")
    if end < 0:
        return None
    del data[end + len(b"endobj") :]
    data += b"\n"
    try:
        doc = pymupdf.open(str(path), stream=data, filetype="pdf")
    except Exception:
        return None
    log.info("%s ends inside an object; read up to its last whole one", path)
    return doc


def _with_pages(opened: OpenedDocument) -> OpenedDocument:
    """`opened` with a page list MuPDF can count: mended where the file lost part of it."""
    doc = opened.doc
    if doc.needs_pass:  # nothing to count before the password
        return opened
    try:
        count = doc.page_count
    except Exception as exc:
        if not (doc.is_pdf and _add_placeholders(doc)):
            doc.close()
            raise PagesUnreadable("its pages cannot be read") from exc
        opened.repaired = True
        try:
            count = doc.page_count
        except Exception as again:
            doc.close()
            raise PagesUnreadable("its pages cannot be read") from again
    if count == 0 and doc.is_pdf and opened.repaired:
        try:
            opened.pages_found = _rebuild_page_list(doc)
        except Exception:  # left with no pages: the caller says so
            log.info("the lost page list could not be rebuilt", exc_info=True)
    return opened


def _add_placeholders(doc: Any) -> bool:
    """Let MuPDF read a page list that counts more pages than the file has objects: add empty
    objects until it has enough. Returns False when the count is not what stood in the way."""
    try:
        kind, value = doc.xref_get_key(-1, "Root/Pages/Count")
        claimed, objects = int(value), doc.xref_length()
    except Exception:
        return False
    if kind != "int" or not objects <= claimed <= MAX_PLACEHOLDER_PAGES:
        return False
    for _ in range(claimed - objects + 1):
        doc.update_object(doc.get_new_xref(), "null")
    log.info("page list counts %d pages, %d objects are left; placeholders added", claimed, objects)
    return True


def _rebuild_page_list(doc: Any) -> bool:
    """Give a PDF whose page list was lost a new one, of the pages found in it in the order
    they are stored. Returns False when no page is found."""
    pages = []
    for xref in range(1, doc.xref_length()):
        try:
            if doc.xref_get_key(xref, "Type") == ("name", "/Page"):
                pages.append(xref)
        except Exception:  # an object the repair could not read
            continue
    if not pages:
        return False
    tree = doc.get_new_xref()
    kids = " ".join(f"{xref} 0 R" for xref in pages)
    doc.update_object(tree, f"<</Type/Pages/Count {len(pages)}/Kids[{kids}]>>")
    for xref in pages:
        doc.xref_set_key(xref, "Parent", f"{tree} 0 R")
    catalog = doc.pdf_catalog()
    if catalog > 0:
        doc.xref_set_key(catalog, "Pages", f"{tree} 0 R")
    else:
        catalog = doc.get_new_xref()
        doc.update_object(catalog, f"<</Type/Catalog/Pages {tree} 0 R>>")
        doc.xref_set_key(-1, "Root", f"{catalog} 0 R")
    log.info("page list lost; rebuilt from the %d pages found", len(pages))
    return True
