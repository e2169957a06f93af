"""Numbers and names as people read them: sizes, durations, rates, file names that fit."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtGui import Qt

from engine.display import display_name
from engine.storage import size_text

if TYPE_CHECKING:
    from engine.stats import GenerationStats


def size(num_bytes: float) -> str:
    """1500 -> '1.5 kB': decimal units, the same as the CLI, the Hub and disk tools print
    (`engine.storage.size_text`), so one quantity reads the same everywhere."""
    return size_text(num_bytes)


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {int(value % 60)} s"


def rate(tokens_per_s: float) -> str:
    return f"{tokens_per_s:.1f} tok/s" if tokens_per_s < 100 else f"{tokens_per_s:.0f} tok/s"


def count(value: int) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}K"
    if value >= 1000:
        return f"{value / 1000:.1f}K"
    return str(value)


def params(value: int) -> str:
    if value >= 1e9:
        return f"{value / 1e9:.1f}B"
    return f"{value / 1e6:.0f}M"


def stats_line(stats: GenerationStats | None, text: str = "") -> str:
    """One line under a reply: tokens, time to first token, speed, and why it stopped early.
    `text`: the reply's; when it has some but no token was counted (a reply Hearth stopped
    writing before chats kept a count), the count is left out rather than shown as 0."""
    if stats is None:
        return ""
    parts = []
    if stats.generated_tokens or not text.strip():
        parts.append(f"{stats.generated_tokens} token{'' if stats.generated_tokens == 1 else 's'}")
    if stats.generated_tokens and stats.ttft_s:  # 0: not measured (Hearth closed mid-reply)
        parts.append(f"first token {seconds(stats.ttft_s)}")
    if stats.generation_tokens_per_s:
        parts.append(rate(stats.generation_tokens_per_s))
    reason = stats.stop_reason
    if reason == "cancelled":
        parts.append("stopped")
    elif reason == "length":
        parts.append("cut at max tokens")
    elif reason == "error":
        parts.append("cut off" if stats.generated_tokens or text.strip() else "failed")
    return " · ".join(parts)


def stats_details(stats: GenerationStats) -> str:
    """The tooltip of a reply's stats line: prompt and reply tokens and speeds."""
    text = (
        f"Prompt: {stats.prompt_tokens} tokens ({stats.cached_tokens} reused from cache), "
        f"{stats.prompt_tokens_per_s:.0f} tok/s\n"
        f"Reply: {stats.generated_tokens} tokens, {stats.generation_tokens_per_s:.1f} tok/s"
    )
    if not stats.error:
        return text
    # A stop says why in its own words ("Hearth closed while..."); a failure is an error.
    return text + (
        f"\n{stats.error}" if stats.stop_reason == "cancelled" else f"\nError: {stats.error}"
    )


def short_name(path: str, limit: int) -> str:
    """The file's name as shown (escaped), at most `limit` characters: a longer one keeps its
    start and its end (where the extension and a version number are) around an ellipsis."""
    name = display_name(path) or "document"
    if len(name) <= limit:
        return name
    keep = limit - 1
    return name[: keep - keep // 3] + "…" + name[-(keep // 3) :]


def plain_tip(text: str) -> str:
    """`text` as a tooltip (or an item's tooltip role) shows it, letter for letter: Qt reads a
    tooltip that looks like markup ("if a<b ... <i>") as HTML and drops or styles parts of it."""
    if not Qt.mightBeRichText(text):
        return text
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"
