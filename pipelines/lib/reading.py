"""Decode plan documents (txt, docx, pdf, html) into cleaned text lines, and analysts' CSV files.

Line numbers: for a .txt file, line i (1-based, splitting on ``\\n``) of ``text`` is line i of the file,
because cleaning never adds or removes a line — a noise line becomes an empty line, and normalization
maps one character to one character. For .docx, .pdf and .html the lines are those of the extracted text
(one paragraph, table cell, PDF text line or HTML block per line); line numbers refer to that text.

``original`` keeps the decoded text before cleaning, so evidence can always be quoted as written: the
character offsets of a figure in ``text`` are valid in ``original`` too.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf", ".html", ".htm")

_BOMS = (  # (mark, codec that strips it, name reported)
    (b"\xef\xbb\xbf", "utf-8-sig", "utf-8-sig"),
    (b"\xff\xfe", "utf-16", "utf-16-le"),
    (b"\xfe\xff", "utf-16", "utf-16-be"),
)
# Encodings a Chinese plan comes in once UTF-8 (with or without BOM) has failed.
_CANDIDATE_ENCODINGS = ["gb18030", "utf_16_le", "utf_16_be"]
_MAX_CONTROL_SHARE = 0.01  # more C0 control characters than this means binary, not text


class UnreadableDocument(ValueError):
    """A document that cannot be decoded; the message names the file and the reason."""


@dataclass
class DecodedDocument:
    path: Path
    text: str  # cleaned text; line i (1-based) corresponds to line i of ``original``
    encoding: str
    format: str
    original: str = field(default="", repr=False)  # decoded text before cleaning (same lines, same lengths)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


# --- decoding -----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_GB_FAMILY = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "gb18030"}  # pages declare the subset they outgrew


def _looks_binary(text: str) -> bool:
    return len(_CONTROL.findall(text)) > max(1, len(text) * _MAX_CONTROL_SHARE)


def decode_bytes(raw: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding): BOM first, then strict UTF-8, then a declared charset (html meta), then detection
    among GB18030 and UTF-16. Raises UnreadableDocument naming ``name`` when nothing fits."""
    if not raw.strip():
        raise UnreadableDocument(f"{name}: the file is empty")
    attempts = [(codec, reported) for bom, codec, reported in _BOMS if raw.startswith(bom)][:1]
    attempts.append(("utf-8", "utf-8"))
    if declared:
        codec = "gb18030" if declared.lower() in _GB_FAMILY else declared
        attempts.append((codec, codec.lower()))
    for codec, reported in attempts:
        try:
            text = raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _looks_binary(text):  # UTF-16 without BOM can pass as UTF-8 full of NULs
            return text, reported
    best = from_bytes(raw, cp_isolation=_CANDIDATE_ENCODINGS).best()
    if best is None:
        raise UnreadableDocument(f"{name}: not text in UTF-8, GB18030 or UTF-16 (undecodable bytes)")
    text = str(best)
    if _looks_binary(text):
        raise UnreadableDocument(f"{name}: binary content, not a text document")
    return text, best.encoding.replace("_", "-")


def read_analyst_csv(path: Path) -> pl.DataFrame:
    """A CSV an analyst keeps (manifest, reference tables, alert routing) as strings: UTF-8 with or without
    BOM, or GB18030 / UTF-16 as Excel saves it. Raises UnreadableDocument naming the file when it cannot be
    decoded, and polars' error when the text is not CSV."""
    text, _encoding = decode_bytes(path.read_bytes(), path.name)
    return pl.read_csv(text.encode("utf-8"), infer_schema=False)


# --- cleaning -----------------------------------------------------------------------------------

# Full-width ASCII block (！ … ～) and the ideographic space map one-to-one onto ASCII, so offsets stay valid.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# str.translate looks up every character; Chinese text is mostly CJK, so only the full-width runs go through it.
_FULL_WIDTH_RUN = re.compile("[\uff01-\uff5e\u3000]+")
# 2.04∶1 (RATIO sign) reads as 2.04:1. The sign is written first so that the regex engine jumps from one
# sign to the next instead of trying the lookbehind at every position of the text.
_RATIO_COLON = re.compile(r"\u2236(?<=\d\u2236)(?=\d)")

