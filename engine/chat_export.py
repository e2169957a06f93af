"""Write a stored conversation as a Markdown file a person can read anywhere."""

from __future__ import annotations

import time
from pathlib import Path

from engine.chat_store import Conversation, StoredMessage
from engine.chat_title import file_name_for, whole_title
from engine.library.types import with_place

_ROLE_TITLES = {"user": "You", "assistant": "Hearth", "system": "System"}


def export_title(conversation: Conversation, messages: list[StoredMessage]) -> str:
    """The chat's title in full, as its export's heading and file name carry it: a title made
    from the first question, and cut short there, is that question whole."""
    first = next((m.content for m in messages if m.role == "user"), None)
    return whole_title(conversation.title, first)


def export_file_name(conversation: Conversation, messages: list[StoredMessage]) -> str:
    """The file name an export of the chat is offered under ("chat.md" for a title that
    leaves nothing a file name may hold)."""
    return file_name_for(export_title(conversation, messages))


def conversation_markdown(conversation: Conversation, messages: list[StoredMessage]) -> str:
    """The conversation as Markdown: the chat's whole title, a heading per message, its
    sources listed under it."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created_at))
    title = export_title(conversation, messages)
    parts = [f"# {title}", "", f"_Exported from Hearth; started {when}._", ""]
    for message in messages:
        parts += [f"## {_ROLE_TITLES.get(message.role, message.role)}", "", message.content, ""]
        if note := cut_short_note(message):
            parts += [note, ""]
        if message.sources:
            parts.append("**Sources**")
            parts.append("")
            for source in message.sources:
                name = Path(str(source.get("path", ""))).name
                where = with_place(name, source.get("page"), source.get("location"))
                parts.append(f"{source.get('number', '?')}. {where}")
                excerpt = " ".join(str(source.get("excerpt", "")).split())
                if excerpt:
                    parts.append(f"   > {excerpt[:400]}")
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


# Said under an exported reply that did not come to its end, by how it ended.
_CUT_SHORT = {
    "cancelled": "_(Cut short: the reply was stopped before its end.)_",
    "error": "_(Cut short: the reply broke off before its end.)_",
    "length": "_(Cut short: the reply reached the most tokens a reply may have.)_",
}


def cut_short_note(message: StoredMessage) -> str:
    """The line an exported reply that did not come to its end carries under it ("" for one
    that did): a reader of the file cannot see the window's stats line."""
    if message.role != "assistant":
        return ""
    if message.in_progress:  # Hearth stopped (closed, crashed) while writing it
        if not message.content:
            return "_(Nothing of this reply was saved: Hearth stopped first.)_"
        return "_(Cut short: Hearth stopped while this reply was being written.)_"
    reason = (message.stats or {}).get("stop_reason")
    return _CUT_SHORT.get(reason, "") if isinstance(reason, str) else ""


def replies_markdown(exchanges: list[tuple[str, str]]) -> str:
    """Replies the chat store could not take, as Markdown: each (question, reply) under
    headings, so a person can keep them when the disk that holds the chats refuses writes."""
    when = time.strftime("%Y-%m-%d %H:%M")
    parts = ["# Replies Hearth could not save", "", f"_Saved from Hearth on {when}._", ""]
    for question, reply in exchanges:
        parts += [f"## {_ROLE_TITLES['user']}", "", question, ""]
        parts += [f"## {_ROLE_TITLES['assistant']}", "", reply, ""]
    return "\n".join(parts).rstrip() + "\n"
