#!/usr/bin/env python3
"""The test command: cmocka unit binaries, then pytest tests/integration and
tests/faults (fault injection and races).

    tests/run.py [UNIT_BINARY...]

Env: REDRESS_BIN (the gateway, for the integration tests), PYTEST_ARGS
(extra pytest arguments, e.g. "-k refund"), SANITIZER (sets ASAN/UBSAN
options for every child). Ends with one line `N passed, N failed[, N skipped]`;
exits 1 if anything failed or nothing ran.
"""
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JUNIT = ROOT / "build" / "integration.xml"
UNIT_TIMEOUT = 300

COUNT = re.compile(r"^\[  (PASSED|FAILED|SKIPPED|ERROR) *\] (\d+) test\(s\)", re.M)
FAILED_NAME = re.compile(r"^\[  (?:FAILED|ERROR) *\] (\S+)\s*$", re.M)


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed, self.skipped, self.failures = name, 0, 0, 0, []

    def __str__(self):
        s = f"{self.name}: {self.passed} passed, {self.failed} failed"
        if self.skipped:
            s += f", {self.skipped} skipped"
        return s + "".join(f"\n    FAILED {f}" for f in self.failures)


def run_unit(binary):
    """Run one cmocka binary from the repo root and count its results."""
    t = Tally(Path(binary).name)
    env = {**os.environ, "CMOCKA_MESSAGE_OUTPUT": "stdout"}
    try:
        proc = subprocess.run([os.path.abspath(binary)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT, env=env)
        out, rc = proc.stdout, proc.returncode
    except (OSError, subprocess.TimeoutExpired) as e:
        out, rc = getattr(e, "output", None) or b"", f"{type(e).__name__}: {e}"
    out = out.decode(errors="replace")
    sys.stdout.write(out)
    for kind, n in COUNT.findall(out):
        if kind == "PASSED":
            t.passed += int(n)
        elif kind == "SKIPPED":
            t.skipped += int(n)
        else:
            t.failed += int(n)
    t.failures = list(dict.fromkeys(FAILED_NAME.findall(out)))
    if rc != 0 and (t.failed == 0 or not isinstance(rc, int) or rc < 0):  # crash, timeout
        t.failures.append(f"{t.name} (exit {rc})")
        t.failed = max(t.failed + 1, len(t.failures))
    return t


def run_integration():
    """pytest tests/integration and tests/faults, counted from its junit XML."""
    t = Tally("integration")
    JUNIT.parent.mkdir(parents=True, exist_ok=True)
    JUNIT.unlink(missing_ok=True)
    suites = [d for d in ("tests/integration", "tests/faults") if (ROOT / d).is_dir()]
    cmd = [sys.executable, "-m", "pytest", *suites, "-q", "-p", "no:cacheprovider",
           f"--junitxml={JUNIT.relative_to(ROOT)}", *shlex.split(os.environ.get("PYTEST_ARGS", ""))]
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    try:
        root = ET.parse(JUNIT).getroot()
    except (OSError, ET.ParseError):
        root = None
    for suite in ([] if root is None else root.iter("testsuite")):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        t.passed += tests - failed - skipped
        t.failed += failed
        t.skipped += skipped
        for case in suite.iter("testcase"):
            bad = case.find("failure")
            bad = case.find("error") if bad is None else bad
            if bad is not None:
                # the reason too: a long run's tail is the captured logs, not the assert
                why = " ".join((bad.get("message") or "").split())
                why = why if len(why) <= 400 else why[:400] + " ..."
                t.failures.append(f"{case.get('classname')}::{case.get('name')}"
                                  + (f"\n        {why}" if why else ""))
    if rc not in (0, 1, 5) and t.failed == 0:  # interrupted, internal or usage error
        t.failed += 1
        t.failures.append(f"pytest (exit {rc})")
    return t


def main(binaries):
    if os.environ.get("SANITIZER"):
        os.environ["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
        os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    tallies = [run_unit(b) for b in binaries]
    tallies.append(run_integration())
    print("\n== summary ==")
    for t in tallies:
        print(f"  {t}")
    passed = sum(t.passed for t in tallies)
    failed = sum(t.failed for t in tallies)
    skipped = sum(t.skipped for t in tallies)
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed or passed + failed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
