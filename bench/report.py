"""Turn wrk outputs into a table and `bench/results/latest.json`.

    python bench/report.py home=home.txt login=login.txt floor=floor.txt
    python bench/report.py ... "search (sqlite)=s.txt" --target "search (sqlite)" \
        [--max-p99-ms 50] [--min-ratio 0.5] [--attach probe_sqlite=probe.json] [--strict]

Each argument is LABEL=FILE, FILE being what `wrk --latency` printed ("-" reads stdin). The
label `floor` (or the one given with --floor) is the reference: every other row shows its
req/s divided by the floor's. Exit status 1 when a run had non-2xx/3xx responses or socket
errors (the figures then measure error pages, not the endpoint), or when a file is missing
the figures; the table and the JSON are written anyway.

`--target LABEL` (repeatable) checks that row against the issue's target: p99 under
`--max-p99-ms` (50) and req/s at least `--min-ratio` (0.5) times the floor's, and prints
PASS or FAIL. A FAIL is reported (and stored in the JSON) but only changes the exit status
(to 3) with `--strict`. `--attach NAME=FILE.json` stores another JSON document (the
in-process probe, the generator's timings) under `attachments` in the result file.

Two more commands keep every part's figures in the same `latest.json` and judge them:

    python bench/report.py merge PART FILE.json...   # e.g. merge checkout checkout-*.json
    python bench/report.py check [--json latest.json] [--strict]

`merge` stores the files under `parts.PART` of latest.json, beside the floor measured in
the same run (`BENCH_RUN_ID`, set by bench/run.sh: a file of another run is started
afresh, so a figure is never paired with another run's floor). `check` prints PASS/FAIL
for every target of issue 24 (TARGETS below: home >= 0.8 x floor, login >= 0.5 x floor,
checkout >= 100/s with 0 oversold, search p99 < 50 ms and >= 0.5 x floor); a target whose
figure is missing from latest.json is NOT MEASURED, a FAIL too. With `--strict` (what
`BENCH_STRICT=1 make bench` runs at the end) the exit status is 3 when any target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
RUN_ID = os.environ.get("BENCH_RUN_ID", "")
TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}

_RUNNING = re.compile(r"Running (\S+) test @ (\S+)")
_SHAPE = re.compile(r"(\d+) threads and (\d+) connections")
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_REQUESTS_SEC = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def to_ms(value: str, unit: str) -> float:
    return float(value) * TO_MS[unit]


def parse_wrk(text: str) -> dict:
    """The figures of one wrk run; missing ones are None (and listed under `problems`)."""
    result: dict = {"url": None, "duration": None, "threads": None, "connections": None,
                    "requests": None, "requests_per_sec": None, "p50_ms": None, "p75_ms": None,
                    "p90_ms": None, "p99_ms": None, "non_2xx_3xx": 0,
                    "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
                    "problems": []}
    if match := _RUNNING.search(text):
        result["duration"], result["url"] = match.group(1), match.group(2)
    if match := _SHAPE.search(text):
        result["threads"], result["connections"] = int(match.group(1)), int(match.group(2))
    if match := _TOTAL.search(text):
        result["requests"] = int(match.group(1))
    if match := _REQUESTS_SEC.search(text):
        result["requests_per_sec"] = float(match.group(1))
    for percent, value, unit in _PERCENTILE.findall(text):
        result[f"p{percent}_ms"] = round(to_ms(value, unit), 3)
    if match := _NON_2XX.search(text):
        result["non_2xx_3xx"] = int(match.group(1))
    if match := _SOCKET.search(text):
        result["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, match.groups()), strict=True)
        )

    for key in ("requests_per_sec", "p50_ms", "p99_ms"):
        if result[key] is None:
            result["problems"].append(f"no {key} in wrk output (was --latency given?)")
    if result["non_2xx_3xx"]:
        result["problems"].append(f"{result['non_2xx_3xx']} non-2xx/3xx responses")
    if any(result["socket_errors"].values()):
        errors = ", ".join(f"{k} {v}" for k, v in result["socket_errors"].items() if v)
        result["problems"].append(f"socket errors: {errors}")
    return result


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render(rows: dict[str, dict], floor: str) -> str:
    floor_rps = rows.get(floor, {}).get("requests_per_sec")
    header = ("endpoint", "url", "req/s", "p50 ms", "p99 ms", "vs floor")
    table = []
    for label, row in rows.items():
        ratio = row.get("ratio_to_floor")
        table.append((label, row["url"] or "?", _fmt(row["requests_per_sec"], 1),
                      _fmt(row["p50_ms"], 2), _fmt(row["p99_ms"], 2), _fmt(ratio, 2)))
    widths = [max(len(str(r[i])) for r in (header, *table)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for cells in table:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    if floor_rps:
        lines.append("")
        for label, row in rows.items():
            if label != floor and row.get("ratio_to_floor") is not None:
                lines.append(f"{label} / {floor} = {row['ratio_to_floor']:.2f}")
    for label, row in rows.items():
        for problem in row["problems"]:
            lines.append(f"WARNING {label}: {problem}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    if argv[:1] == ["check"]:
        return check_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="LABEL=FILE")
    parser.add_argument("--floor", default="floor", help="label of the reference run")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument("--target", action="append", default=[], metavar="LABEL",
                        help="check this row against --max-p99-ms and --min-ratio")
    parser.add_argument("--max-p99-ms", type=float, default=50.0)
    parser.add_argument("--min-ratio", type=float, default=0.5)
    parser.add_argument("--strict", action="store_true", help="exit 3 when a target fails")
    parser.add_argument("--attach", action="append", default=[], metavar="NAME=FILE")
    args = parser.parse_intermixed_args(argv)  # LABEL=FILE and --target may alternate

    rows: dict[str, dict] = {}
    for spec in args.runs:
        label, sep, filename = spec.partition("=")
        if not sep or not label or not filename:
            parser.error(f"expected LABEL=FILE, got {spec!r}")
        text = sys.stdin.read() if filename == "-" else Path(filename).read_text()
        rows[label] = parse_wrk(text)

    floor_rps = rows.get(args.floor, {}).get("requests_per_sec")
    for row in rows.values():
        rps = row["requests_per_sec"]
        row["ratio_to_floor"] = round(rps / floor_rps, 3) if floor_rps and rps else None

    print(render(rows, args.floor))
    targets = {}
    for label in args.target:
        if label not in rows:
            parser.error(f"--target {label!r}: no such run")
        targets[label] = check_target(rows[label], args.max_p99_ms, args.min_ratio)
    if targets:
        print()
        for label, verdict in targets.items():
            print(f"{'PASS' if verdict['passed'] else 'FAIL'} {label}: {verdict['summary']}")

    attachments = {}
    for spec in args.attach:
        name, sep, filename = spec.partition("=")
        if not sep or not name or not filename:
            parser.error(f"expected NAME=FILE for --attach, got {spec!r}")
        path = Path(filename)
        attachments[name] = json.loads(path.read_text()) if path.exists() else None

    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = _load_run(args.json)
    payload.update({"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "floor": args.floor, "floor_rps": floor_rps, "results": rows})
    if targets:
        payload["targets"] = {"max_p99_ms": args.max_p99_ms, "min_ratio": args.min_ratio,
                              "verdicts": targets}
    if attachments:
        payload["attachments"] = attachments
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwritten: {args.json}")
    if any(row["problems"] for row in rows.values()):
        return 1
    if args.strict and not all(v["passed"] for v in targets.values()):
        return 3
    return 0


def check_target(row: dict, max_p99_ms: float, min_ratio: float) -> dict:
    """p99 < max_p99_ms and req/s >= min_ratio x floor; missing figures fail."""
    p99, ratio = row.get("p99_ms"), row.get("ratio_to_floor")
    p99_ok = p99 is not None and p99 < max_p99_ms
    ratio_ok = ratio is not None and ratio >= min_ratio
    summary = (f"p99 {_fmt(p99, 1)} ms {'<' if p99_ok else 'NOT <'} {max_p99_ms:g} ms; "
               f"req/s {_fmt(row.get('requests_per_sec'), 1)} = {_fmt(ratio, 2)} x floor "
               f"{'>=' if ratio_ok else 'NOT >='} {min_ratio:g}")
    if row["problems"]:
        summary += " (run had problems, see WARNING)"
    return {"passed": p99_ok and ratio_ok and not row["problems"], "p99_ok": p99_ok,
            "ratio_ok": ratio_ok, "summary": summary}


# --- every part in one file, and the targets ---------------------------------------------


def _load_run(path: Path) -> dict:
    """latest.json of this run (same BENCH_RUN_ID), or a fresh document for this run."""
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        payload = {}
    if not isinstance(payload, dict) or payload.get("run_id") != RUN_ID or not RUN_ID:
        payload = {}
    payload.setdefault("run_id", RUN_ID)
    payload.setdefault("load_average", _load_average())
    payload.setdefault("parts", {})
    return payload


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def merge_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="report.py merge")
    parser.add_argument("part")
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    payload = _load_run(args.json)
    entries = [json.loads(path.read_text()) for path in args.files if path.exists()]
    payload["parts"][args.part] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "floor_rps": payload.get("floor_rps"),  # the floor of this run (None: pages not run)
        "load_average": _load_average(), "entries": entries}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"{args.part}: {len(entries)} result(s) merged into {args.json}")
    return 0


def _row(payload: dict, label: str) -> dict | None:
    row = (payload.get("results") or {}).get(label)
    return row if isinstance(row, dict) else None


def _ratio_target(label: str, min_ratio: float, max_p99_ms: float | None = None):
    def judge(payload: dict) -> tuple[bool | None, str]:
        row = _row(payload, label)
        if row is None or row.get("ratio_to_floor") is None:
            return None, "not in latest.json"
        ratio, p99 = row["ratio_to_floor"], row.get("p99_ms")
        ok = ratio >= min_ratio and not row.get("problems")
        text = (f"{_fmt(row.get('requests_per_sec'), 1)} req/s = {ratio:.2f} x floor "
                f"{_fmt(payload.get('floor_rps'), 1)} (target >= {min_ratio:g})")
        if max_p99_ms is not None:
            ok = ok and p99 is not None and p99 < max_p99_ms
            text += f", p99 {_fmt(p99, 1)} ms (target < {max_p99_ms:g})"
        return ok, text
    return judge


def _checkout_target(database: str, min_per_s: float):
    def judge(payload: dict) -> tuple[bool | None, str]:
        entries = ((payload.get("parts") or {}).get("checkout") or {}).get("entries") or []
        mine = [e for e in entries if str(e.get("label", "")).startswith(database + "/")]
        plenty = [e for e in mine if e.get("label") == f"{database}/plenty"]
        if not plenty:
            return None, "not in latest.json"
        rate = plenty[0].get("checkouts_per_s") or 0.0
        failed = [c["what"] for e in mine for c in e.get("checks", []) if not c.get("ok")]
        errors = sum(e.get("server_errors", 0) for e in mine)
        ok = rate >= min_per_s and not failed and not errors
        text = (f"{rate:.1f} checkouts/s with stock for all (target >= {min_per_s:g}); "
                f"{'every stock check ok' if not failed else 'FAILED: ' + '; '.join(failed)}"
                f", {errors} 5xx")
        return ok, text
    return judge


def _search_target(database: str, min_ratio: float, max_p99_ms: float):
    """The search part's rows (bench/search.sh: latest.json "search" -> "databases" ->
    DATABASE, each row against the floor measured just before it): the skewed mix and the
    all-unique one (the miss path) must both pass. The older pages.sh row
    "search (DATABASE)" counts when the search part did not run."""
    def judge(payload: dict) -> tuple[bool | None, str]:
        report = (((payload.get("search") or {}).get("databases") or {}).get(database)
                  or {})
        rows = {label: row for label, row in (report.get("results") or {}).items()
                if label.startswith("search ")}
        if not rows and _row(payload, f"search ({database})") is not None:
            return _ratio_target(f"search ({database})", min_ratio, max_p99_ms)(payload)
        if not rows:
            return None, "not in latest.json"
        floor = (report.get("results") or {}).get("floor", {}).get("requests_per_sec")
        oks, texts = [], []
        for label, row in sorted(rows.items()):
            ratio, p99 = row.get("ratio_to_floor"), row.get("p99_ms")
            ratio_ok = min_ratio <= 0 or (ratio is not None and ratio >= min_ratio)
            oks.append(ratio_ok and p99 is not None and p99 < max_p99_ms
                       and not row.get("problems"))
            texts.append(f"{label}: p99 {_fmt(p99, 1)} ms, {_fmt(ratio, 2)} x floor")
        target = f"p99 < {max_p99_ms:g} ms" + (f", >= {min_ratio:g} x floor {_fmt(floor, 1)}"
                                               if min_ratio > 0 else "")
        return all(oks), "; ".join(texts) + f" (target {target})"
    return judge


# Issue 24's targets: name -> judge(latest.json) -> (passed, or None when not measured; text).
TARGETS = {
    "home": _ratio_target("home", 0.8),
    "login": _ratio_target("login", 0.5),
    "checkout (sqlite)": _checkout_target("sqlite", 100.0),
    "checkout (postgres)": _checkout_target("postgres", 100.0),
    "search (sqlite)": _search_target("sqlite", 0.5, 50.0),
    "search (postgres)": _search_target("postgres", 0.5, 50.0),
    "search 1M (postgres)": _search_target("postgres-1m", 0.0, 100.0),
}


def check_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="report.py check")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--strict", action="store_true", help="exit 3 when a target fails")
    parser.add_argument("--only", action="append", default=[], metavar="TARGET",
                        help="judge only these targets (repeatable)")
    args = parser.parse_args(argv)
    try:
        payload = json.loads(args.json.read_text())
    except (OSError, ValueError) as error:
        print(f"no results to check in {args.json}: {error}")
        return 3 if args.strict else 0
    print(f"targets (run {payload.get('run_id') or '?'}, load average "
          f"{payload.get('load_average')}):")
    verdicts = {}
    for name, judge in TARGETS.items():
        if args.only and name not in args.only:
            continue
        passed, text = judge(payload)
        verdicts[name] = {"passed": bool(passed), "measured": passed is not None,
                          "summary": text}
        print(f"{'PASS' if passed else 'FAIL' if passed is False else 'NOT MEASURED'} "
              f"{name}: {text}")
    payload["verdicts"] = verdicts
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.strict and not all(v["passed"] for v in verdicts.values()):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
