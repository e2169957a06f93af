"""Widgets on their own: Markdown with citation links and code, the composer's keys, the gauges."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel

from engine.context.budget import ContextBudget
from engine.library.answer import Source
from ui.composer import Composer
from ui.gauges.context_gauge import ContextGauge
from ui.markdown_view import link_citations
from ui.message_widget import MessageWidget

SOURCES = (
    Source(number=1, file="/docs/a.pdf", page=4, excerpt="alpha"),
    Source(number=2, file="/docs/b.pdf", page=9, excerpt="beta"),
)


def test_citations_become_links_only_for_known_sources_and_outside_code():
    text = "See [1] and [2, 1] but not [7].\n```\nx = a[1]\n```\nAlso [2](http://x)."
    linked = link_citations(text, 2)
    assert "[\\[1\\]](source:1)" in linked
    assert "[\\[2\\]](source:2)[\\[1\\]](source:1)" in linked
    assert "[7]" in linked
    assert "x = a[1]" in linked
    assert "[2](http://x)" in linked


def test_clicking_a_citation_in_the_text_opens_its_source(qtbot):
    widget = MessageWidget(1, "assistant", "The answer is here [2].", None, SOURCES)
    qtbot.add_widget(widget)
    with qtbot.wait_signal(widget.sourceClicked) as clicked:
        widget.body.anchorClicked.emit(QUrl("source:2"))
    assert clicked.args[0].page == 9
    with qtbot.wait_signal(widget.sourceClicked) as clicked:
        widget.sources.button_for(1).click()
    assert clicked.args[0].file == "/docs/a.pdf"


def test_a_reply_is_shown_as_written_never_read_as_html(qtbot):
    """A reply beginning "<<Title>>" used to show as "<": the rest was taken for a tag."""
    reply = (
        "<<The Origins of Linux>>\n\nIn the **early** days, <b>Linus</b> wrote "
        '<img src="https://example.com/x.png"> a kernel.\n\n| Year | Event |\n|---|---|\n| 1991 | 0.01 |'
    )
    widget = MessageWidget(1, "assistant", reply)
    qtbot.add_widget(widget)
    shown = widget.body.toPlainText()
    assert shown.startswith("<<The Origins of Linux>>")
    assert "<b>Linus</b> wrote <img src=" in shown and "early days" in shown
    assert "1991" in shown and widget.body.document().toMarkdown().count("|") >= 6, "a table still"


def test_code_blocks_are_found_and_highlighted(qtbot):
    widget = MessageWidget(1, "assistant", "Run:\n\n```python\ndef f():\n    return 1\n```\n")
    qtbot.add_widget(widget)
    assert widget.body.code_blocks() == ["def f():\n    return 1"]
    assert not widget.copy_code_button.isHidden()
    widget.copy_code_button.click()
    assert QGuiApplication.clipboard().text() == "def f():\n    return 1"
    block = widget.body.document().findBlock(widget.body.toPlainText().index("def"))
    formats = block.layout().formats()
    assert formats, "the keyword 'def' is coloured"


def test_a_reply_grows_as_text_streams_in(qtbot):
    widget = MessageWidget(1, "assistant", "")
    qtbot.add_widget(widget)
    widget.resize(500, 100)
    widget.show()
    short = widget.body.height()
    widget.set_text("line\n\n" * 20)
    qtbot.wait_until(lambda: widget.body.height() > short + 100)


def test_composer_enter_sends_and_trims(qtbot):
    composer = Composer()
    qtbot.add_widget(composer)
    qtbot.keyClicks(composer.edit, "  hello  ")
    with qtbot.wait_signal(composer.sendRequested) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent.args == ["hello"]
    assert composer.text() == ""
    with qtbot.assert_not_emitted(composer.sendRequested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)  # nothing to send
    composer.set_busy(True)
    with qtbot.wait_signal(composer.stopRequested):
        composer.send_button.click()


def test_context_gauge_shows_parts_and_notice(qtbot):
    gauge = ContextGauge()
    qtbot.add_widget(gauge)
    budget = ContextBudget(n_ctx=4096, system=80, pinned=20, documents=900, history=700,
                           message=300, reply_reserve=512)  # fmt: skip
    gauge.show_budget(budget, "4 older messages dropped to fit the context window")
    assert gauge.value.text() == "2.5K / 4.1K"
    assert "dropped" in gauge.detail.text()
    assert "Documents: 900" in gauge.toolTip()
    assert "System prompt: 100" in gauge.toolTip()  # the system prompt and pinned material
    assert "Conversation: 1,000" in gauge.toolTip()  # kept history and the new message
    assert "Free: 1,584" in gauge.toolTip()


def test_a_notice_on_a_topic_replaces_the_earlier_one_and_the_bar_takes_the_newest_colour(qtbot):
    from ui.notice_bar import NoticeBar

    bar = NoticeBar()
    qtbot.add_widget(bar)
    bar.show_message("Nothing answers at http://127.0.0.1:8791.", "error", topic="model")
    bar.show_message("Could not save the chat.", "error")
    bar.show_message("Added 127.0.0.1:8792.", topic="model")  # the failure it follows is past
    assert bar.label.text() == "⚠ Could not save the chat.\n• Added 127.0.0.1:8792."
    assert bar.property("level") == "info"  # a confirmation is never shown in red
    bar.withdraw("model")
    assert bar.label.text() == "Could not save the chat." and bar.property("level") == "error"


def _remote_info(n_ctx_source: str):
    from engine.remote import RemoteInfo

    return RemoteInfo(url="http://127.0.0.1:8791", host="127.0.0.1:8791",
                      model="/models/SmolLM2-135M-Instruct.Q4_1.gguf", models=(),
                      server="llama-cpp-python", n_ctx=4096, n_ctx_source=n_ctx_source,
                      token_counts_exact=False, tokenizer="estimated here",
                      connect_seconds=0.1)  # fmt: skip


def test_the_gauge_bar_keeps_its_panels_in_place_and_ends_long_text_in_an_ellipsis(qtbot, tmp_path):
    import os
    from pathlib import Path

    from app.paths import styles_dir
    from engine.remote.connections import WINDOW_ASSUMED
    from engine.stats import GenerationStats
    from ui.gauges.gauge_bar import GaugeBar
    from ui.theme import apply_theme

    screens = Path(os.environ.get("HEARTH_SCREENS_DIR") or tmp_path)
    apply_theme(QApplication.instance(), "light", styles_dir())  # as the window: bold values
    bar = GaugeBar()
    qtbot.add_widget(bar)
    bar.resize(1280, 44)  # as wide as the window
    bar.show()
    bar.show_remote(_remote_info(WINDOW_ASSUMED))
    QApplication.processEvents()
    places = [bar.context.x(), bar.memory.x()]
    stats = GenerationStats(prompt_tokens=1800, cached_tokens=0, generated_tokens=24, ttft_s=4.9,
                            prompt_tokens_per_s=367.0, generation_tokens_per_s=12.0,
                            stop_reason="length", counts_estimated=True)  # fmt: skip
    bar.reply_started()
    bar.reply_finished(stats)
    QApplication.processEvents()
    assert [bar.context.x(), bar.memory.x()] == places  # the speed text moves nothing
    badge = bar.backend
    assert badge.text() == "Remote: 127.0.0.1:8791 · SmolLM2-135M-Instruct.Q4_1.gguf"
    shown = QLabel.text(badge)
    assert shown == badge.text() or shown.endswith("…")
    # The context bar says the window is only assumed.
    assert bar.context.value.text().endswith("/ 4.1K?")
    assert "assumed" in bar.context.toolTip()
    assert QLabel.text(bar.speed.detail) == "first token 4.9 s · prompt 367 tok/s"  # all of it
    bar.grab().save(str(screens / "gauges-wide.png"))
    bar.resize(640, 44)
    QApplication.processEvents()
    bar.grab().save(str(screens / "gauges-narrow.png"))
    assert QLabel.text(badge).endswith("…") and badge.geometry().right() <= bar.width()
    for value in (bar.speed.value, bar.context.value):  # the numbers stay whole
        assert value.width() >= value.sizeHint().width()
    detail = bar.speed.detail  # cut short (or left out) where it does not fit, never clipped
    assert QLabel.text(detail) in ("", "…") or QLabel.text(detail).endswith("…")
    assert detail.toolTip() == "first token 4.9 s · prompt 367 tok/s"


def test_a_prompt_read_from_the_kv_cache_shows_no_prompt_speed(qtbot):
    from engine.stats import GenerationStats
    from ui.gauges.speed_gauge import SpeedGauge

    gauge = SpeedGauge()
    qtbot.add_widget(gauge)
    cached = GenerationStats(prompt_tokens=2539, cached_tokens=2538, generated_tokens=40,
                             ttft_s=0.087, prompt_tokens_per_s=11.5, generation_tokens_per_s=50.0,
                             stop_reason="stop")  # fmt: skip
    gauge.reply_finished(cached)
    assert gauge.detail.toolTip() == "first token 87 ms · prompt cached"
    assert "2538 reused from cache" in gauge.toolTip()
    gauge.reply_finished(GenerationStats(600, 500, 40, 0.4, 250.0, 50.0, "stop"))
    assert gauge.detail.toolTip() == "first token 400 ms · prompt 250 tok/s"
    # A new chat's first question: only the short system prompt was cached.
    gauge.reply_finished(GenerationStats(60, 40, 40, 0.1, 200.0, 50.0, "stop"))
    assert gauge.detail.toolTip() == "first token 100 ms · prompt 200 tok/s"


def test_a_quote_with_a_long_word_never_widens_the_chat_past_the_window(qtbot):
    """A file name that cannot wrap used to hold the whole chat wider than the window once the
    documents panel took its room: every card was cut on the right."""
    from engine.library.types import Evidence
    from ui.chat_view import ChatView

    text = ("The Debian binary package file names follow this convention: "
            "<foo>_<VersionNumber>-<DebianRevisionNumber>_<DebianArchitecture>.deb Note it.")  # fmt: skip
    evidence = (Evidence("/docs/debian-faq.en.pdf", 21, text, source=1),
                Evidence("/docs/debian-faq.en.pdf", 65, "Debian is open to all.", source=2))  # fmt: skip
    view = ChatView()
    qtbot.add_widget(view)
    view.add_message(1, "user", "Why are package names so long?")
    view.add_message(2, "assistant", "Because of the convention [1].", None, (), evidence)
    view.show()
    reply = view.messages()[1]
    for width, beside in ((1036, True), (600, False), (1036, True)):
        view.resize(width, 600)
        qtbot.wait_until(lambda w=width: view.viewport().width() <= w)
        for _ in range(5):
            QApplication.processEvents()
        assert view.widget().width() <= view.viewport().width(), f"cut at {width}"
        assert reply.evidence.is_beside() == beside


def test_a_quote_cut_where_its_chunk_ends_says_so():
    from engine.library.types import Evidence
    from ui.evidence_list import evidence_html

    def quoted(text: str) -> str:
        return evidence_html(Evidence(file="/docs/faq.pdf", page=65, text=text))

    assert quoted("Found at the New Member's Corner (https:") == (
        "“Found at the New Member&#x27;s Corner (https:…”"
    )
    assert quoted("Found at the Corner.") == "“Found at the Corner.”"
    assert quoted('He said "use apt-mark hold."') == "“He said &quot;use apt-mark hold.&quot;”"
    assert quoted("Where is Google Earth?") == "“Where is Google Earth?”"


def test_evidence_under_a_reply_is_the_document_s_text_with_its_terms_marked(qtbot):
    from engine.library.types import Evidence

    evidence = (
        Evidence(
            "/docs/b.pdf", 9, "If a < b then\nrun <script>x</script>.", [(3, 4), (19, 25)], source=2
        ),  # fmt: skip
        Evidence("/docs/sheet.xlsx", None, "Boats: 12.", [(0, 5)], "sheet Budget, row 7", 1),
    )
    widget = MessageWidget(1, "assistant", "The answer [2].", None, SOURCES, evidence)
    qtbot.add_widget(widget)
    widget.resize(600, 400)
    widget.show()
    first, second = widget.evidence.quotes()
    assert first.text() == "“If <b>a</b> &lt; b then run &lt;<b>script</b>&gt;x&lt;/script&gt;.”"
    assert first.textFormat() == Qt.TextFormat.RichText
    assert second.text() == "“<b>Boats</b>: 12.”"
    assert [b.text() for b in widget.evidence.buttons()] == [
        "[2]  b.pdf  ·  page 9", "[1]  sheet.xlsx  ·  sheet Budget, row 7"
    ]  # fmt: skip
    assert widget.evidence.buttons()[0].accessibleName() == "Evidence from b.pdf, page 9"
    # A long file name is shortened beside the sentences; the tooltip and the name say it all.
    long_name = "/docs/Town council minutes, spring 2021 (final, signed copy).pdf"
    widget.set_evidence([Evidence(long_name, 14, "The market opens.", source=3)])
    [button] = widget.evidence.buttons()
    assert button.text() == "[3]  Town council minutes, sp…d copy).pdf  ·  page 14"
    assert long_name.split("/")[-1] in button.toolTip()
    assert long_name.split("/")[-1] in button.accessibleName()
    widget.set_evidence(evidence)
    # Under the answer, above the list of sources.
    assert widget.body.y() < widget.evidence.y() < widget.sources.y()
    with qtbot.wait_signal(widget.evidenceClicked) as clicked:
        widget.evidence.buttons()[1].click()
    assert clicked.args[0] is evidence[1]
    widget.set_evidence(())
    assert widget.evidence.isHidden() and widget.evidence.quotes() == []


@pytest.mark.parametrize("text", ["if a<b and c>d then <i>done</i>", "Renamed <b>bold</b> & x",
                                  "guide.pdf\n<div class='note'>Keep the lid shut.</div>",
                                  "plain & simple", "a < b"])  # fmt: skip
def test_a_tooltip_shows_outside_text_letter_for_letter(text):
    from PySide6.QtGui import Qt as GuiQt
    from PySide6.QtGui import QTextDocument

    from ui.format import plain_tip

    tip = plain_tip(text)
    shown = QTextDocument()
    if GuiQt.mightBeRichText(tip):  # as QToolTip decides
        shown.setHtml(tip)
    else:
        shown.setPlainText(tip)
    assert shown.toPlainText() == text


def test_a_withdrawal_that_keeps_actions_leaves_a_message_that_can_still_be_brought_back(qtbot):
    from ui.notice_bar import NoticeBar

    bar = NoticeBar()
    qtbot.add_widget(bar)
    bar.show_message("Not sent: Nothing answers.", "error", topic="reply")
    bar.show_message("Your message in “Tides” was not sent: Nothing answers.", "error",
                     topic="reply", action="Show it", callback=lambda: None)  # fmt: skip
    bar.withdraw("reply", keep_actions=True)
    assert bar.text() == "Your message in “Tides” was not sent: Nothing answers."
    assert bar.action_button.text() == "Show it"
    bar.withdraw("reply")
    assert bar.text() == ""


def test_the_memory_gauge_says_it_all_at_the_window_s_size_and_is_cut_between_parts(qtbot):
    from app.paths import styles_dir
    from engine.memory.probe import MemorySnapshot
    from ui.gauges.gauge_bar import GaugeBar
    from ui.theme import apply_theme

    apply_theme(QApplication.instance(), "light", styles_dir())  # as the window: its fonts
    bar = GaugeBar()
    qtbot.add_widget(bar)
    bar.resize(1280, 44)  # as wide as the window opens
    bar.show()
    bar.memory.set_model_size(1_100_000_000)
    bar.show_snapshot(MemorySnapshot(process_rss=917_900_000, ram_used=2_100_000_000,
                                     ram_total=25_300_000_000, ram_available=23_000_000_000))  # fmt: skip
    QApplication.processEvents()
    detail = bar.memory.detail
    whole = detail.text()
    assert whole.startswith("RAM 2.1") and whole.endswith(" · model 1.1 GB")
    assert QLabel.text(detail) == whole == detail.toolTip()  # all of it shows
    bar.resize(1000, 44)
    QApplication.processEvents()
    assert QLabel.text(detail) == "RAM 2.1 / 25.3 GB …"  # the last part left out whole
    for width in (900, 760):  # narrower still: words left out, never half of one
        bar.resize(width, 44)
        QApplication.processEvents()
        shown = QLabel.text(detail)
        assert shown.endswith(" …") and (whole + " ").startswith(shown[:-1]), (width, shown)
        assert detail.toolTip() == whole
