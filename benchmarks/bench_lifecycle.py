"""Wall time of the lifecycle commands CI and teams run most: `check` and a one-loss `update`.

Builds a library of every built-in kind (Python target) and a one-loss project, then times, as a
user's shell would run them (a fresh `lossgen` process each time, median of several runs):

- `lossgen --help` (the floor: Python, Click and lossgen's command line starting);
- `lossgen check` on the one-loss project and on the library (both up to date);
- `lossgen update LIB --loss huber --delta D --no-test` (D alternating, so each run changes it).

Targets (issue 17, 2-core machine): check of the library <= 0.3 s, of one loss <= 0.2 s, the update
<= 5 s. Usage: python benchmarks/bench_lifecycle.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOSSGEN = [sys.executable, "-m", "scaffold.cli"]


def lossgen(*args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([*LOSSGEN, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"lossgen {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds


def median(runs: int, *args: str) -> float:
    return statistics.median(lossgen(*args) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lossgen("new", "--all", "--name", "teamlosses", "--no-input", "--no-test", "-o", str(work))
        lossgen("new", "--kind", "huber", "--no-input", "--no-test", "-o", str(work))
        library, single = work / "teamlosses", work / "huber-loss"
        rows = [
            ("lossgen --help", median(runs, "--help"), None),
            ("check, one loss", median(runs, "check", str(single)), 0.2),
            ("check, library of every built-in kind", median(runs, "check", str(library)), 0.3),
        ]
        updates = [
            lossgen("update", str(library), "--loss", "huber", "--delta", str(2 + i % 2), "--no-test")
            for i in range(max(3, runs // 2))
        ]
        rows.append(("update --loss huber --delta D --no-test, library", statistics.median(updates), 5.0))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'command':<{width}}  median s  target s")
    for name, seconds, target in rows:
        print(f"{name:<{width}}  {seconds:8.3f}  {'' if target is None else f'{target:8.1f}'}")


if __name__ == "__main__":
    main()
