"""A one-line label, and a push button, that end in "…" when their text does not fit, with the
full text as tooltip (the label) and as `text()` (both)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QWidget

from ui.format import plain_tip


class ElidedLabel(QLabel):
    """Args:
    min_chars: Never narrower than about this many characters of its font (0: no minimum),
        so a layout short of room squeezes its neighbours instead of leaving only "…".
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, min_chars: int = 0) -> None:
        super().__init__(parent)
        self._full = ""
        self._min_chars = min_chars
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)  # names and titles, never markup
        self._fit_minimum()
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self._full = text
        self.setToolTip(plain_tip(text))
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # a style sheet's font arrives after __init__
            self._fit_minimum()
            self._elide()

    def _fit_minimum(self) -> None:
        # Set, not hinted: a layout ignores the hints of a widget whose size policy is Ignored.
        if self._min_chars:
            self.setMinimumWidth(self.fontMetrics().averageCharWidth() * self._min_chars)

    def _elide(self) -> None:
        elided = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                               max(10, self.width()))  # fmt: skip
        super().setText(elided)


class ElidedButton(QPushButton):
    """A button that asks for its whole text's width and, given less, shows it cut short.

    Its text may be a name between words that always stay whole (`set_name`): then only the name
    is cut, and left out when not even a few letters of it fit.

    Args:
        mode: Where the text is cut; the middle by default, so a model file's name keeps its
            quantization type.
        min_chars: It shrinks no narrower than about this many characters.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
        min_chars: int = 14,
    ) -> None:
        super().__init__(parent)
        self._parts = ("", "", "")
        self._mode = mode
        self._min_chars = min_chars
        # A push button never shrinks below its size hint by default (policy Minimum).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, self.sizePolicy().verticalPolicy())
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self.set_name(text)

    def set_name(self, name: str, before: str = "", after: str = "") -> None:
        """Show `before`, `name` and `after` in a row; only `name` is ever cut short."""
        self._parts = (before, name, after)
        super().setText(self.text())  # whole until the next resize: the size hint starts from it
        self.updateGeometry()
        self._elide()

    def text(self) -> str:
        return "".join(self._parts)

    def shown_text(self) -> str:
        """The text as drawn (cut short when the button is narrower than it)."""
        return super().text()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        # The whole text's width, whatever part of it is shown now.
        hint = super().sizeHint()
        hint.setWidth(hint.width() + self._width(self.text()) - self._width(self.shown_text()))
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        hint = self.sizeHint()
        spare = self._width(self.text()) - self.fontMetrics().averageCharWidth() * self._min_chars
        hint.setWidth(hint.width() - max(0, spare))
        return hint

    def _width(self, text: str) -> int:
        # As QPushButton measures its text for its own size hint, so that the hint is the same
        # whichever part of the text is shown.
        return self.fontMetrics().size(Qt.TextFlag.TextShowMnemonic, text).width()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        before, name, after = self._parts
        metrics = self.fontMetrics()
        whole = self._width(self.text())
        room = self.width() - (self.sizeHint().width() - whole)  # less the frame and padding
        if whole <= room:  # measured as the size hint measures it: a button at its hint
            super().setText(self.text())  # shows all of it
            return
        room -= self._width(before + after)
        if room >= metrics.averageCharWidth() * 4:
            shown = metrics.elidedText(name, self._mode, room)
        else:
            shown = ""
        if not shown:
            before = before.rstrip()
        super().setText(f"{before}{shown}{after}")
