"""Exporting a chat from the window: the save dialog offers a file name made from the chat's
title, and the file's heading carries that title whole."""

from __future__ import annotations

from pathlib import Path

QUESTION = "Write a very long story about a dragon who learns to bake bread: 2000 words?"


def test_the_export_offers_a_whole_name_and_writes_the_whole_title(fake_app, tmp_path, monkeypatch):
    fake_app.send(QUESTION)
    fake_app.wait_reply()
    assert fake_app.conversation.title == "Write a very long story about a…"
    offered: list[str] = []
    target = tmp_path / "story.md"

    def save_dialog(_parent, _caption, suggested, _filter):
        offered.append(suggested)
        return str(target), ""

    monkeypatch.setattr("app.conversations_controller.QFileDialog.getSaveFileName", save_dialog)
    fake_app.controller.conversations.on_export_current()
    assert Path(offered[0]).name == "Write a very long story about a dragon who learns to bake.md"
    assert Path(offered[0]).parent == Path.home()
    assert target.read_text(encoding="utf-8").startswith(f"# {QUESTION}\n")
    assert fake_app.window.notice.text() == "Saved story.md."
