"""Decode plan documents (txt, docx, pdf, html) into text lines numbered as in the original file.

(Skeleton: the extraction work of issue 3 deepens this module.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf", ".html", ".htm")


class UnreadableDocument(ValueError):
    """A document that cannot be decoded; the message names the file and the reason."""


@dataclass
class DecodedDocument:
    path: Path
    text: str  # cleaned text; line i (1-based) corresponds to line i of the original
    encoding: str
    format: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def read_document(path: Path) -> DecodedDocument:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return DecodedDocument(path, raw.decode(encoding), encoding, path.suffix.lstrip("."))
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument(f"{path.name}: not valid UTF-8 or GB18030 text")
