"""A number field that keeps what is typed, so that a form can refuse a wrong number in words.

Qt's spin boxes drop a keystroke that would take them out of their range or their kind of number:
"-4" typed into a field that starts at 0 reads as 4, "4.5" in a whole-number field as 45, and the
last 0 of a number above the maximum is lost. This field takes any number as typed; its arrow
keys, wheel and step buttons stay within its bounds, `in_bounds` tells the form whether the number
may be kept, and the form says why not (engine/settings_schema.py has the words).
"""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QWidget

# What the field holds as typed: whole numbers stay exact far beyond any setting's bounds.
SPAN = 1e15
DECIMALS = 6

Step = QAbstractSpinBox.StepEnabledFlag
Validation = tuple[QValidator.State, str, int]


class NumberBox(QDoubleSpinBox):
    """A number field with bounds that steps keep to, showing each number as briefly as it
    can be written (4, 0.7, 0.025).

    Args:
        low, high: The numbers the field is for.
        step: How far one step goes (1 for a whole number).
        special: A value below `low` that means something else, with the word shown and typed
            for it ((0, "auto")); None for none.
    """

    def __init__(
        self,
        low: float,
        high: float,
        step: float = 1.0,
        special: tuple[float, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.low, self.high, self.special = low, high, special
        self.setDecimals(DECIMALS)
        self.setRange(-SPAN, SPAN)
        self.setSingleStep(step)

    def in_bounds(self) -> bool:
        """Whether the number in the field is its special value or within its bounds."""
        value = self.value()
        return self.is_special(value) or self.low <= value <= self.high

    def is_special(self, value: float) -> bool:
        """Whether `value` is the one shown as a word."""
        return self.special is not None and value == self.special[0]

    def lowest(self) -> float:
        """The lowest value a step reaches: the special value when there is one."""
        return min(self.low, self.special[0]) if self.special is not None else self.low

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt name)
        super().stepBy(steps)
        if self.value() < self.lowest():
            self.setValue(self.lowest())
        elif self.value() > self.high:
            self.setValue(self.high)

    def stepEnabled(self) -> Step:  # noqa: N802 (Qt name)
        if self.isReadOnly():
            return Step.StepNone
        enabled = Step.StepNone
        if self.value() < self.high:
            enabled |= Step.StepUpEnabled
        if self.value() > self.lowest():
            enabled |= Step.StepDownEnabled
        return enabled

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt name)
        if self.special is not None and self.is_special(value):
            return self.special[1]
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        return text.rstrip("0").rstrip(point) if point in text else text

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt name)
        if self.special is not None and text.strip().lower() == self.special[1]:
            return self.special[0]
        return super().valueFromText(text)

    def validate(self, text: str, pos: int) -> Validation:
        if self.special is not None:
            typed = text.strip().lower()
            if typed == self.special[1]:
                return QValidator.State.Acceptable, text, pos
            if typed and self.special[1].startswith(typed):
                return QValidator.State.Intermediate, text, pos
        state, text, pos = super().validate(text, pos)
        return state, text, pos
