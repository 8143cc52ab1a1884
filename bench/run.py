"""`make bench` / `python manage.py bench`: every page at national scale (DESIGN §6, issue #11).

    make bench                                   # SQLite: test-artifacts/bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tsunagari_bench make bench
    make bench BENCH_ARGS="--small"              # CI: a few thousand rows, 3 requests a page
    make bench-compare A=bench/results/x.json B=bench/results/y.json

What it does, each step in a process of its own (its own database settings, a cold cache):

1. builds the national data set (bench/dataset.py) in a database of its own —
   or reuses it when its stamp (generator version, scale, month, migrations)
   is unchanged: 1,800 organisations, 20,000 people, 3,000 meetings, 300,000
   registrations (one upcoming meeting with 5,000), 100,000 survey responses
   with 2,000,000 answers (one survey with 10,000), 2,000 needs;
2. builds the demo data set (migrate + seed_demo) in a second database;
3. measures every page of bench/pages.py on both, in one process per data set,
   after a warm-up, with DEBUG off (bench/settings.py), against a bare
   logged-in view measured in the same process;
4. measures registrations for one meeting under 20 concurrent clients, the
   attendance import and the navi's directory import of generated 100,000-row
   files, and the survey results
   computation;
5. prints the table with every target and a PASS / FALLS SHORT mark, and
   writes every figure to bench/results/<timestamp>-<backend>.json.

The databases: SQLite files test-artifacts/bench.sqlite3 (national),
bench-small.sqlite3 (--small) and bench-demo.sqlite3; with a PostgreSQL
DATABASE_URL its database name (with `_bench` added unless it already says
bench), and that name plus `_small` and `_demo`. Never the development database.

Exit status: 1 when a page did not answer 200, a concurrent registration
failed or a seat was oversold, or — in --small mode — a page's query count
differs from the demo data's. Times never fail the run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ARTIFACTS = ROOT / "test-artifacts"
RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- which database ---------------------------------------------------------------------------


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://", "pgsql://")) else ""


def backend_label() -> str:
    return "PostgreSQL" if postgres_url() else "SQLite"


def _split(url: str) -> tuple[str, str, str]:
    base, _slash, rest = url.rpartition("/")
    name, _q, query = rest.partition("?")
    return base, name, query


def database_env(target: str) -> dict[str, str]:
    """The environment of a phase on `target` (national, small or demo)."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    url = postgres_url()
    if url:
        base, name, query = _split(url)
        if "bench" not in name:
            name = f"{name}_bench"
        if target != "national":
            name = f"{name}_{target}"
        env["DATABASE_URL"] = f"{base}/{name}" + (f"?{query}" if query else "")
    else:
        env.pop("DATABASE_URL", None)
        ARTIFACTS.mkdir(exist_ok=True)
        files = {"national": "bench.sqlite3", "small": "bench-small.sqlite3"}
        env["SQLITE_PATH"] = str(ARTIFACTS / files.get(target, "bench-demo.sqlite3"))
    return env


def ensure_postgres_database(url: str) -> None:
    """CREATE DATABASE when it does not exist."""
    import psycopg

    base, name, _query = _split(url)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def run_phase(phase: str, target: str, args, extra: list[str] | None = None):
    """Runs one phase in a process of its own; returns what it wrote as JSON."""
    env = database_env(target)
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=ARTIFACTS, delete=False) as out:
        path = Path(out.name)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--target",
        target,
        "--json-out",
        str(path),
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
        *(["--rebuild"] if args.rebuild else []),
        *(["--only", args.only] if args.only else []),
        *(extra or []),
    ]
    try:
        done = subprocess.run(command, env=env, cwd=ROOT)
        text = path.read_text()
        result = json.loads(text) if text else {}
        if done.returncode and not result.get("phase_error"):
            result = {"phase_error": f"exit status {done.returncode} (see the log above)"}
        if result.get("phase_error") and phase in ("build", "pages"):
            # Nothing to report without the data or the pages.
            raise SystemExit(f"{phase} {target} failed:\n{result['phase_error']}")
        return result
    finally:
        path.unlink(missing_ok=True)


# --- phases (inside a process set up for one data set) ----------------------------------------


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def phase(args) -> None:
    try:
        _phase(args)
    except BaseException as exc:
        # The traceback travels to the report (an app moving under the
        # benchmark fails one measurement, not the whole run).
        if args.json_out and not isinstance(exc, KeyboardInterrupt):
            import traceback

            Path(args.json_out).write_text(json.dumps({"phase_error": traceback.format_exc()}))
        raise


def _phase(args) -> None:
    setup_django()
    from bench import dataset, measure

    if args.phase == "import-probe":
        # One JSON line on stdout: read by measure.measure_import.
        print(json.dumps(measure.import_probe(args.file, args.command or "import_attendance")))
        return
    if args.phase == "build":
        if args.target == "demo":
            result = dataset.build_demo(args.rebuild)
        else:
            result = dataset.build_national(dataset.SCALES[args.target], args.rebuild)
    elif args.phase == "pages":
        result = measure.measure_pages(args.target, args.runs, args.warmup, args.only)
    elif args.phase == "concurrency":
        result = measure.measure_concurrency(
            args.clients, args.per_client, processes=args.client_processes
        )
    elif args.phase == "import":
        result = measure.measure_import(args.import_rows, ARTIFACTS)
    elif args.phase == "directory-import":
        result = measure.measure_import(args.import_rows, ARTIFACTS, command="import_directory")
    elif args.phase == "compute":
        result = measure.measure_compute(args.compute_runs)
    else:
        raise SystemExit(f"unknown phase {args.phase}")
    Path(args.json_out).write_text(json.dumps(result, default=str))


