"""The Benchmark window's results page: the recommendation under a constraint, the table and the
figures, and saving or reopening results."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.display import counted
from ui.bench.plots import BenchPlots
from ui.bench.records import BenchView
from ui.bench.results_model import ResultsModel

RESULT_FILES = "Benchmark results (*.json *.csv);;All files (*)"
CONSTRAINT_DELAY_MS = 400
NAME_SHARE = 0.35  # the least of the table's width the Model column gets


class NameDelegate(QStyledItemDelegate):
    """The Model column: when a name does not fit, its middle goes ("SmolLM2…Instruct-Q8_0"):
    the start says which model, the end which variant; the ◆ of the Pareto front stays in front.
    The whole name is in the tooltip."""

    def initStyleOption(  # noqa: N802 (Qt name)
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        if option.rect.width() <= 0:  # type: ignore[attr-defined]
            return  # asked for the size the whole name needs, not to paint it
        text = option.text  # type: ignore[attr-defined]
        marker = "◆ " if text.startswith("◆ ") else ""
        metrics = option.fontMetrics  # type: ignore[attr-defined]
        style = option.widget.style() if option.widget else None  # type: ignore[attr-defined]
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1 if style else 4
        room = option.rect.width() - 2 * margin - metrics.horizontalAdvance(marker)  # type: ignore[attr-defined]
        name = metrics.elidedText(text[len(marker) :], Qt.TextElideMode.ElideMiddle, max(room, 0))
        option.text = marker + name  # type: ignore[attr-defined]


class ResultsPanel(QWidget):
    """Signals: constraintChanged(text), openRequested(path), saveRequested(path)."""

    constraintChanged = Signal(str)
    openRequested = Signal(str)
    saveRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: BenchView | None = None
        self.results_dir = ""
        self.constraint = QLineEdit()
        self.constraint.setPlaceholderText("e.g. at least 20 tokens/s, under 8 GB")
        self.constraint.setClearButtonEnabled(True)
        self.constraint.setAccessibleName("Constraint")
        self.constraint.setAccessibleDescription(
            "A limit the recommended variant must meet; several separated by commas"
        )
        self.advice = QLabel("Run a benchmark or open saved results.")
        self.advice.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.advice.setWordWrap(True)
        self.advice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.advice.setAccessibleName("Recommendation")
        box = QFrame()
        box.setObjectName("NoticeBar")
        advice_layout = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Recommend under:"))
        row.addWidget(self.constraint, 1)
        advice_layout.addLayout(row)
        advice_layout.addWidget(self.advice)

        self.model = ResultsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Results")
        self.table.setAccessibleDescription("One row per model: medians; hover for min–max")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.names = NameDelegate(self.table)
        self.table.setItemDelegateForColumn(0, self.names)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The names get the room the figures leave, and at least a share of the table, so a
        # narrow window scrolls the figures sideways rather than cutting every name to "Smo…".
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        # The figures' columns size themselves after the rows (or the theme's font) change: the
        # names are fitted again once they have.
        header.sectionResized.connect(
            lambda column, _old, _new: column and QTimer.singleShot(0, self._fit_names)
        )
        self.table.viewport().installEventFilter(self)
        self.plots = BenchPlots()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plots)
        splitter.setSizes([170, 420])

        self.source = QLabel()
        self.source.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.source.setObjectName("Muted")
        self.source.setWordWrap(True)  # long folders wrap rather than being cut off
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open results…")
        self.open_button.setAccessibleDescription("Reopen results saved as JSON or CSV")
        self.save_button = QPushButton("Save as…")
        self.save_button.setAccessibleDescription("Save these results as JSON with a CSV beside it")
        self.save_button.setEnabled(False)
        footer = QHBoxLayout()
        footer.addWidget(self.source, 1)
        footer.addWidget(self.open_button)
        footer.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(splitter, 1)
        layout.addLayout(footer)

        self._constraint_timer = QTimer(self, singleShot=True, interval=CONSTRAINT_DELAY_MS)
        self._constraint_timer.timeout.connect(
            lambda: self.constraintChanged.emit(self.constraint.text())
        )
        self.constraint.textEdited.connect(lambda _text: self._constraint_timer.start())
        self.constraint.returnPressed.connect(self._on_constraint_now)
        self.open_button.clicked.connect(self._on_open)
        self.save_button.clicked.connect(self._on_save)

    def show_view(self, view: BenchView) -> None:
        """Show results: table, figures, recommendation and where they came from."""
        self.view = view
        self.model.show(view)
        self._fit_names()
        self.plots.draw(view)
        self.advice.setText(view.advice)
        self.save_button.setEnabled(True)
        results = view.results
        what = counted(len(results.results), "row")
        if results.started_at:
            what += f", measured {results.started_at.replace('T', ' ')[:16]}"
        if results.cancelled:
            what += ", stopped early: some figures are missing"
        self.source.setText(f"{Path(view.source).name}: {what}" if view.source else what)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_names()
        return super().eventFilter(watched, event)

    def _fit_names(self) -> None:
        """Size the Model column: what the other columns leave, and at least the whole name up to
        NAME_SHARE of the table (a name longer than that loses its middle)."""
        header = self.table.horizontalHeader()
        wanted = max(self.table.sizeHintForColumn(0), header.sectionSizeHint(0))
        room = self.table.viewport().width()
        left = room - sum(header.sectionSize(c) for c in range(1, self.model.columnCount()))
        # Room to spare goes to the names; without it they keep their share and the figures
        # scroll sideways.
        width = left if left >= wanted else max(left, min(wanted, int(room * NAME_SHARE)))
        header.resizeSection(0, max(width, header.minimumSectionSize()))

    def show_saved(self, paths: tuple[str, ...]) -> None:
        """Say where the results were saved: the folder once, then the files' names."""
        folder = Path(paths[0]).parent
        names = " and ".join(Path(p).name for p in paths)
        self.source.setText(f"{self.source.text().split(' · ')[0]} · saved as {names} in {folder}")
        self.source.setToolTip("\n".join(paths))

    def _on_constraint_now(self) -> None:
        self._constraint_timer.stop()
        self.constraintChanged.emit(self.constraint.text())

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open benchmark results", self.results_dir,
                                              RESULT_FILES)  # fmt: skip
        if path:
            self.openRequested.emit(path)

    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save benchmark results", str(Path(self.results_dir) / "benchmark.json"),
            "Benchmark results (*.json)",
        )  # fmt: skip
        if path:
            self.saveRequested.emit(path)
