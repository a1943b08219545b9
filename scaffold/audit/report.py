"""An audit's outcome: the lines printed, the exit code, and the --json / --junit files.

JUnit XML is written with the standard library's xml.etree: the format needs a handful of
elements (testsuite, testcase, failure, skipped), which does not justify a dependency (junit-xml's
last release is from 2023; junitparser is maintained but reads and merges reports, more than this
writes)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.audit.checks import Result

MARK = {"pass": "pass", "fail": "FAIL", "skip": "skip"}


@dataclass
class Report:
    target: str
    task: str
    backend: str
    subject: str  # "function", "Loss subclass", "Loss instance"
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if any(r.status == "fail" for r in self.results) else 0

    def counts(self) -> dict[str, int]:
        return {status: sum(r.status == status for r in self.results) for status in ("pass", "fail", "skip")}

    def header(self) -> str:
        return f"audit {self.target} ({self.subject}), task {self.task}, backend {self.backend}"

    def summary(self) -> str:
        c = self.counts()
        return f"{c['pass']} passed, {c['fail']} failed, {c['skip']} skipped in {self.seconds:.1f} s"

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "task": self.task,
            "backend": self.backend,
            "subject": self.subject,
            "checks": [
                {"id": r.id, "status": r.status, "detail": r.detail, "seconds": round(r.seconds, 3)}
                for r in self.results
            ],
            "seconds": round(self.seconds, 3),
        }

    def write_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")

    def write_junit(self, path: Path) -> None:
        c = self.counts()
        suite = ET.Element(
            "testsuite",
            {
                "name": f"lossgen audit {self.target}",
                "tests": str(len(self.results)),
                "failures": str(c["fail"]),
                "errors": "0",
                "skipped": str(c["skip"]),
                "time": f"{self.seconds:.3f}",
            },
        )
        properties = ET.SubElement(suite, "properties")
        for name in ("target", "task", "backend"):
            ET.SubElement(properties, "property", {"name": name, "value": getattr(self, name)})
        for r in self.results:
            case = ET.SubElement(
                suite, "testcase", {"classname": f"audit.{self.backend}", "name": r.id, "time": f"{r.seconds:.3f}"}
            )
            if r.status == "fail":
                ET.SubElement(case, "failure", {"message": r.detail}).text = r.detail
            elif r.status == "skip":
                ET.SubElement(case, "skipped", {"message": r.detail})
            else:
                ET.SubElement(case, "system-out").text = r.detail
        tree = ET.ElementTree(ET.Element("testsuites"))
        tree.getroot().append(suite)
        ET.indent(tree)
        tree.write(path, encoding="utf-8", xml_declaration=True)


def line(result: Result, width: int = 18) -> str:
    return f"{result.id:<{width}} {MARK[result.status]:<4}  {result.detail}"
