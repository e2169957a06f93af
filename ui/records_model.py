"""The base of Hearth's tables: a list of frozen records behind a QTableView, one per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Record = TypeVar("Record")
Index = QModelIndex | QPersistentModelIndex


class RecordsModel(QAbstractTableModel, Generic[Record]):
    """Rows of `Record`s under fixed column titles; subclasses say what each cell shows (`data`).

    Args:
        columns: The column titles.
        tips: A tooltip per column header ("" for none).
    """

    def __init__(self, columns: Sequence[str], tips: Sequence[str] = (), parent: Any = None):
        super().__init__(parent)
        self.columns = tuple(columns)
        self.tips = tuple(tips)
        self._rows: list[Record] = []

    def rows(self) -> list[Record]:
        return list(self._rows)

    def set_rows(self, rows: Iterable[Record]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def record(self, index: Index) -> Record:
        return self._rows[index.row()]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # fmt: skip
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        if role == Qt.ItemDataRole.ToolTipRole and section < len(self.tips):
            return self.tips[section] or None
        return None
