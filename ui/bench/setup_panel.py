"""The Benchmark window's first page: which models to compare, variants to make, what to measure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.bench.records import GOOD_SOURCES, VARIANT_TYPES, BenchRequest, VariantCheck, VariantRequest
from ui.format import params, plain_tip, size
from ui.model_picker import ModelRow

PATH_ROLE = Qt.ItemDataRole.UserRole
SAMPLE_TEXT = "Bundled sample: Alice's Adventures in Wonderland, chapters 1–3"


def _named(widget: QWidget, name: str, description: str = "") -> QWidget:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)
    return widget


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("Muted")
    label.setWordWrap(True)
    return label


class SetupPanel(QWidget):
    """Signals: runRequested(BenchRequest), variantsRequested(VariantRequest),
    variantSourceChanged(str path, tuple types) asks for a `VariantCheck`."""

    runRequested = Signal(object)
    variantsRequested = Signal(object)
    variantSourceChanged = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ModelRow] = []
        self._check: VariantCheck | None = None
        self._busy = False
        self.models_dir = ""

        self.models = QListWidget()
        _named(self.models, "Models to measure", "Tick the models and variants to compare")
        self.models.setMinimumHeight(150)
        self.reference = QComboBox()
        _named(self.reference, "Reference model",
               "KL divergence and top-1 agreement are measured against this model")  # fmt: skip
        pick = QGroupBox("Models")
        column = QVBoxLayout(pick)
        column.addWidget(_muted("Tick the models to compare. Variants you make join this list."))
        column.addWidget(self.models, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Reference:"))
        row.addWidget(self.reference, 1)
        column.addLayout(row)

        self.source = QComboBox()
        _named(self.source, "Model to make variants of")
        self.type_boxes = {name: QCheckBox(name) for name in VARIANT_TYPES}
        types = QGridLayout()
        types.setHorizontalSpacing(14)
        for i, box in enumerate(self.type_boxes.values()):
            box.setAccessibleDescription(f"Make a {box.text()} variant")
            types.addWidget(box, i // 4, i % 4)
        self.variant_warning = _muted()
        self.variant_warning.setObjectName("Warning")
        self.variant_warning.setStyleSheet("color: #d97706;")  # amber, readable on both themes
        self.variant_warning.setVisible(False)
        self.disk = _muted()
        self.outcome = QLabel()  # what the last Make variants came to
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)  # outside text, never markup
        self.outcome.setObjectName("Outcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.setAccessibleName("Variants made")
        self.outcome.setVisible(False)
        self.make_button = QPushButton("Make variants")
        _named(self.make_button, "Make variants",
               "Quantize the model into the ticked types with llama.cpp's quantizer; "
               "the variants join your models")  # fmt: skip
        make = QGroupBox("Make variants")
        form = QVBoxLayout(make)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("From:"))
        source_row.addWidget(self.source, 1)
        form.addLayout(source_row)
        form.addLayout(types)
        form.addWidget(self.variant_warning)
        make_row = QHBoxLayout()
        make_row.addWidget(self.disk, 1)
        make_row.addWidget(self.make_button)
        form.addLayout(make_row)
        form.addWidget(self.outcome)

        self.speed = QCheckBox("Speed and memory")
        _named(self.speed, "Speed and memory",
               "Load time, prompt and generation tokens/s, time to first token, peak RAM/VRAM")  # fmt: skip
        self.speed.setChecked(True)
        self.quality = QCheckBox("Quality: perplexity, KL divergence, top-1 agreement")
        _named(self.quality, "Quality",
               "Perplexity on the text, and how far each model's next-token choices are from "
               "the reference's")  # fmt: skip
        self.quality.setChecked(True)
        self.text = QComboBox()
        self.text.addItems([SAMPLE_TEXT, "A text file…"])
        _named(
            self.text, "Text for quality", "The text perplexity and KL divergence are measured on"
        )
        self.text_path = ""
        self.text_file = _muted()
        self.repeats = QSpinBox()
        self.repeats.setRange(1, 20)
        self.repeats.setValue(3)
        _named(self.repeats, "Repetitions",
               "Speed runs per model, interleaved; the table shows the median, the plots min–max")  # fmt: skip
        self.prompt_lengths = QLineEdit("512, 4096")
        _named(self.prompt_lengths, "Prompt lengths",
               "Prompt-processing lengths in tokens, separated by commas")  # fmt: skip
        self.gen_tokens = QSpinBox()
        self.gen_tokens.setRange(2, 4096)
        self.gen_tokens.setValue(64)
        _named(self.gen_tokens, "Generated tokens", "Tokens generated per generation run")
        self.chunks = QSpinBox()
        self.chunks.setRange(0, 1000)
        self.chunks.setValue(8)
        self.chunks.setSpecialValueText("whole text")
        _named(self.chunks, "Quality chunks", "Chunks of the text scored for quality (0: all)")
        self.chunk_tokens = QSpinBox()
        self.chunk_tokens.setRange(16, 8192)
        self.chunk_tokens.setValue(512)
        _named(
            self.chunk_tokens,
            "Tokens per chunk",
            "Tokens per quality chunk (512, as llama-perplexity)",
        )
        for spin in (self.repeats, self.gen_tokens, self.chunks, self.chunk_tokens):
            spin.setMinimumWidth(96)
        self.prompt_lengths.setMinimumWidth(180)
        self.text_file.setVisible(False)
        measure = QGroupBox("Measure")
        grid = QFormLayout(measure)
        grid.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        grid.addRow(self.speed)
        grid.addRow("Repetitions:", self.repeats)
        grid.addRow("Prompt lengths:", self.prompt_lengths)
        grid.addRow("Generated tokens:", self.gen_tokens)
        grid.addRow(self.quality)
        grid.addRow("Text:", self.text)
        grid.addRow("", self.text_file)
        chunk_row = QHBoxLayout()
        chunk_row.addWidget(self.chunks)
        chunk_row.addWidget(QLabel("of"))
        chunk_row.addWidget(self.chunk_tokens)
        chunk_row.addWidget(QLabel("tokens"))
        chunk_row.addStretch(1)
        grid.addRow("Chunks:", chunk_row)

        self.summary = _muted()
        self.run_button = QPushButton("Run benchmark")
        self.run_button.setObjectName("Primary")
        _named(self.run_button, "Run benchmark", "Measure the ticked models")

        left = QVBoxLayout()
        left.addWidget(pick, 1)
        left.addWidget(make)
        right = QVBoxLayout()
        right.addWidget(measure)
        right.addStretch(1)
        right.addWidget(self.summary)
        run_row = QHBoxLayout()
        run_row.addStretch(1)
        run_row.addWidget(self.run_button)
        right.addLayout(run_row)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        self._connect_signals()
        self._update()

    def _connect_signals(self) -> None:
        self.models.itemChanged.connect(self._update)
        self.speed.toggled.connect(self._update)
        self.quality.toggled.connect(self._update)
        self.text.activated.connect(self._on_text_chosen)
        self.run_button.clicked.connect(self._on_run)
        self.make_button.clicked.connect(self._on_make)
        self.source.currentIndexChanged.connect(self._on_variants_changed)
        for box in self.type_boxes.values():
            box.toggled.connect(self._on_variants_changed)

    # -- what the controller sets ------------------------------------------------------------

    def set_models(self, rows: Sequence[ModelRow], tick: Sequence[str] = ()) -> None:
        """List `rows`; keep what was ticked and tick `tick` too (variants just made)."""
        ticked = set(self.checked_models()) | set(tick)
        reference = self.reference.currentData()
        source = self.source.currentData()
        self._rows = [row for row in rows if not row.problem]
        self.models.blockSignals(True)
        self.models.clear()
        self.reference.clear()
        self.reference.addItem("The most precise model", None)
        self.source.blockSignals(True)
        self.source.clear()
        for row in self._rows:
            item = QListWidgetItem(self._describe(row))
            item.setData(PATH_ROLE, row.path)
            item.setToolTip(plain_tip(row.path))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if row.path in ticked else Qt.CheckState.Unchecked
            )
            self.models.addItem(item)
            self.reference.addItem(row.shown_name, row.path)
            self.reference.setItemData(self.reference.count() - 1, plain_tip(row.path),
                                       Qt.ItemDataRole.ToolTipRole)  # fmt: skip
            self.source.addItem(f"{row.shown_name} ({row.file_type})", row.path)
            self.source.setItemData(self.source.count() - 1, plain_tip(row.path),
                                   Qt.ItemDataRole.ToolTipRole)  # fmt: skip
        self.models.blockSignals(False)
        self.reference.setCurrentIndex(max(0, self.reference.findData(reference)))
        self.source.setCurrentIndex(max(0, self.source.findData(source)))
        self.source.blockSignals(False)
        self._on_variants_changed()
        self._update()

    @staticmethod
    def _describe(row: ModelRow) -> str:
        parts = [row.file_type]
        if row.parameters:
            parts.append(f"{params(row.parameters)} parameters")
        if row.file_size:
            parts.append(size(row.file_size))
        return f"{row.shown_name}   —   {' · '.join(p for p in parts if p)}"

    def show_variant_check(self, check: VariantCheck) -> None:
        """Show what the ticked variants need: warnings, disk space needed and free."""
        if check.source != self.source.currentData():
            return  # an answer for a source no longer chosen
        self._check = check
        warnings = [w for w in (self._source_warning(), *check.warnings) if w]
        self.variant_warning.setText("\n".join(warnings))
        self.variant_warning.setVisible(bool(warnings))
        types = self.chosen_types()
        if types:
            enough = check.free_bytes >= check.needed_bytes
            self.disk.setText(
                f"Needs about {size(check.needed_bytes)} in {check.folder}; "
                f"{size(check.free_bytes)} free." + ("" if enough else " Not enough space.")
            )
        else:
            self.disk.setText("Tick the types to make.")
        self._update()

    def set_busy(self, busy: bool) -> None:
        """While a job runs, nothing else can be started; what the last one made is old news."""
        self._busy = busy
        if busy:
            self.outcome.setVisible(False)
        self._update()

    def show_outcome(self, text: str) -> None:
        """Say what making variants came to, beside the button that started it."""
        mark = "✓ " if text.startswith("Made") else ""  # a stop needs no mark: it says so
        self.outcome.setText(mark + text)
        self.outcome.setVisible(True)

    # -- what the person chose ----------------------------------------------------------------

    def checked_models(self) -> list[str]:
        return [
            str(self.models.item(i).data(PATH_ROLE))
            for i in range(self.models.count())
            if self.models.item(i).checkState() == Qt.CheckState.Checked
        ]

    def chosen_types(self) -> tuple[str, ...]:
        return tuple(name for name, box in self.type_boxes.items() if box.isChecked())

    def request(self) -> BenchRequest:
        """The run as set up now.

        Raises:
            ValueError: A prompt length is not a positive whole number; the message says so.
        """
        lengths = []
        for part in self.prompt_lengths.text().replace(";", ",").split(","):
            part = part.strip().lower().replace("_", "")
            if not part:
                continue
            number = part[:-1] if part.endswith("k") else part
            if not number.isdigit() or int(number) < 1:
                raise ValueError(
                    f"Prompt lengths are positive whole numbers of tokens, not '{part}'."
                )
            lengths.append(int(number) * (1024 if part.endswith("k") else 1))
        if self.speed.isChecked() and not lengths:
            raise ValueError("Give at least one prompt length, in tokens.")
        return BenchRequest(
            models=tuple(self.checked_models()),
            reference=self.reference.currentData(),
            speed=self.speed.isChecked(),
            quality=self.quality.isChecked(),
            text_path=self.text_path or None,
            repeats=self.repeats.value(),
            prompt_lengths=tuple(lengths) or (512,),
            gen_tokens=self.gen_tokens.value(),
            chunk_tokens=self.chunk_tokens.value(),
            chunks=self.chunks.value(),
        )

    # -- slots --------------------------------------------------------------------------------

    def _on_run(self) -> None:
        try:
            request = self.request()
        except ValueError as exc:
            self.summary.setText(str(exc))
            return
        self.runRequested.emit(request)

    def _on_make(self) -> None:
        source = self.source.currentData()
        if not source or not self.chosen_types():
            return
        # The requantizing warning shown beside the button is the person's consent (README).
        warned = bool(self._source_warning())
        self.variantsRequested.emit(
            VariantRequest(
                str(source), self.chosen_types(), self.models_dir, allow_requantize=warned
            )
        )

    def _on_text_chosen(self, index: int) -> None:
        if index == 0:
            self.set_text_file("")
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Text for quality", str(Path.home()), "Text files (*.txt *.md);;All files (*)"
        )
        self.set_text_file(path)

    def set_text_file(self, path: str) -> None:
        """Use `path` as the quality text ("" for the bundled sample)."""
        self.text_path = path
        self.text.setCurrentIndex(1 if path else 0)
        self.text_file.setText(path)
        self.text_file.setVisible(bool(path))

    def _on_variants_changed(self, *_args: object) -> None:
        source = self.source.currentData()
        warning = self._source_warning()
        self.variant_warning.setText(warning)
        self.variant_warning.setVisible(bool(warning))
        self._check = None
        self.disk.setText("Tick the types to make." if not self.chosen_types() else "")
        if source:
            self.variantSourceChanged.emit(str(source), self.chosen_types())
        self._update()

    def _source_warning(self) -> str:
        """Said as soon as a source below F16/BF16/Q8_0 is chosen, from the catalog's type (or
        the file's own, once checked). Making variants while it shows goes ahead anyway."""
        source = self.source.currentData()
        row = next((r for r in self._rows if r.path == source), None)
        check = self._check if self._check is not None and self._check.source == source else None
        file_type = check.source_type if check is not None else row.file_type if row else ""
        if row is None or not file_type or file_type in GOOD_SOURCES:
            return ""
        return (
            f"⚠ {Path(row.path).stem} is already {file_type}: variants made from it lose "
            "more quality, which cannot come back. Start from an F16, BF16 or Q8_0 file if you "
            "have one; Make variants goes ahead from this one anyway."
        )

    def _update(self, *_args: object) -> None:
        busy = self._busy
        count = len(self.checked_models())
        measures = self.speed.isChecked() or self.quality.isChecked()
        self.run_button.setEnabled(not busy and count > 0 and measures)
        room = self._check is None or self._check.free_bytes >= self._check.needed_bytes
        self.make_button.setEnabled(not busy and room and bool(self.source.currentData())
                                    and bool(self.chosen_types()))  # fmt: skip
        if not measures:
            self.summary.setText("Choose something to measure.")
        elif count == 0:
            self.summary.setText("Tick at least one model.")
        else:
            self.summary.setText(f"{count} model{'s' if count != 1 else ''} ticked.")
