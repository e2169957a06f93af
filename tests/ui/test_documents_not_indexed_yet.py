"""A question asked while some of the chat's documents are not searchable yet: the answer says
which, how far each is read, and what to do (the real library process and the real model)."""

from __future__ import annotations

import pytest

from tests.ui.conftest import drop_files

pytestmark = pytest.mark.slow


def big_text(path, megabytes: int):
    """A text file that takes the indexer minutes to read, its needle deep inside."""
    line = "Day {n}: the wind came from the north-west and the keeper trimmed the wick.\n"
    with path.open("w") as out:
        for n in range(megabytes * 13_000):
            out.write(line.format(n=n))
            if n == megabytes * 10_000:
                out.write("The hidden needle phrase is violet harbour lantern.\n")
    return path


def notice_after(app_window, question: str) -> str:
    """The notice shown with the answer to `question`."""
    app_window.send(question)
    app_window.wait_reply(180000)
    return app_window.window.notice.text()


def test_an_answer_says_which_documents_it_could_not_use_yet(app_window, qtbot, tmp_path):
    window = app_window.window
    panel = window.documents
    small = tmp_path / "notes.txt"
    small.write_text("The harbour master keeps the tide tables in the blue cabinet.\n" * 300)
    drop_files(window, [small])
    qtbot.wait_until(lambda: panel.status_of(str(small)) == "indexed", timeout=180000)
    qtbot.wait_until(lambda: not app_window.controller.documents.indexing, timeout=180000)

    big = big_text(tmp_path / "big.txt", 20)
    drop_files(window, [big])
    qtbot.wait_until(lambda: panel.status_of(str(big)).startswith("indexing"), timeout=60000)
    said = notice_after(app_window, "What is the hidden needle phrase?")
    assert "1 document is still being read (big.txt, " in said
    assert "this answer does not use it yet. Ask again when it is ready." in said
    # What is not read yet may hold the answer: nothing says the documents lack it.
    assert "Nothing in this chat's documents" not in said

    # Stopped: the file stays pending, and the next answer says how to finish it.
    panel.cancelRequested.emit()
    qtbot.wait_until(lambda: not app_window.controller.documents.indexing, timeout=120000)
    qtbot.wait_until(lambda: panel.status_of(str(big)).startswith("pending"), timeout=60000)
    said = notice_after(app_window, "Where are the tide tables kept?")
    assert "1 document is not indexed yet (big.txt): this answer does not use it." in said
    assert "Re-index in the documents panel finishes it." in said
    assert "notes.txt" not in said
