"""plan_documents: a manifest saved by Excel (GB18030) with lenient years, and everything it or plans/
holds that cannot be used refused with the file, the row and a reason; and a whole run over such
inputs and broken reference rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.documents import load_documents, manifest_entries, parse_year, read_manifest
from pipelines.lib.reference import load_regions
from pipelines.runner import run_once

REPEATED_NAMES = Path(__file__).parent / "fixtures" / "reference" / "regions_with_repeated_names.csv"
PLAN_TEXT = "{}国民经济和社会发展“十四五”规划纲要\n2021年1月\n地区生产总值达到1000亿元。\n"


def gb18030(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("gb18030"))
    return path


def test_years_are_read_leniently():
    years = pl.Series(["2021", "2021年", " ２０２１ ", "2021.0", "2021年度", "二〇二一年", "21", "2021-05", None])
    assert pl.select(parse_year(pl.lit(years))).to_series().to_list() == [
        2021, 2021, 2021, 2021, 2021, None, None, None, None]


def test_an_excel_manifest_and_a_messy_plans_folder(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    for name, region in [("a.txt", "张家港市"), ("b.txt", "鼓楼区"), ("c.txt", "张家港市"), ("d.txt", "张家港市"),
                         ("e.txt", "南京市鼓楼区"), ("f.txt", "某某新区")]:
        (plans / name).write_text(PLAN_TEXT.format(region), encoding="utf-8")
    for name in ("old.doc", "scan.wps", "figures.xlsx", ".DS_Store", "~$a.docx"):
        (plans / name).write_bytes(b"\xd0\xcf\x11\xe0 binary")
    (plans / "archive").mkdir()
    manifest = gb18030(plans / "manifest.csv", (
        "file,region,doc_type,period,year,title\n"
        "a.txt,张家港市 ,five_year_plan,十四五,2021年,张家港市十四五规划\n"     # row 2: fine, with a trailing space
        "b.txt,鼓楼区,five_year_plan,十四五,二〇二一,鼓楼区十四五规划\n"        # row 3: ambiguous region, bad year
        "c.txt,张家港市,plan,十六五,2022,\n"                                  # row 4: bad type and period
        "gone.txt,张家港市,bulletin,,2021,\n"                                 # row 5: no such file
        "d.txt,张家港市,work_report,,2019,第一稿\n"                           # row 6: replaced by row 7
        "d.txt,张家港市,work_report,,2020,第二稿\n"                           # row 7
        ",张家港市,work_report,,2020,\n"                                      # row 8: no file
        "f.txt,某某新区,special_plan,十四五,2021,\n"))                         # row 9: unknown region
    result = load_documents(plans, manifest, load_regions(REPEATED_NAMES))

    docs = {row["file"]: row for row in result.rows.iter_rows(named=True)}
    assert sorted(docs) == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt"]
    assert (docs["a.txt"]["region_code"], docs["a.txt"]["region_name"], docs["a.txt"]["year"]) == (
        "320582", "张家港市", 2021)
    assert (docs["b.txt"]["region_code"], docs["b.txt"]["year"], docs["b.txt"]["doc_type"]) == (
        None, None, "five_year_plan")
    assert (docs["c.txt"]["doc_type"], docs["c.txt"]["period"], docs["c.txt"]["period_start"],
            docs["c.txt"]["year"]) == (None, None, None, 2022)
    assert (docs["d.txt"]["year"], docs["d.txt"]["title"]) == (2020, "第二稿")
    # Not in the manifest: identified from its first lines, the longest region name first.
    assert (docs["e.txt"]["region_code"], docs["e.txt"]["region_name"], docs["e.txt"]["doc_type"],
            docs["e.txt"]["period"], docs["e.txt"]["year"]) == ("320106", "南京市鼓楼区", "five_year_plan", "十四五", 2021)
    assert docs["f.txt"]["region_code"] is None

    refused = sorted((r["source_file"], r["location"], r["reason"]) for r in result.rejected.iter_rows(named=True))
    unsupported = "unsupported format; save as docx/pdf/txt/html"
    not_read = "; the document is read but its figures cannot be tied to a region code"
    assert refused == sorted([
        ("archive", "whole file", "a folder: documents are read from plans/ itself, not from its subfolders"),
        ("figures.xlsx", "whole file", f".xlsx: {unsupported}"),
        ("old.doc", "whole file", f".doc: {unsupported}"),
        ("scan.wps", "whole file", f".wps: {unsupported}"),
        ("manifest.csv", "row 3", "year '二〇二一' is not a year (write 2021 or 2021年); the document is read without a year"),
        ("manifest.csv", "row 4", "doc_type 'plan' is not one of five_year_plan, special_plan, implementation_plan, "
                                  "work_report, bulletin; the document is read without a type"),
        ("manifest.csv", "row 4", "period '十六五' is not one of 十二五, 十三五, 十四五, 十五五; the document is read "
                                  "without a period"),
        ("manifest.csv", "row 5", "gone.txt is not in plans/: check the file name (with its extension) or delete the row"),
        ("manifest.csv", "row 6", "d.txt is listed again on row 7; that later row is used, delete this one"),
        ("manifest.csv", "row 8", "no file name: fill in the file column or delete the row"),
        ("b.txt", "manifest.csv row 3", "'鼓楼区' is ambiguous: 320106 (南京市鼓楼区), 350102 (福州市鼓楼区); write it "
                                        "with its parent area (e.g. 南京市鼓楼区) or as the region code" + not_read),
        ("f.txt", "manifest.csv row 9", "region '某某新区' is not in reference/regions.csv" + not_read),
    ])


def test_an_unreadable_manifest_is_refused_whole_and_documents_are_identified_from_their_text(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "a.txt").write_text(PLAN_TEXT.format("张家港市"), encoding="utf-8")
    (plans / "manifest.csv").write_bytes(b"\x00\x01\x02\x03" * 50)
    result = load_documents(plans, plans / "manifest.csv", load_regions(REPEATED_NAMES))
    assert result.rows.select("file", "region_code", "year").rows() == [("a.txt", "320582", 2021)]
    assert result.rejected.select("source_file", "location").rows() == [("manifest.csv", "whole file")]
    assert "cannot be read as CSV" in result.rejected["reason"][0]


def test_no_manifest_is_no_rows_and_a_file_listed_twice_keeps_its_last_row(tmp_path):
    assert read_manifest(tmp_path / "manifest.csv").is_empty()
    entries = manifest_entries(pl.DataFrame(
        {"row": [2, 3], "file": ["a.txt", "a.txt"], "region": ["张家港市", "张家港"], "doc_type": [None, None],
         "period": [None, None], "year": ["2019", "2020年"], "title": [None, None]},
        schema_overrides={"row": pl.UInt32}), "manifest.csv", ["a.txt"])
    assert entries.rows.select("row", "region", "year").rows() == [(3, "张家港", 2020)]


def test_a_run_over_an_excel_manifest_and_broken_reference_rows(planwatch_env):
    raw = planwatch_env["raw"]
    # The manifest as Excel saves it: GB18030, a trailing space, a year with 年, a row for a file never added.
    manifest = (raw / "plans" / "manifest.csv").read_text(encoding="utf-8")
    manifest = manifest.replace("000_5f1d04267c917102.txt,张家港市,five_year_plan,十三五,2016,",
                                "000_5f1d04267c917102.txt,张家港市 ,five_year_plan,十三五,2016年,")
    gb18030(raw / "plans" / "manifest.csv", manifest + "005_missing.txt,张家港市,bulletin,,2020,\n")
    shutil.copyfile(raw / "plans" / "003_c4b58e0cbdf9c019.txt", raw / "plans" / "003_copy.doc")
    regions = (raw / "reference" / "regions.csv").read_text(encoding="utf-8")
    gb18030(raw / "reference" / "regions.csv", regions + (
        "320106,鼓楼区,county,320100,\n320106,玄武区,county,320100,\n"   # one code, two regions
        "320102,,county,320100,\n"                                      # no name
        + next(line for line in regions.splitlines() if ",椒江区," in line) + "\n"))  # 椒江区 again

    result = run_once()
    assert result.success

    con = duckdb.connect(str(planwatch_env["warehouse"] / "planwatch.duckdb"), read_only=True)
    try:
        assert con.sql("SELECT region_code, region_name, year FROM document "
                       "WHERE file = '000_5f1d04267c917102.txt'").fetchall() == [("320582", "张家港市", 2016)]
        assert con.sql("SELECT count(*) FROM document").fetchall() == [(5,)]
        assert con.sql("SELECT count(*) FROM region").fetchall() == [(len(regions.splitlines()) - 1,)]
        assert con.sql("SELECT count(*) FROM target WHERE region_code = '320582'").fetchall()[0][0] > 0
        refused = con.sql("SELECT source_file, location, stage FROM rejected_row "
                          "WHERE source_file IN ('manifest.csv', '003_copy.doc', 'regions.csv') "
                          "ORDER BY source_file, location, stage").fetchall()
    finally:
        con.close()
    n = len(regions.splitlines())
    assert refused == sorted([
        ("003_copy.doc", "whole file", "read"),
        ("manifest.csv", "row 7", "read"),
        ("regions.csv", f"row {n + 1}", "validate:key_is_unique"),
        ("regions.csv", f"row {n + 2}", "validate:key_is_unique"),
        ("regions.csv", f"row {n + 3}", "validate:name_zh:not_nullable"),
        ("regions.csv", f"row {n + 4}", "reference"),
    ])


def test_the_document_index_skips_unchanged_files_and_reads_changed_ones(tmp_path):
    """A second run reads only what changed (size, mtime, inode); every other field comes out the same."""
    from pipelines.lib.documents import DocumentIndex, reread_text

    plans = tmp_path / "plans"
    plans.mkdir()
    for name, region in [("a.txt", "张家港市"), ("b.txt", "南京市鼓楼区"), ("c.txt", "张家港市")]:
        (plans / name).write_text(PLAN_TEXT.format(region), encoding="utf-8")
    manifest = plans / "manifest.csv"
    manifest.write_text("file,region,doc_type,period,year\na.txt,张家港市,five_year_plan,十四五,2021\n"
                        "b.txt,南京市鼓楼区,five_year_plan,十四五,2021\n", encoding="utf-8")
    regions = load_regions(REPEATED_NAMES)
    index = DocumentIndex.at(tmp_path / "cache", regions)

    first = load_documents(plans, manifest, regions, index).rows
    assert first["text"].null_count() == 0  # nothing indexed yet: every file is read
    second = load_documents(plans, manifest, regions, index).rows
    assert second["text"].null_count() == 3
    assert second.drop("text").equals(first.drop("text"))
    assert reread_text(plans, second.row(0, named=True)) == (first["text"][0], True)

    # b.txt changes (a new size); c.txt (unlisted, identified from its text) is now listed with another year.
    (plans / "b.txt").write_text(PLAN_TEXT.format("南京市鼓楼区") + "森林覆盖率达到30%。\n", encoding="utf-8")
    manifest.write_text(manifest.read_text(encoding="utf-8") + "c.txt,张家港市,work_report,,2023\n", encoding="utf-8")
    third = load_documents(plans, manifest, regions, index).rows
    assert third["text"].is_null().to_list() == [True, False, True]
    assert third["doc_id"][1] != first["doc_id"][1] and third["n_lines"][1] == first["n_lines"][1] + 1
    assert third.row(2, named=True) | {"text": None} == third.row(2, named=True)
    assert (third["doc_type"][2], third["year"][2]) == ("work_report", 2023)

    # Unlisted again: the identity guessed from its first lines when it was read is still known.
    manifest.write_text(manifest.read_text(encoding="utf-8").rsplit("c.txt", 1)[0], encoding="utf-8")
    fourth = load_documents(plans, manifest, regions, index).rows
    assert fourth["text"].null_count() == 3
    assert fourth.row(2, named=True) == first.row(2, named=True) | {"text": None}

    # A file rewritten after plan_documents ran: reread says its bytes are no longer those of its doc_id.
    (plans / "a.txt").write_text("另一份文件\n", encoding="utf-8")
    assert reread_text(plans, fourth.row(0, named=True)) == ("另一份文件\n", False)


def test_an_edit_whose_modification_time_was_put_back_is_still_seen(tmp_path):
    """Same size, mtime restored (touch -r, cp -p): the change time gives it away."""
    import os

    from pipelines.lib.documents import DocumentIndex

    plans = tmp_path / "plans"
    plans.mkdir()
    path = plans / "a.txt"
    path.write_text(PLAN_TEXT.format("张家港市"), encoding="utf-8")
    regions = load_regions(REPEATED_NAMES)
    index = DocumentIndex.at(tmp_path / "cache", regions)
    first = load_documents(plans, plans / "manifest.csv", regions, index).rows
    stat = path.stat()
    path.write_text(PLAN_TEXT.format("张家港市").replace("1000", "2000"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    second = load_documents(plans, plans / "manifest.csv", regions, index).rows
    assert second["text"][0] is not None and second["doc_id"][0] != first["doc_id"][0]
