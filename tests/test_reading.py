"""Reading plan documents: formats, detected encodings, noise lines blanked in place, width normalization."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from pipelines.lib.reading import UnreadableDocument, read_document

BODY = [
    "第一章 发展基础",
    "全年实现地区生产总值2720亿元，增长6.8%。",
    "森林覆盖率达到22.6%,城乡居民收入比缩小到2.04。",
]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "prefix", "reported"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("gbk", b"", "gb18030"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
    ],
)
def test_txt_encoding_is_detected(tmp_path, encoding, prefix, reported):
    text = "\n".join(BODY * 4)
    doc = read_document(write(tmp_path, "plan.txt", prefix + text.encode(encoding)))
    assert doc.encoding == reported
    assert doc.format == "txt"
    assert doc.lines[1] == "全年实现地区生产总值2720亿元,增长6.8%。"  # full-width comma made half-width
    assert doc.original.split("\n")[1] == BODY[1]
    assert len(doc.lines) == len(BODY) * 4


def test_noise_lines_are_blanked_in_place(tmp_path):
    lines = [
        "文似观山不喜平 — — 观山文库◆记住我,来上我~",
        "上传人:张三 文档编号:1633527 上传时间:2022-12-12 格式:DOCX 页数:38 大小:32.15KB",
        "返回 下载 相关 举报",
        "某某实施方案.docx_第1页",
        "某某实施方案.docx",
        "第1页 / 共38页",
        "到2025年,常住人口城镇化率达到75%。",
        "- 12 -",
        "admin 分享 时间: 加入收藏 共计18987个字,预计阅读时长64分钟",
        "发布日期: 2022-11-17 16: 40 访问次数: 信息来源: 某区人民政府",
        "上一页 下一页 返回顶部",
        "当前位置:首页 > 生活休闲 > 在线阅读",
        "备案号:宁ICP备20000045号-2",
        "政府网站年访问量达到120万人次,文库资源1.2万册。",
        "85.1",
        "--",
        "共38页 第3页",
        "【字体:大 中 小】 【打印本页】 【关闭窗口】",
        "上一篇 下一篇",
    ]
    doc = read_document(write(tmp_path, "page.txt", "\n".join(lines).encode("utf-8")))
    kept = {i: line for i, line in enumerate(doc.lines, start=1) if line}
    assert kept == {7: lines[6], 14: lines[13], 15: "85.1", 16: "--"}
    assert doc.original.split("\n") == lines


def test_full_width_digits_are_normalized_one_for_one(tmp_path):
    line = "森林覆盖率达到２２．６％，城乡居民收入比２．０４∶１（２０２０年）"
    doc = read_document(write(tmp_path, "fw.txt", line.encode("gb18030")))
    assert doc.encoding == "gb18030"
    assert doc.text == "森林覆盖率达到22.6%,城乡居民收入比2.04:1(2020年)"
    assert len(doc.text) == len(doc.original) == len(line)
    start = doc.text.index("22.6%")
    assert doc.original[start:start + 5] == "２２．６％"  # offsets found in text quote the original


def test_crlf_keeps_line_numbers(tmp_path):
    doc = read_document(write(tmp_path, "crlf.txt", "\r\n".join(BODY).encode("utf-8")))
    assert doc.lines == [BODY[0], "全年实现地区生产总值2720亿元,增长6.8%。", BODY[2]]


def test_docx_paragraphs_and_table_cells_one_per_line(tmp_path):
    document = docx.Document()
    document.add_paragraph(BODY[0])
    table = document.add_table(rows=2, cols=3)
    for cell, value in zip(table.rows[0].cells, ["指标", "2020年", "2025年"], strict=True):
        cell.text = value
    for cell, value in zip(table.rows[1].cells, ["森林覆盖率(%)", "22.6", "23"], strict=True):
        cell.text = value
    merged = document.add_table(rows=1, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "备注:合并单元格"
    document.add_paragraph(BODY[2])
    path = tmp_path / "plan.docx"
    document.save(path)
    doc = read_document(path)
    assert doc.format == "docx"
    assert doc.lines == [BODY[0], "指标", "2020年", "2025年", "森林覆盖率(%)", "22.6", "23",
                         "备注:合并单元格", BODY[2]]


def test_pdf_text_layer(tmp_path):
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "plan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, 720, "第1页 / 共2页")
    pdf.drawString(72, 700, BODY[1])
    pdf.showPage()
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, 720, BODY[2])
    pdf.save()
    doc = read_document(path)
    assert doc.format == "pdf"
    assert doc.lines == ["", "全年实现地区生产总值2720亿元,增长6.8%。", BODY[2]]


def test_pdf_without_text_layer_is_refused(tmp_path):
    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(72, 72, 100, 100, fill=1)
    pdf.save()
    with pytest.raises(UnreadableDocument, match="scan.pdf: the PDF has no text layer"):
        read_document(path)


def test_html_blocks_become_lines_and_page_chrome_is_dropped(tmp_path):
    html = f"""<!DOCTYPE html><html><head><meta charset="gb2312"><title>某区政府工作报告</title>
    <style>p {{ color: red }}</style><script>var total = 12345;</script></head>
    <body><nav><a href="/">首页</a> <a href="/list">新闻</a></nav>
    <div class="crumb">当前位置:首页 &gt; 政务公开</div>
    <!-- 统计代码 999 -->
    <h1>{BODY[0]}</h1>
    <p>全年实现地区生产总值<b>2720</b>亿元，
       增长6.8%。</p>
    <table><tr><td>森林覆盖率(%)</td><td>22.6</td></tr></table>
    <p>第一行<br>第二行</p>
    <div>上一页 下一页</div></body></html>"""
    doc = read_document(write(tmp_path, "report.html", html.encode("gb18030")))
    assert doc.format == "html"
    assert doc.encoding == "gb18030"  # declared gb2312: read with its superset
    lines = [line for line in doc.lines if line]
    assert lines == [BODY[0], "全年实现地区生产总值2720亿元, 增长6.8%。", "森林覆盖率(%)", "22.6",
                     "第一行", "第二行"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"  \n", "empty.txt: the file is empty"),
        ("garbage.txt", bytes(range(256)) * 40, "garbage.txt: (binary content|not text)"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "broken.docx: not a readable .docx"),
        ("broken.pdf", b"%PDF-1.4 garbage", "broken.pdf: (not a readable PDF|the PDF has no text layer)"),
        ("table.xls", b"whatever", "table.xls: unsupported file type .xls"),
    ],
)
def test_unreadable_documents_name_the_file_and_reason(tmp_path, name, data, reason):
    with pytest.raises(UnreadableDocument, match=reason):
        read_document(write(tmp_path, name, data))


def test_seed_documents_keep_their_line_count():
    for path in sorted((Path(__file__).parents[1] / "data/raw/plans").glob("*.txt")):
        doc = read_document(path)
        assert doc.encoding == "utf-8"
        assert len(doc.lines) == len(path.read_bytes().decode("utf-8").split("\n"))
