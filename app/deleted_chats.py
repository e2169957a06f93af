"""What a chat deleted for good leaves on disk: its document library (with the folders it
watched), removed when the chat is purged, and at any start where an earlier run left one behind,
so a deleted chat's documents never turn up again.

Each chat owns the library `chat-<id>`. At start the chat library folders are listed first, then
the chat ids the store knows: a chat made meanwhile has its row before its folder, so it is never
taken for a leftover. New chats are numbered above every folder found, so none inherits one.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from app.library.protocol import RemoveLibrary
from engine.errors import HearthError

if TYPE_CHECKING:
    from app.library.client import LibraryClient
    from engine.chat_store import ChatStore

log = logging.getLogger(__name__)

# A chat's library, and what an interrupted removal of one leaves (engine.library.remove_library
# renames the folder first, then deletes it; the number after "removing-" is the remover's pid).
_LIBRARY = re.compile(r"chat-([0-9]+)")
_HALF_REMOVED = re.compile(r"\.chat-([0-9]+)\.removing-([0-9]+)")


@dataclass(frozen=True)
class ChatFolder:
    """A chat's library folder on disk; `half_removed` for what a removal left behind."""

    chat_id: int
    path: Path
    half_removed: bool = False


def chat_folders(libraries_dir: Path) -> list[ChatFolder]:
    """The chat library folders under `libraries_dir` (a few directory entries: quick)."""
    try:
        entries = list(os.scandir(libraries_dir))
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("The document libraries could not be listed: %s", exc)
        return []
    found = []
    for entry in entries:
        if (match := _LIBRARY.fullmatch(entry.name)) is not None:
            half = False
        elif (match := _HALF_REMOVED.fullmatch(entry.name)) is not None:
            if psutil.pid_exists(int(match[2])):
                continue  # being removed right now
            half = True
        else:
            continue
        if entry.is_dir(follow_symlinks=False):
            found.append(ChatFolder(int(match[1]), Path(entry.path), half))
    return sorted(found, key=lambda folder: folder.chat_id)


def purge_deleted_chats(store: ChatStore, libraries_dir: Path) -> list[ChatFolder]:
    """Remove the chats deleted in earlier runs from `store` for good, make sure no new chat is
    given the id of any chat whose library is on disk, and return the library folders of chats
    that no longer exist (to remove with `remove_chat_folders`, off the GUI thread).

    Raises:
        ChatStoreError: The store could not be read or written; then nothing is to be removed.
    """
    folders = chat_folders(libraries_dir)  # before the ids: see the module's note
    purged = store.purge_deleted()
    if purged:
        log.info("Removed %d deleted chats", len(purged))
    if folders:
        store.skip_ids_through(max(folder.chat_id for folder in folders))
    known = store.conversation_ids()
    return [folder for folder in folders if folder.chat_id not in known]


def remove_chat_folders(libraries: LibraryClient, folders: list[ChatFolder]) -> None:
    """Delete the libraries of chats that no longer exist, through the library process (which
    closes one it has open and stops following its folders). A folder it does not take for a
    library (one made but never written to) and what a removal left behind are deleted here.
    One that cannot be removed now (another Hearth indexing into it) stays for the next start."""
    for folder in folders:
        if not folder.half_removed:
            try:
                libraries.call(RemoveLibrary(folder.path.name))
            except HearthError as exc:
                log.warning("The library of deleted chat %s stays for now: %s",
                            folder.chat_id, exc)  # fmt: skip
                continue
        if folder.path.exists():
            shutil.rmtree(folder.path, ignore_errors=True)
        if folder.path.exists():
            log.warning("The library of deleted chat %s could not be removed: %s",
                        folder.chat_id, folder.path)  # fmt: skip
        else:
            log.info("Removed the library of deleted chat %s", folder.chat_id)
