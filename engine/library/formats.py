"""The file formats the library reads, by suffix: one list for the indexer, the folder walker and
watcher, the page viewer and the window's Add dialog. Cheap to import (no document libraries)."""

from __future__ import annotations

from pathlib import Path

# Laid out as pages by PyMuPDF: cited and shown by page number.
DOCUMENT_SUFFIXES = frozenset({".pdf", ".epub", ".xps", ".oxps", ".cbz", ".fb2", ".mobi"})
# Fixed layouts, whose pages may carry running headers and footers (engine.library.running);
# the others are laid out by PyMuPDF itself, with nothing printed in the margins.
RUNNING_HEADER_SUFFIXES = frozenset({".pdf", ".xps", ".oxps"})
# Pictures, read by OCR as one page each.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
PAGED_SUFFIXES = DOCUMENT_SUFFIXES | IMAGE_SUFFIXES

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".rst", ".log"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
DOCX_SUFFIXES = frozenset({".docx", ".docm"})
ODT_SUFFIXES = frozenset({".odt"})
PPTX_SUFFIXES = frozenset({".pptx"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_SUFFIXES = frozenset({".csv", ".tsv"})
SUPPORTED_SUFFIXES = (
    PAGED_SUFFIXES
    | TEXT_SUFFIXES
    | HTML_SUFFIXES
    | DOCX_SUFFIXES
    | ODT_SUFFIXES
    | PPTX_SUFFIXES
    | XLSX_SUFFIXES
    | CSV_SUFFIXES
)


def is_supported(path: Path) -> bool:
    """Whether the library can read `path`, by its suffix (case-insensitive)."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def is_paged(path: str | Path) -> bool:
    """Whether `path` is laid out as pages (PDF, EPUB, pictures...) rather than read as text."""
    return Path(path).suffix.lower() in PAGED_SUFFIXES


def file_dialog_filter() -> str:
    """A Qt file-dialog name filter for every supported format, then all files."""
    patterns = " ".join(f"*{suffix}" for suffix in sorted(SUPPORTED_SUFFIXES))
    return f"Documents ({patterns});;All files (*)"
