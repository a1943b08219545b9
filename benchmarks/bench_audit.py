"""Wall time of `lossgen audit` on one loss, one backend: a built-in kind from a generated project.

    python benchmarks/bench_audit.py [--kind huber] [--backend tensorflow] [--repeat 3]
    python benchmarks/bench_audit.py --all-kinds [--backend tensorflow]

Generates the project once (no tests), then times the whole `lossgen audit` command (interpreter
and Keras start included) with every check, and without the two that start more processes
(`backends`, `distributed`); prints the median of --repeat runs and the slowest checks. The target
the issue set is 30 s. With --all-kinds: every built-in kind of a generated library, every check,
in one `run_many` process (tests/audit_matrix_probe.py, what tests/test_audit_matrix.py runs).
A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", default="huber")
    parser.add_argument("--task", default="regression")
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--all-kinds", action="store_true", help="Audit every built-in kind in one process.")
    args = parser.parse_args()
    if args.all_kinds:
        all_kinds(args.backend)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "scaffold.cli",
                "new",
                "--kind",
                args.kind,
                "--no-test",
                "--no-input",
                "--name",
                "bench",
                "-o",
                str(out),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(out / "bench-loss")])
        command = [
            sys.executable,
            "-m",
            "scaffold.cli",
            "audit",
            "bench_loss:BenchLoss",
            "--task",
            args.task,
            "--backend",
            args.backend,
            "--json",
            str(out / "report.json"),
        ]
        for label, extra in (("all checks", []), ("without backends, distributed", ["--skip", "backends,distributed"])):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                done = subprocess.run(command + extra, env=env, cwd=out, capture_output=True, text=True, check=False)
                times.append(time.perf_counter() - start)
                if done.returncode not in (0, 1):
                    sys.exit(f"audit failed: {done.stderr.strip()}")
            report = json.loads((out / "report.json").read_text())
            slowest = sorted(report["checks"], key=lambda c: -c["seconds"])[:3]
            print(
                f"audit {args.kind} on {args.backend}, {label}: {statistics.median(times):.1f} s wall "
                f"(median of {args.repeat}); slowest: " + ", ".join(f"{c['id']} {c['seconds']:.1f} s" for c in slowest)
            )


def all_kinds(backend: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "scaffold.cli", "new", "--all", "--name", "every", "--no-test", "--no-input"]
        subprocess.run([*command, "--no-format", "-o", str(out)], env=env, check=True, capture_output=True)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(out / "every-loss")])
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "audit_matrix_probe.py"), backend, "every_loss"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"audit failed: {done.stderr.strip()[-2000:]}")
        found = json.loads(done.stdout.strip().splitlines()[-1])
        failed = sum(status == "fail" for checks in found.values() for status, _ in checks.values())
        print(f"audit of {len(found)} built-in kinds on {backend}, every check: {seconds:.1f} s wall, {failed} failed")


if __name__ == "__main__":
    main()
