"""Write a stored conversation as a Markdown file a person can read anywhere."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from engine.chat_store import Conversation, StoredMessage
from engine.storage import storage_problem

_ROLE_TITLES = {"user": "You", "assistant": "Hearth", "system": "System"}


def conversation_markdown(conversation: Conversation, messages: list[StoredMessage]) -> str:
    """The conversation as Markdown: a heading per message, its sources listed under it."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created_at))
    parts = [f"# {conversation.title}", "", f"_Exported from Hearth; started {when}._", ""]
    for message in messages:
        parts += [f"## {_ROLE_TITLES.get(message.role, message.role)}", "", message.content, ""]
        if message.sources:
            parts.append("**Sources**")
            parts.append("")
            for source in message.sources:
                name = Path(str(source.get("path", ""))).name
                page = source.get("page")
                where = f"{name}, page {page}" if page else name
                parts.append(f"{source.get('number', '?')}. {where}")
                excerpt = " ".join(str(source.get("excerpt", "")).split())
                if excerpt:
                    parts.append(f"   > {excerpt[:400]}")
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def write_text_atomically(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so a crash never leaves half a file."""
    path = Path(path)
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        problem = storage_problem(exc, path.parent, f"save {path.name}")
        if problem is not None:
            raise problem from exc
        raise
