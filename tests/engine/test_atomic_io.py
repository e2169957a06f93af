"""Atomic writes: the new text or the old one, never half of either, and a plain error when the
disk refuses."""

from __future__ import annotations

import pytest

from engine.atomic_io import SaveError, write_json_atomic, write_text_atomic


def test_text_is_written_whole_and_no_temporary_file_stays(tmp_path):
    target = tmp_path / "new" / "folder" / "notes.md"
    write_text_atomic(target, "première ligne\n")
    write_text_atomic(target, "second version\n")
    assert target.read_text(encoding="utf-8") == "second version\n"
    assert [p.name for p in target.parent.iterdir()] == ["notes.md"]


def test_json_keeps_non_ascii_and_ends_with_a_newline(tmp_path):
    target = tmp_path / "settings.json"
    write_json_atomic(target, {"title": "Café"})
    assert target.read_text(encoding="utf-8") == '{\n  "title": "Café"\n}\n'


def test_a_refused_write_keeps_the_old_file_and_says_why(tmp_path):
    # A folder where the file should go: the final rename fails as a full disk's write would.
    blocked = tmp_path / "export.md"
    blocked.mkdir()
    (blocked / "inside.txt").write_text("kept")
    with pytest.raises(SaveError, match="Could not save export.md") as error:
        write_text_atomic(blocked, "new text")
    assert "disk is not full" in error.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.md"]
    assert (blocked / "inside.txt").read_text() == "kept"


def test_a_killed_writes_temporary_file_is_removed_by_the_next_write_once_stale(tmp_path):
    import os
    import time

    from engine.atomic_io import STALE_PARTIAL_S

    old = tmp_path / ".chat.md.partial-k2x8d0qz"  # what a write killed before its rename leaves
    recent = tmp_path / ".notes.md.partial-a1b2c3d4"  # perhaps another process writing right now
    mine = tmp_path / ".plan.md.k2x8d0qz"  # the person's own hidden file, of another shape
    for path in (old, recent, mine):
        path.write_text("half")
    long_ago = time.time() - STALE_PARTIAL_S - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(mine, (long_ago, long_ago))
    write_text_atomic(tmp_path / "other.md", "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [recent.name, mine.name, "other.md"]
    )


def test_a_folder_the_person_chose_is_not_made_when_it_does_not_exist(tmp_path):
    missing = tmp_path / "rial_faults" / "exp"  # a mistyped folder in a save dialog
    with pytest.raises(SaveError, match="the folder .*exp does not exist") as error:
        write_text_atomic(missing / "chat.md", "text", make_folder=False)
    assert "Choose a folder that exists" in error.value.hint
    assert not (tmp_path / "rial_faults").exists()