# --- the whole run -------------------------------------------------------------------------------


def machine() -> dict:
    memory = "?"
    try:
        with open("/proc/meminfo") as meminfo:
            kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
            memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    commit = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
    }


def server_version() -> str:
    if postgres_url():
        import psycopg

        base, name, _q = _split(database_env("demo")["DATABASE_URL"])
        with psycopg.connect(f"{base}/postgres") as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]
    import sqlite3

    return sqlite3.sqlite_version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make bench",
        description="Every page at national scale (DESIGN §6, issue #11); see bench/run.py.",
    )
    parser.add_argument(
        "--small", action="store_true", help="CI scale: judged on status and queries"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the data sets again")
    parser.add_argument("--runs", type=int, help="measured requests per page (50; --small 3)")
    parser.add_argument("--warmup", type=int, help="warm-up requests per page (5; --small 1)")
    parser.add_argument("--only", help="measure only the pages whose name contains this")
    parser.add_argument("--clients", type=int, default=20, help="concurrent registering clients")
    parser.add_argument(
        "--client-processes",
        action="store_true",
        help="concurrent clients as processes instead of threads (no shared GIL)",
    )
    parser.add_argument("--per-client", type=int, help="registrations per client (25; --small 2)")
    parser.add_argument(
        "--import-rows", type=int, help="rows of the import file (100000; --small 1000)"
    )
    parser.add_argument(
        "--compute-runs", type=int, help="survey results computations (10; --small 1)"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["concurrency", "import", "directory-import", "compute"],
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    # internal: one phase in a process of its own
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--command", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    small = args.small or args.target == "small"
    for name, full, reduced in (
        ("runs", 50, 3),
        ("warmup", 5, 1),
        ("per_client", 25, 2),
        ("import_rows", 100_000, 1_000),
        ("compute_runs", 10, 1),
    ):
        if getattr(args, name) is None:
            setattr(args, name, reduced if small else full)

    if args.phase:
        phase(args)
        return 0

    started = time.perf_counter()
    ARTIFACTS.mkdir(exist_ok=True)
    mode = "small" if args.small else "national"
    meta = {
        "mode": mode,
        "backend": backend_label(),
        "server_version": server_version() if not postgres_url() else "",
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "runs": args.runs,
        "warmup": args.warmup,
        "load_start": os.getloadavg(),
        **machine(),
    }
    timings = {}
    build = {}
    for target in (mode, "demo"):
        if postgres_url():
            ensure_postgres_database(database_env(target)["DATABASE_URL"])
        t0 = time.perf_counter()
        build["national" if target == mode else "demo"] = run_phase("build", target, args)
        timings[f"build {target}"] = round(time.perf_counter() - t0, 1)
    if postgres_url():
        meta["server_version"] = server_version()

    measured = {}
    for target in ("demo", mode):
        t0 = time.perf_counter()
        measured["demo" if target == "demo" else "national"] = run_phase("pages", target, args)
        timings[f"pages {target}"] = round(time.perf_counter() - t0, 1)
    extra = [
        "--clients", str(args.clients), "--per-client", str(args.per_client),
        "--import-rows", str(args.import_rows), "--compute-runs", str(args.compute_runs),
        *(["--client-processes"] if args.client_processes else []),
    ]  # fmt: skip
    others = {}
    for name in ("concurrency", "import", "directory-import", "compute"):
        if name in args.skip:
            continue
        t0 = time.perf_counter()
        others[name] = run_phase(name, mode, args, extra)
        timings[name] = round(time.perf_counter() - t0, 1)
    meta["load_end"] = os.getloadavg()
    timings["total"] = round(time.perf_counter() - started, 1)
    meta["seconds"] = timings

    from bench import report as r

    report = {
        "meta": meta,
        "build": build,
        "bare": {"national": measured["national"]["bare"], "demo": measured["demo"]["bare"]},
        "measured": {
            k: {"load_before": v["load_before"], "seconds": v["seconds"], "context": v["context"]}
            for k, v in measured.items()
        },
        "pages": r.evaluate_pages(measured["national"], measured["demo"], small=args.small),
        **others,
    }
    report["concurrency_rows"] = r.evaluate_concurrency(
        others.get("concurrency"), small=args.small, backend=meta["backend"]
    )
    report["import_rows"] = r.evaluate_import(
        others.get("import"), small=args.small
    ) + r.evaluate_import(others.get("directory-import"), small=args.small)
    report["compute_rows"] = r.evaluate_compute(others.get("compute"))
    r.print_report(report)
    for row in report["pages"]:
        # The statements are kept only where the two data sets' counts differ.
        nat, dem = row["national"], row["demo"]
        if nat.get("queries") == dem.get("queries"):
            nat.pop("sql", None)
            dem.pop("sql", None)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        suffix = "-small" if args.small else ""
        out = RESULTS / f"{stamp}-{meta['backend'].lower()}{suffix}.json"
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
        print(f"\nall figures: {out.relative_to(ROOT)}")
    print(
        "time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
    )
    verdicts = r.verdicts(report)
    failed = r.ERROR in verdicts or (args.small and r.SHORT in verdicts)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