_NAV_WORDS = (
    "首页|上一页|下一页|上一篇|下一篇|尾页|末页|返回|返回顶部|返回首页|下载|相关|举报|打印|打印本页|关闭|"
    "关闭窗口|收藏|分享|分享到|"
    "点击查看更多>>|展开阅读全文|相关资源|猜你喜欢|相关搜索|相关阅读|资源描述|领取福利|微信扫码领取福利|"
    "微信扫码分享|扫一扫|微信|微博|QQ空间|字号|【打印】|【关闭】|【大】|【中】|【小】|>|>>|\\|"
)
_NOISE_PATTERNS = [
    # page markers: 第3页 / 共38页, 共38页 第3页, Page 3 of 38, - 3 -, 字体:大 中 小, uploaded file names
    r"第\s*\d+\s*页(\s*[/,]?\s*共\s*\d+\s*页)?",
    r"共\s*\d+\s*页\s*[/,]?\s*第\s*\d+\s*页",
    r"(Page|页码)\s*\d+(\s*(of|/)\s*\d+)?",
    r"【?\s*字[体号]\s*:?\s*[大中小\s]+】?.*",
    r"[-—–]\s*\d{1,4}\s*[-—–]",
    r".*\.(docx?|pdf|wps|txt|pptx?)(_第\s*\d+\s*页)?",  # an uploaded file's name, alone on its line
    # upload banners and metadata of document-sharing sites
    r".*(上传人|上传者|上传时间|文档编号|文档格式|下载积分|浏览次数|访问次数|阅读次数)\s*:.*",
    r".*(阅读时长|加入收藏|记住我|免费下载|会员登录).*",
    r".*(备案号|ICP备|公网安备|版权所有|Copyright|©).*",
    r".*经营许可证\s*:.*",
    r"当前位置\s*[:>].*",
    # government disclosure metadata (索引号/发布机构/成文日期 … with a colon)
    r".*(信息索引号|索引号|主题分类|体裁分类|发布机构|成文日期|公开方式|发布日期|信息来源)\s*:.*",
    # navigation lines made only of navigation words
    rf"(\s*({_NAV_WORDS})\s*)+",
]
_NOISE = re.compile("|".join(f"(?:{p})" for p in _NOISE_PATTERNS))
_MAX_NOISE_LINE = 120  # a long line is body text even when it mentions 阅读时长 or 版权所有


def normalize_line(line: str) -> str:
    """Full-width digits, letters and punctuation to half-width, one character for one."""
    half = _FULL_WIDTH_RUN.sub(lambda run: run.group().translate(_HALF_WIDTH), line)
    return _RATIO_COLON.sub(":", half)


def is_noise(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and len(stripped) <= _MAX_NOISE_LINE and _NOISE.fullmatch(stripped) is not None


def clean_text(text: str) -> str:
    """Blank noise lines (never delete them) and normalize the rest; line i stays line i."""
    lines = normalize_line(text).split("\n")
    return "\n".join("" if is_noise(line) else line for line in lines)


# --- formats ------------------------------------------------------------------------------------

def _docx_text(raw: bytes, name: str) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise UnreadableDocument(f"{name}: not a readable .docx file ({exc})") from exc
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                seen: set[int] = set()
                for cell in row.cells:  # a merged cell is returned once per grid column it spans
                    if id(cell._tc) in seen:
                        continue
                    seen.add(id(cell._tc))
                    lines.append(" ".join(p.text for p in cell.paragraphs if p.text))
    return "\n".join(lines)


def _pdf_text(raw: bytes, name: str) -> str:
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(f"{name}: the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableDocument:
        raise
    except Exception as exc:  # pypdf raises many error types for broken files
        raise UnreadableDocument(f"{name}: not a readable PDF ({exc})") from exc
    text = "\n".join(page.rstrip("\n") for page in pages)
    if not text.strip():
        raise UnreadableDocument(f"{name}: the PDF has no text layer (a scanned image needs OCR first)")
    return text


_HTML_DROP = ("script", "style", "noscript", "template", "nav", "iframe", "svg", "button", "select", "head")
_HTML_BLOCKS = (
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "caption", "blockquote", "pre",
    "form", "fieldset", "figure", "figcaption", "address", "hr",
)
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
_BLANK_RUNS = re.compile(r"\n\s*\n(\s*\n)+")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


def _html_text(raw: bytes, name: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup, NavigableString
    from bs4.element import PreformattedString

    declared = _META_CHARSET.search(raw[:4096])
    markup, encoding = decode_bytes(raw, name, declared.group(1).decode("ascii") if declared else None)
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup(list(_HTML_DROP)):
        tag.decompose()
    for hidden in soup.find_all(string=lambda node: isinstance(node, PreformattedString)):
        hidden.extract()  # comments, doctype, CDATA
    # HTML collapses source whitespace; blocks and <br> are the only line breaks a reader sees.
    for text_node in soup.find_all(string=True):
        if text_node.find_parent("pre") is None:
            text_node.replace_with(NavigableString(_HTML_SPACE.sub(" ", str(text_node))))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(list(_HTML_BLOCKS)):
        block.insert_before("\n")
        block.insert_after("\n")
    lines = [line.strip() for line in soup.get_text().split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n"), encoding


def read_document(path: Path, raw: bytes | None = None) -> DecodedDocument:
    """Decode and clean one document (``raw``: its bytes, when the caller read them already); raises
    UnreadableDocument (file name and reason) when impossible."""
    raw = path.read_bytes() if raw is None else raw
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableDocument(f"{path.name}: unsupported file type {suffix or '(none)'}; "
                                 f"expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    if suffix == ".docx":
        original, encoding = _docx_text(raw, path.name), "docx"
    elif suffix == ".pdf":
        original, encoding = _pdf_text(raw, path.name), "pdf"
    elif suffix in (".html", ".htm"):
        original, encoding = _html_text(raw, path.name)
    else:
        original, encoding = decode_bytes(raw, path.name)
    original = original.replace("\r\n", "\n")
    return DecodedDocument(path, clean_text(original), encoding, suffix.lstrip("."), original)
