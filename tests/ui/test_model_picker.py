"""The model picker on its own: how a row asks to be loaded."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ui.model_picker import ModelPicker, ModelRow


def test_a_double_click_on_a_row_asks_for_one_load_and_enter_for_one_more(qtbot):
    picker = ModelPicker()
    qtbot.add_widget(picker)
    picker.show()
    picker.set_models([ModelRow("/models/small.gguf", file_size=10**8),
                       ModelRow("srv-1", name="qwen (10.0.0.2:8080)", remote="srv-1")])  # fmt: skip
    loads: list[str] = []
    servers: list[str] = []
    picker.loadRequested.connect(loads.append)
    picker.remoteRequested.connect(servers.append)
    viewport = picker.table.viewport()
    for row in (0, 1):
        centre = picker.table.visualRect(picker.model.index(row, 0)).center()
        # As a person's double-click arrives: a click, then the double-click.
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=centre)
    assert loads == ["/models/small.gguf"]
    assert servers == ["srv-1"]
    picker.table.setFocus()
    qtbot.keyClick(picker.table, Qt.Key.Key_Return)  # the selected row, the server
    assert servers == ["srv-1", "srv-1"] and loads == ["/models/small.gguf"]
