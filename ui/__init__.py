"""Hearth's Qt widgets and views."""

import app.qt_compat  # noqa: F401  (must run before any widget emits a signal)
