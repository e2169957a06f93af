"""Numbers as people read them: sizes, durations, rates."""

from __future__ import annotations


def size(num_bytes: float) -> str:
    """1536 -> '1.5 KB'; binary units, as file managers show memory."""
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


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


def stats_line(stats: dict) -> str:
    """One line under a reply: tokens, time to first token, speed."""
    if not stats:
        return ""
    parts = [f"{stats.get('generated_tokens', 0)} tokens"]
    if stats.get("ttft_s") is not None:
        parts.append(f"first token {seconds(float(stats['ttft_s']))}")
    if stats.get("generation_tokens_per_s"):
        parts.append(rate(float(stats["generation_tokens_per_s"])))
    reason = stats.get("stop_reason")
    if reason == "cancelled":
        parts.append("stopped")
    elif reason == "length":
        parts.append("cut at max tokens")
    elif reason == "error":
        parts.append("failed")
    return " · ".join(parts)
