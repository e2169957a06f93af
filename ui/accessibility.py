"""Screen-reader support shared by the widgets: announcements and the names of controls.

Qt passes accessible names, descriptions and events to the platform's accessibility layer
(AT-SPI on Linux, UI Automation on Windows, NSAccessibility on macOS). Widgets set their names
where they are built; this module holds what several of them use.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

# Controls a person operates: each needs a name a screen reader can say.
INTERACTIVE = (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
)


class Announcer(QObject):
    """Says short messages through the screen reader without moving the focus.

    `announced(text)` is emitted for every message, also when no screen reader is running
    (tests listen to it).
    """

    announced = Signal(str)

    def announce(self, widget: QWidget, text: str, assertive: bool = False) -> None:
        """Ask the screen reader to read `text`, as from `widget` (a polite request waits for
        what it is reading now; an assertive one interrupts it)."""
        event = QAccessibleAnnouncementEvent(widget, text)
        politeness = QAccessible.AnnouncementPoliteness
        event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
        QAccessible.updateAccessibility(event)
        self.announced.emit(text)


def ring_on_focus(widget: QWidget) -> None:
    """Show the theme's focus ring around `widget`, a view without a frame of its own (the
    chat, a message's text, a page): Qt's style draws no focus mark on those."""
    widget.setProperty("focusRing", True)


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader says for `widget`: its own, or what Qt derives (a button's text,
    a label's buddy)."""
    interface = QAccessible.queryAccessibleInterface(widget)
    if interface is None:
        return widget.accessibleName()
    return interface.text(QAccessible.Text.Name).strip()


def controls(root: QWidget) -> list[QWidget]:
    """The interactive controls of `root`'s window a person can reach: shown (or shown once
    `root` is), and not parts Qt builds inside another control."""
    return [
        widget
        for widget in (root, *root.findChildren(QWidget))
        if isinstance(widget, INTERACTIVE)
        and (widget is root or widget.isVisibleTo(root))
        and not is_internal(widget)
    ]


def unnamed_controls(root: QWidget) -> list[QWidget]:
    """The controls of `root` (see `controls`) that a screen reader cannot name."""
    return [widget for widget in controls(root) if not accessible_name(widget)]


def is_internal(widget: QWidget) -> bool:
    """Parts Qt builds inside other controls (a spin box's line edit, a scroll area's bars, a
    line edit's clear button, a table's headers, a combo box's list): the outer control carries
    the name and takes the focus."""
    parent = widget.parentWidget()
    if isinstance(parent, (QAbstractSpinBox, QComboBox, QLineEdit, QAbstractItemView)):
        return True
    if parent is not None and parent.metaObject().className() == "QComboBoxPrivateContainer":
        return True
    return widget.objectName().startswith("qt_") or (
        parent is not None and parent.objectName().startswith("qt_")
    )
