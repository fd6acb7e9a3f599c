"""Which files under the raw folder are inputs: one rule for the readers and for the sensor that watches them.

Office, editors and operating systems leave files beside the ones analysts save: ``~$表.xlsx`` while Excel
has a workbook open, ``.~lock.表.csv#`` from LibreOffice, ``表.csv~``/``#表.csv#``/``*.swp`` from editors,
``*.tmp`` while a program saves, ``*.bak`` copies, ``Thumbs.db``/``desktop.ini`` on Windows shares. None of
them is data: a reader that opened them would report them as unreadable, and a sensor that counted them
would start a run whenever someone opens a workbook. Hidden folders (``.git``, ``.ipynb_checkpoints``)
are skipped whole.
"""

from __future__ import annotations

from pathlib import Path

_NOT_INPUT_PREFIXES = (".", "~$", "#")
_NOT_INPUT_SUFFIXES = ("~", ".tmp", ".bak", ".swp", ".swo")
_NOT_INPUT_NAMES = ("thumbs.db", "desktop.ini")


def is_input_file(relative: Path) -> bool:
    """Whether a path (relative to the folder being read) names an input rather than a lock, temporary,
    backup or hidden file."""
    name = relative.name.lower()
    return not (
        any(part.startswith(".") for part in relative.parts)
        or name.startswith(_NOT_INPUT_PREFIXES)
        or name.endswith(_NOT_INPUT_SUFFIXES)
        or name in _NOT_INPUT_NAMES
    )


def input_files(root: Path) -> list[Path]:
    """The input files under ``root`` (recursively), sorted; none when the folder does not exist."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and is_input_file(p.relative_to(root)))
