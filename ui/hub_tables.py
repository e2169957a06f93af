"""The two tables of the "Get models" view: repositories found on the Hub, and one repository's
GGUF models with the verdict on this machine. Everything the Hub sent is shown escaped, on one
line (`engine.display`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from engine.display import display_text
from ui.format import count, plain_tip, size
from ui.records_model import RecordsModel

Index = QModelIndex | QPersistentModelIndex
KEY_ROLE = Qt.ItemDataRole.UserRole
# The accent, see through: readable on the light and the dark table alike.
RECOMMENDED_TINT = QColor(194, 65, 12, 46)
DOES_NOT_FIT = QColor("#b42318")


@dataclass(frozen=True)
class RepoRow:
    """One search result.

    Attributes:
        updated: The date of the last change, "YYYY-MM-DD" ("" when unknown).
        chat_template: True, False, or None when the Hub did not say.
    """

    repo_id: str
    author: str = ""
    downloads: int = 0
    likes: int = 0
    updated: str = ""
    license: str = ""
    chat_template: bool | None = None
    gated: bool = False

    def cells(self) -> tuple[str, ...]:
        template = {True: "yes", False: "no", None: "–"}[self.chat_template]
        return (
            display_text(self.repo_id) + ("  (gated)" if self.gated else ""),
            display_text(self.author) or "–",
            count(self.downloads),
            count(self.likes),
            self.updated or "–",
            display_text(self.license) or "unknown",
            template,
        )


REPO_COLUMNS = ("Model", "Author", "Downloads", "Likes", "Updated", "Licence", "Chat template")
REPO_TIPS = (
    "The repository on the Hub (owner/name)",
    "",
    "Downloads in the last month",
    "",
    "Date of the last change",
    "The licence its model card names",
    "Whether its GGUF files carry a chat template (needed for chatting)",
)


@dataclass(frozen=True)
class FileRow:
    """One GGUF model of a repository (a split model is one row) and where it would run here.

    Attributes:
        key: What identifies it to the controller (its file name, or a split model's first part).
        parts: How many files it is made of.
        verdict: "fits fully on the GPU", "fits in RAM", "does not fit: needs X GB, Y GB free"...
        placement: "gpu", "partial", "ram" or "none".
        by_size: The verdict is an estimate from the file size alone (no header was read).
        detail: The tooltip: notes behind the verdict.
        complete: False when the Hub lacks some parts of a split model.
        downloaded: It is already in this computer's models (downloaded before).
    """

    key: str
    name: str
    quant: str = ""
    size: int = 0
    parts: int = 1
    verdict: str = ""
    placement: str = ""
    by_size: bool = False
    recommended: bool = False
    detail: str = ""
    complete: bool = True
    downloaded: bool = False

    def cells(self) -> tuple[str, ...]:
        parts = f"{self.parts} parts" if self.parts > 1 else "1 file"
        if not self.complete:
            parts += ", some missing"
        verdict = f"in your models · {self.verdict}" if self.downloaded else self.verdict
        return (
            ("★ " if self.recommended else "") + display_text(self.name),
            self.quant or "–",
            size(self.size) if self.size else "–",
            parts,
            verdict,
        )


FILE_COLUMNS = ("File", "Quantization", "Size", "Parts", "On this machine")
FILE_TIPS = (
    "★ marks the recommended file: the best quality that fits with room to spare",
    "How the weights are stored; Q4_K_M is a good balance, Q8_0 near the original",
    "",
    "Split models are downloaded and loaded as one",
    "Where it would run at the window and K/V cache type chosen above",
)


class RepoModel(RecordsModel[RepoRow]):
    """The search results."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(REPO_COLUMNS, REPO_TIPS, parent)

    def row_of(self, repo_id: str) -> int:
        return next((i for i, row in enumerate(self._rows) if row.repo_id == repo_id), -1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        text = row.cells()[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return text
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == 0 and row.gated:
                return plain_tip(
                    f"{text}\nGated: accept its conditions on the Hub and add an access token."
                )
            if index.column() in (2, 3):
                value = row.downloads if index.column() == 2 else row.likes
                return f"{value:,}"
            return text
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == KEY_ROLE:
            return row.repo_id
        return None


class FileModel(RecordsModel[FileRow]):
    """One repository's models; the recommended one is tinted and starred."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(FILE_COLUMNS, FILE_TIPS, parent)

    def row_of(self, key: str) -> int:
        return next((i for i, row in enumerate(self._rows) if row.key == key), -1)

    def recommended_row(self) -> int:
        return next((i for i, row in enumerate(self._rows) if row.recommended), -1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        text = row.cells()[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return text.removeprefix("★ ") + (" (recommended)" if row.recommended and
                                              index.column() == 0 else "")  # fmt: skip
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == len(FILE_COLUMNS) - 1 and row.detail:  # all of it, and why
                return plain_tip(f"{text}\n{row.detail}")
            if index.column() == 0 and row.recommended:
                return plain_tip(
                    f"{text}\nRecommended: the best quality that fits here with room to spare."
                )
            return text
        if role == Qt.ItemDataRole.BackgroundRole and row.recommended:
            return RECOMMENDED_TINT
        if role == Qt.ItemDataRole.FontRole and row.recommended:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == len(FILE_COLUMNS) - 1:
            return DOES_NOT_FIT if row.placement == "none" else None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == KEY_ROLE:
            return row.key
        return None
