"""Generating a synthetic school, beside loading the same school from a pickle.

`python -m bench.synthetic_school [--repeat N] [--json]` measures, in one run, for DOMAIN.md's
example base (35 professeurs, 46 matières, 16 classes, 60 groupes, 422 élèves, 38 salles):

1. baseline: `pickle.loads` of the generated school (what storing the data would cost to read);
2. `synthetic.generate` (uncached): people, timetable, homework, grades, news, discussions;
3. `synthetic.count` (what creating a base costs: counted, nothing kept);
4. `synthetic.roster` (finding a person to issue a password);
5. a week of lessons for every student (what PRONOTE.net asks most).

Target: generate well under a second. Median of N runs; nothing leaves the process.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pickle
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from vm_agent.domain import synthetic
from vm_agent.domain.counters import BaseCounters

EXAMPLE = BaseCounters(professeurs=35, matieres=46, classes=16, groupes=60, eleves=422, salles=38)
SEED, YEAR = "0750655E", "2026-2027"
TARGET_SECONDS = 1.0


def median_seconds(action: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fresh() -> synthetic.SchoolData:
    synthetic._generate.cache_clear()
    return synthetic.generate(SEED, YEAR, EXAMPLE)


def week_for_everyone(data: synthetic.SchoolData) -> int:
    monday = data.first_monday + datetime.timedelta(weeks=3)
    sunday = monday + datetime.timedelta(days=7)
    return sum(len(data.lessons(s.id, monday, sunday)) for s in data.students)


def bench(repeat: int) -> dict[str, Any]:
    data = fresh()
    stored = pickle.dumps(data)
    counters = synthetic.counters_of(data)
    return {
        "repeat": repeat,
        "school": {name: value for name, value in vars(counters).items() if value},
        "timetable_slots": len(data.timetable),
        "pickle_bytes": len(stored),
        "seconds": {
            "baseline_pickle_loads": median_seconds(lambda: pickle.loads(stored), repeat),
            "generate": median_seconds(fresh, repeat),
            "count": median_seconds(lambda: synthetic.count(SEED, YEAR, EXAMPLE), repeat),
            "roster": median_seconds(lambda: synthetic.roster(SEED, YEAR, EXAMPLE), repeat),
            "a_week_for_every_student": median_seconds(lambda: week_for_everyone(data), repeat),
        },
    }


def render(report: dict[str, Any]) -> str:
    seconds = report["seconds"]
    base = seconds["baseline_pickle_loads"]
    lines = [
        f"synthetic school, DOMAIN.md example — median of {report['repeat']} runs",
        f"  {report['school']}",
        f"  {report['timetable_slots']} weekly lessons; pickled: {report['pickle_bytes']:,} bytes",
        "",
        f"{'':44}{'seconds':>10}{'x baseline':>12}",
    ]
    for name, value in seconds.items():
        lines.append(f"{name.replace('_', ' '):44}{value:10.3f}{value / base:12.1f}")
    verdict = "PASS" if seconds["generate"] < TARGET_SECONDS else "MISS"
    lines.append(f"\ngenerate < {TARGET_SECONDS:.0f} s: {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synthetic_school")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each step (5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 100:
        parser.error("--repeat must be between 1 and 100")
    report = bench(args.repeat)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
