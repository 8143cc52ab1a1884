"""`make bench-compare A=<run>.json B=<run>.json`: two runs of `make bench`
side by side — per page the p95 of each (national data set), B ÷ A, and the
query counts; then the registrations, the import and the survey computation.

A ratio below 1 means B is faster. Either file may be a path or a name under
bench/results/ (with or without .json). With no arguments: the two latest
full runs of the same database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> tuple[str, dict]:
    path = Path(name)
    if not path.is_file():
        path = RESULTS / (name if name.endswith(".json") else f"{name}.json")
    if not path.is_file():
        raise SystemExit(f"no such results file: {name}")
    return path.name, json.loads(path.read_text())


def _ms(value) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "—"


def _div(b, a) -> str:
    return (
        f"{b / a:.2f}" if isinstance(a, int | float) and isinstance(b, int | float) and a else "—"
    )


def compare(a: dict, b: dict) -> list[str]:
    lines = []
    pages_a = {row["label"]: row for row in a.get("pages", [])}
    pages_b = {row["label"]: row for row in b.get("pages", [])}
    labels = list(pages_a) + [k for k in pages_b if k not in pages_a]
    header = f"{'page — role':<46}{'A p95':>8}{'B p95':>8}{'B÷A':>6}{'A q':>5}{'B q':>5}  A → B"
    lines += [header, "-" * len(header)]
    for key in labels:
        ra, rb = pages_a.get(key), pages_b.get(key)
        na = (ra or {}).get("national", {})
        nb = (rb or {}).get("national", {})
        verdicts = f"{(ra or {}).get('verdict', '—')} → {(rb or {}).get('verdict', '—')}"
        lines.append(
            f"{key:<46}{_ms(na.get('p95')):>8}{_ms(nb.get('p95')):>8}"
            f"{_div(nb.get('p95'), na.get('p95')):>6}"
            f"{na.get('queries', '—'):>5}{nb.get('queries', '—'):>5}  {verdicts}"
        )
    ba, bb = a.get("bare", {}).get("national", {}), b.get("bare", {}).get("national", {})
    lines.append(
        f"{'bare logged-in view':<46}{_ms(ba.get('p95')):>8}{_ms(bb.get('p95')):>8}"
        f"{_div(bb.get('p95'), ba.get('p95')):>6}"
    )
    ca, cb = a.get("concurrency") or {}, b.get("concurrency") or {}
    if ca or cb:
        la, lb = ca.get("latency") or {}, cb.get("latency") or {}
        ha, hb = ca.get("lock_hold") or {}, cb.get("lock_hold") or {}
        lines += [
            "",
            f"{'registrations/min':<46}{ca.get('per_minute', 0):>8.0f}{cb.get('per_minute', 0):>8.0f}"
            f"{_div(cb.get('per_minute'), ca.get('per_minute')):>6}",
            f"{'registration p95 ms':<46}{_ms(la.get('p95')):>8}{_ms(lb.get('p95')):>8}"
            f"{_div(lb.get('p95'), la.get('p95')):>6}",
            f"{'locked section p95 ms':<46}{_ms(ha.get('p95')):>8}{_ms(hb.get('p95')):>8}"
            f"{_div(hb.get('p95'), ha.get('p95')):>6}",
        ]
    for key in ("import", "directory-import"):
        for run, label in ((a, "A"), (b, "B")):
            imp = run.get(key) or {}
            measured = imp.get("asked") or {}
            if measured.get("refused"):
                lines.append(f"{key} ({label}): {measured['rows']:,} rows refused")
                measured = imp.get("largest_accepted") or {}
            if measured.get("rows_per_second"):
                lines.append(
                    f"{key} ({label}): {measured['rows']:,} rows at "
                    f"{measured['rows_per_second']:,.0f} rows/s, "
                    f"peak RSS {measured['peak_rss_mb']:.0f} MB"
                )
    sa, sb = a.get("compute") or {}, b.get("compute") or {}
    for role in ("secretariat", "committee"):
        if role in sa or role in sb:
            pa, pb = (sa.get(role) or {}).get("p95"), (sb.get(role) or {}).get("p95")
            lines.append(
                f"{'results.compute p95 ms, ' + role:<46}{_ms(pa):>8}{_ms(pb):>8}{_div(pb, pa):>6}"
            )
    return lines


def latest_two() -> list[str]:
    runs = sorted(p for p in RESULTS.glob("*.json") if not p.stem.endswith("-small"))
    if not runs:
        raise SystemExit("no results in bench/results/: run make bench first")
    backend = runs[-1].stem.rsplit("-", 1)[-1]
    same = [p for p in runs if p.stem.endswith(f"-{backend}")]
    if len(same) < 2:
        raise SystemExit(f"only one {backend} run in bench/results/: name A and B")
    return [str(same[-2]), str(same[-1])]


def main(argv: list[str]) -> int:
    if len(argv) not in (0, 2):
        print(__doc__.strip())
        return 2
    (name_a, a), (name_b, b) = (load(x) for x in (argv or latest_two()))
    for label, name, run in (("A", name_a, a), ("B", name_b, b)):
        meta = run.get("meta", {})
        print(
            f"{label}: {name} — {meta.get('backend')} {meta.get('server_version')}, "
            f"{meta.get('mode')}, commit {meta.get('commit')}, load "
            f"{' '.join(f'{x:.2f}' for x in meta.get('load_start', []))}"
        )
    if a.get("meta", {}).get("backend") != b.get("meta", {}).get("backend"):
        print("(the two runs are on different databases)")
    print()
    print("\n".join(compare(a, b)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
