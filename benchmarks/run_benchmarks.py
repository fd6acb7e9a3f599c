"""Time Planwatch on synthetic corpora of several sizes.

    python -m benchmarks.run_benchmarks --sizes 100,1000,2900 --executor both

For each size it generates the corpus (benchmarks/generate_corpus.py; kept and re-used while its
parameters are unchanged), then runs the nightly job through the public entry point
(pipelines.runner.run_once, in a child process pointed at the corpus by PLANWATCH_RAW_DIR and
PLANWATCH_WAREHOUSE_DIR) and records

- full run: wall time, time per stage (Dagster step durations; parallel chunks summed), peak
  memory of the process tree (psutil, sampled every 0.1 s) and the largest single process;
- incremental run: one document changed, the facts cache warm: the same numbers, and how many
  documents were extracted again;
- with --executor both: the same full run under the multiprocess executor, and whether the
  warehouse tables came out identical;
- extraction throughput (on the smallest size): MB of text per second through
  pipelines.lib.extraction.extract_facts, next to one compiled regular-expression pass over the
  same text (the floor for reading it once), and their ratio.

Results go to benchmarks/results/<UTC time>.json and, as a Markdown table, to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil

from benchmarks.generate_corpus import DEFAULT_MIX, generate

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK_DIR = REPO_ROOT / "benchmarks" / "out"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
FLOOR_PATTERN = re.compile(r"\d+(?:\.\d+)?")  # every number: what any extractor has to find at least
PERIOD_YEARS = {"十三五": (2016, 2020), "十四五": (2021, 2025), "十五五": (2026, 2030)}
# Tables compared between executors; columns that differ by run (ids, load times) are left out.
COMPARED_TABLES = {"document": ["loaded_at"], "extracted_fact": [], "target": [], "observation": ["loaded_at", "run_id"],
                   "assessment": ["run_id", "assessed_at"]}


# ---------------------------------------------------------------------------------------------------------
# The child: one pipeline run, reporting its steps


def child_run(report: Path) -> int:
    """Run the nightly job once (executor from PLANWATCH_EXECUTOR) and write what happened to ``report``."""
    from pipelines.runner import run_once

    started = time.perf_counter()
    result = run_once({"planwatch/benchmark": "1"})
    wall = time.perf_counter() - started
    steps, failures, extraction = {}, [], {}
    for event in result.all_events:
        if event.is_step_success:
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
        elif event.is_step_failure:
            failures.append(f"{event.step_key}: {event.event_specific_data.error.message.strip()[:300]}")
        elif event.is_step_materialization and event.asset_key.to_user_string() == "extracted_facts":
            extraction = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    report.write_text(json.dumps({
        "success": result.success, "run_id": result.run_id, "run_seconds": wall, "steps": steps,
        "failures": failures, "extraction": extraction,
        "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "maxrss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }, ensure_ascii=False, default=str))
    return 0 if result.success else 1


def stage_of(step_key: str) -> str:
    """'extracted_facts.extract_document_chunk[chunk_0003]' -> 'extracted_facts.extract_document_chunk'."""
    return step_key.split("[", 1)[0]


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled on a thread; the whole
    tree is killed when it passes ``cap_mb`` (a shared machine must not run out of memory)."""

    def __init__(self, pid: int, cap_mb: float, interval: float = 0.1):
        self.root, self.cap, self.interval = psutil.Process(pid), cap_mb * 2**20, interval
        self.peak_tree = self.peak_single = 0
        self.timeline: list[tuple[float, int]] = []  # (epoch seconds, tree bytes)
        self.capped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            sizes = []
            for process in processes:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            if sizes:
                self.timeline.append((time.time(), sum(sizes)))
                self.peak_tree = max(self.peak_tree, sum(sizes))
                self.peak_single = max(self.peak_single, max(sizes))
                if sum(sizes) > self.cap:
                    self.capped = True
                    for process in reversed(processes):
                        with contextlib.suppress(psutil.NoSuchProcess):
                            process.kill()
                    return
            self._stop.wait(self.interval)

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join()
        return self.peak_tree / 2**20, self.peak_single / 2**20

    def peak_between(self, start: float, end: float) -> float:
        inside = [size for at, size in self.timeline if start <= at <= end]
        return max(inside, default=0) / 2**20


STEP_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+0000 - dagster - \w+ - \S+ - \S+ - \d+ - (\S+) - "
                       r"(STEP_START|STEP_SUCCESS|STEP_FAILURE) ")


def step_windows(log: Path) -> dict[str, tuple[float, float]]:
    """step key -> (start, end) in epoch seconds, from the Dagster log lines of a run (1 s resolution);
    a step still running when the run stopped ends at infinity."""
    windows: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = STEP_LINE.match(line)
        if match:
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
            window = windows.setdefault(match[2], [at, math.inf])
            window[1 if match[3] != "STEP_START" else 0] = at
    return {step: (start, end) for step, (start, end) in windows.items()}


