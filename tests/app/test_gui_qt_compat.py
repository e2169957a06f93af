"""The PySide6 reference-count defect, shown exactly: when it happens, and that Hearth is safe.

Each check of the defect runs in a fresh interpreter without the guard, counting references
over a few emits (a fresh `True` has only ~150, so many more would abort that interpreter).
When a PySide6 release fixes the defect, `test_emit_takes_a_reference_from_true` fails: then
app/qt_compat.py can go.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QObject, Signal

from app import qt_compat

COUNT = textwrap.dedent(
    """
    import json, sys
    from dataclasses import dataclass
    from PySide6.QtCore import QAbstractListModel, QCoreApplication, QObject, Qt, Signal

    @dataclass(frozen=True)
    class Record:
        error: object = None
        pages: object = None

    class Probe(QObject):
        ping = Signal()
        as_dict = Signal(dict)
        as_object = Signal(object)

    app = QCoreApplication([])
    probe = Probe()
    for signal in (probe.ping, probe.as_dict, probe.as_object):
        signal.connect(lambda *args: None)
    result = {}

    def count(name, emit, n=20):
        true, none = sys.getrefcount(True), sys.getrefcount(None)
        for _ in range(n):
            emit()
        result[name] = [sys.getrefcount(True) - true, sys.getrefcount(None) - none]

    count("ping", lambda: probe.ping.emit())
    count("dict", lambda: probe.as_dict.emit({"error": None, "pages": None}))
    count("object_dict", lambda: probe.as_object.emit({"error": None, "pages": None}))
    count("object_record", lambda: probe.as_object.emit(Record()))

    class Table(QAbstractListModel):
        def rowCount(self, parent=None):
            return 1

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            return "text" if role == Qt.ItemDataRole.DisplayRole else None

    table = Table()
    cell = table.index(0, 0)
    count("model_none", lambda: cell.data(Qt.ItemDataRole.UserRole))
    count("model_text", lambda: cell.data(Qt.ItemDataRole.DisplayRole))
    print(json.dumps(result))
    sys.stdout.flush()
    import os
    os._exit(0)  # True's count is low now: an ordinary exit could abort
    """
)


@pytest.fixture(scope="module")
def counts():
    result = subprocess.run([sys.executable, "-c", COUNT], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {name: tuple(delta) for name, delta in json.loads(result.stdout).items()}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True and None are immortal from 3.12")
def test_emit_takes_a_reference_from_true(counts):
    # Every emit from Python, whatever it carries: twenty emits, twenty references gone.
    assert counts["ping"][0] == -20
    assert counts["object_record"][0] == -20


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True and None are immortal from 3.12")
def test_only_dict_signals_take_references_from_none(counts):
    # Signal(dict) converts to a QVariantMap and back: two None values, forty references gone.
    assert counts["dict"][1] == -40
    # Signal(object) passes the object itself: None is untouched, a dict's or a record's.
    assert counts["object_dict"][1] == 0
    assert counts["object_record"][1] == 0


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True and None are immortal from 3.12")
def test_reading_a_role_a_model_answers_with_none_takes_a_reference_from_none(counts):
    # What the documents table's delegate does at every paint: twenty reads, twenty gone.
    assert counts["model_none"][1] == -20
    assert counts["model_text"][1] == 0


def test_no_signal_in_the_app_or_ui_carries_a_dict_or_a_list():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("app", "ui")
        for path in (root / folder).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"\s*\w+\s*=\s*Signal\([^)]*\b(dict|list)\b", line)
    ]
    assert offenders == []


class Chatty(QObject):
    said = Signal(object)


def test_with_the_guard_many_emits_leave_true_alive():
    assert qt_compat.apply() or sys.version_info >= (3, 12)
    chatty = Chatty()
    received = []
    chatty.said.connect(received.append)
    for number in range(20000):  # far more than True's references in a fresh interpreter
        chatty.said.emit(number)
    assert len(received) == 20000
    assert sys.getrefcount(True) > 1000


def test_with_the_guard_a_busy_documents_table_leaves_none_alive(qtbot):
    from PySide6.QtCore import Qt

    from ui.documents_model import PROGRESS_ROLE, STATUS, DocumentsModel, FileRow

    assert qt_compat.apply() or sys.version_info >= (3, 12)
    model = DocumentsModel()
    for number in range(50):
        model.update_row(FileRow(f"/notes/note{number}.txt", "indexed", chunks=1))
    cells = [model.index(row, STATUS) for row in range(50)]
    for _ in range(400):  # 20,000 reads: several times None's references in a fresh interpreter
        for cell in cells:
            assert cell.data(PROGRESS_ROLE) is None
    assert cells[0].data(Qt.ItemDataRole.DisplayRole)
    assert sys.getrefcount(None) > 1000
