"""Light and dark appearance: a palette plus a style sheet from resources/styles, following the system."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_PALETTES = {
    "light": {
        QPalette.ColorRole.Window: "#fafaf9",
        QPalette.ColorRole.WindowText: "#1f2328",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f6f5f2",
        QPalette.ColorRole.Text: "#1f2328",
        QPalette.ColorRole.Button: "#f3f2ef",
        QPalette.ColorRole.ButtonText: "#1f2328",
        QPalette.ColorRole.Highlight: "#c2410c",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#c2410c",
        QPalette.ColorRole.PlaceholderText: "#98a2b3",
        QPalette.ColorRole.ToolTipBase: "#1f2328",
        QPalette.ColorRole.ToolTipText: "#ffffff",
    },
    "dark": {
        QPalette.ColorRole.Window: "#1c1c1f",
        QPalette.ColorRole.WindowText: "#e6e6e3",
        QPalette.ColorRole.Base: "#232326",
        QPalette.ColorRole.AlternateBase: "#29292d",
        QPalette.ColorRole.Text: "#e6e6e3",
        QPalette.ColorRole.Button: "#2a2a2e",
        QPalette.ColorRole.ButtonText: "#e6e6e3",
        QPalette.ColorRole.Highlight: "#ea580c",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#fb923c",
        QPalette.ColorRole.PlaceholderText: "#6b6b70",
        QPalette.ColorRole.ToolTipBase: "#e6e6e3",
        QPalette.ColorRole.ToolTipText: "#1c1c1f",
    },
}


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(choice: str) -> str:
    """'light' or 'dark' for a setting of 'light', 'dark' or 'system'."""
    if choice in ("light", "dark"):
        return choice
    return "dark" if system_prefers_dark() else "light"


def style_sheet(styles: Path, name: str) -> str:
    """The style sheet `name` ("light", "dark") from the folder `styles`; "" when missing."""
    path = Path(styles) / f"{name}.qss"
    return path.read_text("utf-8") if path.is_file() else ""


def apply_theme(app: QApplication, choice: str, styles: Path) -> str:
    """Apply the appearance (a setting: light, dark or system) with the style sheets in
    `styles`, and return which one ('light' or 'dark') was used."""
    name = resolve(choice)
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _PALETTES[name].items():
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    app.setStyleSheet(style_sheet(styles, name))
    app.setProperty("hearthTheme", name)
    return name


def is_dark(app: QCoreApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return app is not None and app.property("hearthTheme") == "dark"
