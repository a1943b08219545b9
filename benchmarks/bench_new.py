"""Wall time of `lossgen new` with and without its test run, and of a generated suite alone.

    python benchmarks/bench_new.py [--kind huber] [--target python] [--repeat 3]

Prints the median of each over --repeat runs in fresh temporary directories. A benchmark, not a
test: figures depend on the machine (the issue notes quote them).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", default="huber")
    parser.add_argument("--target", default="python", choices=["python", "r"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lossgen = [sys.executable, "-m", "scaffold.cli"]
    new = [*lossgen, "new", "--kind", args.kind, "--target", args.target, "--no-input"]
    figures: dict[str, list[float]] = {"new --no-test": [], "new (with tests)": [], "generated tests alone": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            figures["new --no-test"].append(timed([*new, "--no-test"], Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            figures["new (with tests)"].append(timed(new, Path(tmp)))
            project = next(p for p in Path(tmp).iterdir() if p.is_dir())
            if args.target == "python":
                suite = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)]
            else:
                suite = [
                    "Rscript",
                    str(Path(__file__).resolve().parents[1] / "scaffold" / "run_testthat.R"),
                    str(project),
                ]
            figures["generated tests alone"].append(timed(suite, project))
    print(f"lossgen new --kind {args.kind} --target {args.target} --no-input  (median of {args.repeat})")
    for label, values in figures.items():
        print(f"  {label:<24} {statistics.median(values):6.2f} s   (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