FINISHED_LINE = re.compile(r' - (\S+) - STEP_SUCCESS - Finished execution of step "[^"]+" in (?:(\d+)m)?([\d.]+)(ms|s)\.')


def finished_steps(log: Path) -> dict[str, float]:
    """step key -> seconds, from the STEP_SUCCESS lines of the Dagster log (for runs stopped before their report)."""
    steps = {}
    for match in FINISHED_LINE.finditer(log.read_text(errors="replace")):
        seconds = float(match[3]) / (1000 if match[4] == "ms" else 1) + 60 * int(match[2] or 0)
        steps[match[1]] = seconds
    return steps


def measured_run(raw: Path, warehouse: Path, executor: str, timeout: float, cap_mb: float) -> dict:
    """One pipeline run in a child process: its report, wall time, peak memory overall and per stage."""
    report, log_path = warehouse / ".benchmark_run.json", warehouse / ".benchmark_run.log"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PLANWATCH_RAW_DIR": str(raw), "PLANWATCH_WAREHOUSE_DIR": str(warehouse),
           "PLANWATCH_EXECUTOR": executor}
    for name in ("DAGSTER_HOME", "PLANWATCH_FACTS_CACHE_DIR", "PLANWATCH_SMTP_HOST"):  # own instance, cache, outbox
        env.pop(name, None)
    started = time.perf_counter()
    with open(log_path, "w") as log:
        child = subprocess.Popen([sys.executable, "-m", "benchmarks.run_benchmarks", "--child-run", str(report)],
                                 cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        memory = TreeMemory(child.pid, cap_mb)
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    wall = time.perf_counter() - started
    peak_tree, peak_single = memory.stop()
    if memory.capped or child.returncode == -9:
        # The stopped run is dead: release its claim on the staging warehouse, as its message says
        # an operator should, so that the next run in this folder is not refused as concurrent.
        for leftover in warehouse.glob(".planwatch.staging.*"):
            leftover.unlink()
    outcome = json.loads(report.read_text()) if report.exists() else {"success": False, "failures": ["no report"]}
    finished = outcome.get("steps") or finished_steps(log_path)
    stages: dict[str, float] = {}
    for key, seconds in finished.items():
        stages[stage_of(key)] = stages.get(stage_of(key), 0.0) + seconds
    stage_peaks: dict[str, float] = {}
    windows = step_windows(log_path)
    for key, (start, end) in windows.items():
        stage_peaks[stage_of(key)] = max(stage_peaks.get(stage_of(key), 0.0), memory.peak_between(start, end + 1))
    last_step = max(windows, key=lambda k: windows[k][0]) if windows else None
    extraction = [window for key, window in windows.items() if key.startswith("extracted_facts.")]
    extraction_wall = (max(end for _, end in extraction) - min(start for start, _ in extraction)) if extraction else None
    extraction_wall = extraction_wall if extraction_wall != math.inf else None
    return {**outcome, "executor": executor, "wall_seconds": round(wall, 2),
            "timed_out": wall >= timeout and not outcome.get("success"), "killed_at_memory_cap_mb": cap_mb if memory.capped else None,
            "last_step_started": last_step, "extraction_wall_seconds": extraction_wall,
            "finished_steps": sorted(finished),
            "peak_tree_mb": round(peak_tree), "peak_process_mb": round(peak_single),
            "stages": {k: round(v, 2) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
            "stage_peak_tree_mb": {k: round(v) for k, v in sorted(stage_peaks.items(), key=lambda kv: -kv[1])}}


# ---------------------------------------------------------------------------------------------------------
# Corpus, changes, comparisons


def corpus(work: Path, size: int, seed: int, jobs: int) -> tuple[Path, dict]:
    """The corpus of ``size`` regions under ``work``, generated unless an identical one is there."""
    out = work / f"corpus_{size}"
    marker = out / ".generated.json"
    wanted = {"regions": size, "seed": seed, "mix": DEFAULT_MIX,
              "generator": (REPO_ROOT / "benchmarks" / "generate_corpus.py").stat().st_mtime_ns}
    if marker.exists() and json.loads(marker.read_text()).get("params") == wanted:
        return out, json.loads(marker.read_text())["summary"]
    summary = generate(out, size, seed=seed, jobs=jobs)
    marker.write_text(json.dumps({"params": wanted, "summary": summary}))
    return out, summary


def change_one_document(raw: Path) -> tuple[Path, bytes]:
    """Add one target sentence to the first five-year plan; returns the file and its original bytes."""
    path = sorted((raw / "plans").glob("*_five_year_plan_*.txt"))[0]
    original = path.read_bytes()
    path.write_bytes(original + "到2025年,全社会研发经费支出占地区生产总值比重达到3.5%。\n".encode())
    return path, original


def table_digest(warehouse: Path) -> dict[str, str]:
    """Order-independent digest of each compared table of the published warehouse."""
    con = duckdb.connect(str(warehouse / "planwatch.duckdb"), read_only=True)
    try:
        digests = {}
        for table, volatile in COMPARED_TABLES.items():
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in volatile]
            row = ", ".join(f'"{c}"' for c in columns)
            digests[table] = str(con.execute(
                f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {table}").fetchall()[0])
        return digests
    finally:
        con.close()


def extraction_throughput(raw: Path) -> dict:
    """extract_facts over every document of ``raw``, against one regex pass over the same text."""
    import polars as pl

    from pipelines.lib.extraction import extract_facts
    from pipelines.lib.reference import load_catalog, load_regions

    catalog, regions = load_catalog(raw / "reference" / "indicators.csv"), load_regions(raw / "reference" / "regions.csv")
    manifest = pl.read_csv(raw / "plans" / "manifest.csv", infer_schema=False).to_dicts()
    texts = [(row, (raw / "plans" / row["file"]).read_text(encoding="utf-8")) for row in manifest]
    megabytes = sum(len(text.encode()) for _, text in texts) / 1e6

    started = time.perf_counter()
    for _, text in texts:
        for _ in FLOOR_PATTERN.finditer(text):
            pass
    floor = time.perf_counter() - started

    started, figures = time.perf_counter(), 0
    for row, text in texts:
        start, end = PERIOD_YEARS.get(row["period"] or "", (None, None))
        figures += extract_facts(text, doc=row["file"], region=row["region"], doc_type=row["doc_type"],
                                 period_start=start, period_end=end, year=int(row["year"]), catalog=catalog,
                                 regions=regions).height
    extraction = time.perf_counter() - started
    return {"documents": len(texts), "text_mb": round(megabytes, 2), "figures": figures,
            "extract_seconds": round(extraction, 2), "extract_mb_per_s": round(megabytes / extraction, 2),
            "regex_floor_seconds": round(floor, 3), "floor_mb_per_s": round(megabytes / floor, 1),
            "ratio_to_floor": round(extraction / floor, 1)}


def machine(commit: str | None) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(),
            "python": platform.python_version(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "commit": commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                               capture_output=True, text=True).stdout.strip()}


# ---------------------------------------------------------------------------------------------------------


def add_history(warehouse: Path, nights: int) -> None:
    """Copies of the latest run's assessments and refused rows as ``nights`` earlier nights, a day apart:
    the tables that grow every night, as a warehouse in service has them."""
    with duckdb.connect(str(warehouse / "planwatch.duckdb")) as con:
        latest = con.execute("SELECT run_id FROM v_latest_run").fetchall()[0][0]
        for night in range(1, nights + 1):
            for table, at in (("assessment", "assessed_at"), ("rejected_row", "rejected_at")):
                con.execute(f"""INSERT INTO {table} SELECT * REPLACE ('history-{night:03d}' AS run_id,
                                {at} - INTERVAL {night} DAY AS {at}) FROM {table} WHERE run_id = ?""", [latest])


def benchmark_size(work: Path, size: int, executors: list[str], seed: int, jobs: int, timeout: float,
                   cap_mb: float, incremental: bool = True, history_nights: int = 0) -> dict:
    raw, summary = corpus(work, size, seed, jobs)
    result = {"regions": size, "corpus": summary, "runs": {}}
    for executor in executors:
        warehouse = work / f"warehouse_{size}_{executor}"
        shutil.rmtree(warehouse, ignore_errors=True)
        warehouse.mkdir(parents=True)
        print(f"[{size}] full run, {executor} ...", flush=True)
        result["runs"][f"full_{executor}"] = full = measured_run(raw, warehouse, executor, timeout, cap_mb)
        if full["success"]:
            result["runs"][f"full_{executor}"]["digest"] = table_digest(warehouse)
        # The incremental run needs the cache a full run leaves: measured whenever extraction got through.
        if incremental and executor == executors[0] and "extracted_facts.gather_extracted_facts" in full["finished_steps"]:
            path, original = change_one_document(raw)
            try:
                print(f"[{size}] incremental run (one document changed), {executor} ...", flush=True)
                result["runs"][f"incremental_{executor}"] = measured_run(raw, warehouse, executor, timeout, cap_mb)
            finally:
                path.write_bytes(original)
            if history_nights:
                # The same night after a month in service: the document changes back, and the warehouse
                # holds the assessments and refused rows of ``history_nights`` earlier nights.
                add_history(warehouse, history_nights)
                print(f"[{size}] incremental run after {history_nights} nights of history, {executor} ...", flush=True)
                result["runs"][f"incremental_{history_nights}_nights_{executor}"] = measured_run(
                    raw, warehouse, executor, timeout, cap_mb)
    digests = [r.get("digest") for k, r in result["runs"].items() if k.startswith("full_")]
    if len(digests) > 1:
        result["executors_identical"] = all(d is not None and d == digests[0] for d in digests)
    return result


def stage_group(stage: str) -> str:
    """Stages as the table shows them: extraction's ops together, the pandera boundary checks together."""
    if stage.startswith("extracted_facts."):
        return "extracted_facts"
    return "boundary checks (valid_*)" if "_valid_" in stage else stage


def stage_table(results: dict) -> str:
    """Seconds and peak memory (MB, whole tree while the stage ran) per stage, for each run."""
    columns = [(size["regions"], name, run) for size in results["sizes"] for name, run in size["runs"].items()]
    seconds: dict[str, dict[int, float]] = {}
    peaks: dict[str, dict[int, float]] = {}
    for index, (_, _, run) in enumerate(columns):
        for stage, value in run.get("stages", {}).items():
            group = seconds.setdefault(stage_group(stage), {})
            group[index] = group.get(index, 0.0) + value
        for stage, value in run.get("stage_peak_tree_mb", {}).items():
            group = peaks.setdefault(stage_group(stage), {})
            group[index] = max(group.get(index, 0.0), value)
    order = sorted(seconds, key=lambda g: -max(seconds[g].values()))
    header = "| stage | " + " | ".join(f"{regions} {name.replace('_', ' ')}" for regions, name, _ in columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]
    for group in order:
        cells = [f"{seconds[group].get(i, 0):.1f} s / {peaks.get(group, {}).get(i, 0):.0f} MB"
                 if i in seconds[group] else "" for i in range(len(columns))]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    lines = ["| regions | documents | text MB | run | wall s | extraction s (wall / summed) | other stages s | peak tree MB "
             "| largest process MB | docs extracted / reused |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for size in results["sizes"]:
        for name, run in size["runs"].items():
            stages = run.get("stages", {})
            extraction = sum(v for k, v in stages.items() if k.startswith("extracted_facts"))
            other = sum(v for k, v in stages.items() if not k.startswith("extracted_facts"))
            docs = run.get("extraction", {})
            status = ("" if run.get("success") else f" (stopped at {run['killed_at_memory_cap_mb']} MB in {run['last_step_started']})"
                      if run.get("killed_at_memory_cap_mb") else " (TIMED OUT)" if run.get("timed_out") else " (FAILED)")
            lines.append(
                f"| {size['regions']} | {size['corpus']['documents']} | {size['corpus']['text_mb']} | {name}{status} "
                f"| {run['wall_seconds']} | {run.get('extraction_wall_seconds') or 0:.0f} / {extraction:.1f} | {other:.1f} "
                f"| {run['peak_tree_mb']} "
                f"| {run['peak_process_mb']} | {docs.get('documents extracted', '?')} / "
                f"{docs.get('documents from cache', '?')} |")
    lines += ["", stage_table(results)]
    if "throughput" in results:
        t = results["throughput"]
        lines += ["", f"Extraction throughput ({t['documents']} documents, {t['text_mb']} MB): "
                      f"{t['extract_mb_per_s']} MB/s ({t['extract_seconds']} s); one regex pass: {t['floor_mb_per_s']} MB/s "
                      f"({t['regex_floor_seconds']} s); ratio {t['ratio_to_floor']}x."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,2900", help="region counts, comma-separated")
    parser.add_argument("--executor", choices=["in_process", "multiprocess", "both"], default="in_process")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for corpus generation")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a run is stopped")
    parser.add_argument("--memory-cap-mb", type=float, default=12000,
                        help="stop a run whose process tree passes this resident memory")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="corpora and warehouses")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--commit", help="commit the code under test is at (default: git rev-parse HEAD)")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--history-nights", type=int, default=30,
                        help="after the incremental run, one more with this many earlier nights in the history (0: none)")
    parser.add_argument("--child-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_run:
        return child_run(args.child_run)

    executors = ["in_process", "multiprocess"] if args.executor == "both" else [args.executor]
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = {"taken_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(args.commit),
               "sizes": []}
    if not args.no_throughput:
        raw, _ = corpus(args.work_dir, sizes[0], args.seed, args.jobs)
        print(f"[{sizes[0]}] extraction throughput ...", flush=True)
        results["throughput"] = extraction_throughput(raw)
    for size in sizes:
        results["sizes"].append(benchmark_size(args.work_dir, size, executors, args.seed, args.jobs, args.timeout,
                                               args.memory_cap_mb, not args.no_incremental, args.history_nights))
        args.results_dir.mkdir(parents=True, exist_ok=True)
        (args.results_dir / f"{results['taken_at'].replace(':', '')}.json").write_text(
            json.dumps(results, ensure_ascii=False, indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
