"""Asked when the window closes while replies the disk refused are still not saved."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

SAVE_ELSEWHERE = "save elsewhere"
QUIT_WITHOUT = "quit without"
KEEP_OPEN = "keep open"


def ask_about_unsaved(parent: QWidget, count: int, why: str) -> str:
    """Ask what to do with `count` replies the chat store refused (`why`: its words).

    Returns:
        SAVE_ELSEWHERE, QUIT_WITHOUT or KEEP_OPEN (also for Esc and the window's close button).
    """
    one = count == 1
    them = "it" if one else "them"
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Replies not saved",
        f"{'A reply is' if one else f'{count} replies are'} not saved yet.",
        parent=parent,
    )
    box.setInformativeText(
        f"{why} If Hearth quits now, {'it is' if one else 'they are'} lost. Save {them} to a file "
        f"on another disk, or keep Hearth open: it saves {them} by itself as soon as the disk "
        f"takes {them}."
    )
    save = box.addButton("Save to a file…", QMessageBox.ButtonRole.AcceptRole)
    quit_ = box.addButton(f"Quit without {them}", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep Hearth open", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    clicked = box.clickedButton()
    if clicked is save:
        return SAVE_ELSEWHERE
    return QUIT_WITHOUT if clicked is quit_ else KEEP_OPEN
