"""The web chat widget in Chromium: runs tests/browser/run.sh (its own redis,
gateway and demo orders; Debian's chromium and the pinned playwright-core
are installed when missing) and asserts every browser check passed."""
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import REDRESS_BIN, REPO, require_binary, tail

RUN = REPO / "tests" / "browser" / "run.sh"
TIMEOUT_S = 240


def test_webchat_widget_in_chromium():
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not installed")
    require_binary()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env["REDRESS_BIN"] = REDRESS_BIN
    # its own process group, so a timeout stops run.sh and everything it started
    proc = subprocess.Popen([str(RUN)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        pytest.fail(f"tests/browser/run.sh still running after {TIMEOUT_S} s:\n{tail(out, 60)}")
    summary = re.search(r"^(\d+) passed, (\d+) failed", out, re.M)
    assert proc.returncode == 0 and summary, f"run.sh exited {proc.returncode}:\n{tail(out, 80)}"
    assert int(summary.group(2)) == 0 and int(summary.group(1)) > 0, tail(out, 80)
