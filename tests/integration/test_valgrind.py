"""The real gateway under valgrind (memcheck) through one full refund
conversation — order verified, refund on the sandbox rail, credit note and
its signed link, the audit chain — and a clean SIGTERM: no definite or
indirect leak, no memory error.

Slow by nature (valgrind runs the gateway some 20-50x slower), so one
conversation and generous, bounded waits. Skipped only when valgrind is not
installed (Debian: apt-get install valgrind)."""
import re
import shutil
import signal
import subprocess

import pytest

from conftest import (API_KEY, REDRESS_BIN, SANITIZER, Gateway, build_request, child_env,
                      import_demo_orders, require_binary, tail, wait_for)

VALGRIND = shutil.which("valgrind")
ERROR_EXIT = 99
START_TIMEOUT = 90      # s: valgrind's start-up plus ours
STOP_TIMEOUT = 120      # s: drain, thread joins and the leak check


@pytest.mark.skipif(not VALGRIND, reason="valgrind is not installed (apt-get install valgrind)")
@pytest.mark.skipif(SANITIZER, reason="a sanitizer build cannot run under valgrind (the plain "
                    "`make test` runs this; the sanitizers check leaks themselves here)")
def test_a_full_conversation_and_sigterm_leak_nothing(tmp_path, redis_server):
    require_binary()
    gw = Gateway(tmp_path / "gw", redis_server.url, {
        "gateway": {"drain_timeout_ms": 20000},
        "redis": {"timeout_ms": 20000},
        "test_channel": {"reply_timeout_ms": 60000},
        "issuer": {"link_secret": "valgrind-link-secret"},
    })
    import_demo_orders(gw)
    vlog = tmp_path / "valgrind.log"
    cmd = [VALGRIND, "--tool=memcheck", "--leak-check=full",
           "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
           f"--error-exitcode={ERROR_EXIT}", "--track-origins=no", "--num-callers=30",
           f"--log-file={vlog}", REDRESS_BIN, "serve", "--config", str(gw.config_path)]
    with open(gw.log_path, "ab") as log:
        gw.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                   env=child_env(), cwd=gw.dir)
    try:
        wait_for(lambda: gw.proc.poll() is None and gw.get("/readyz", timeout=5).status_code == 200,
                 START_TIMEOUT, interval=0.5, what="the gateway under valgrind is ready")
        redis = redis_server.client

        def say(text=None, **kw):
            r = gw.send("alex", text, timeout=90, **kw)
            assert r.status_code == 200, (r.status_code, r.text)
            return " ".join(x["text"] for x in r.json()["replies"])

        assert "1001" in say("Hi, I want a refund for order 1001, the mug arrived broken")
        offer = say("alex@example.com")
        assert "$49.00" in offer, offer
        done = say(button="confirm_yes")
        assert "$49.00" in done and "NC-0001" in done, done
        link = re.search(r"(/v1/credit-notes/NC-0001\?exp=\d+&sig=[0-9a-f]+)", done)
        assert link, done
        page = gw.get(link.group(1), timeout=60)
        assert page.status_code == 200 and "NC-0001" in page.text
        assert "refund" in say("where is my refund?").lower()
        kinds = [f["kind"] for _, f in redis.xrange("rd:audit")]
        for kind in ("lookup", "decision", "mandate", "refund", "credit_note", "reply"):
            assert kind in kinds, kinds
        assert gw.get("/metrics", timeout=60).status_code == 200
        # a few error paths too: malformed, unauthorized, abandoned mid-body
        assert gw.post("/v1/test/messages", '{"user": "x", "text": ', key=API_KEY,
                       headers={"Content-Type": "application/json"}, timeout=60).status_code == 400
        assert gw.send("alex", "hi", key="wrong", timeout=60).status_code == 401
        with gw.connect(30) as c:
            c.send(build_request("POST", "/v1/test/messages",
                                 {"Authorization": f"Bearer {API_KEY}", "Content-Length": 100}, b'{"us'))
        assert gw.get("/healthz", timeout=60).status_code == 200
        assert gw.conversation("test:alex", key=API_KEY).status_code == 200
    finally:
        if gw.proc.poll() is None:
            gw.proc.send_signal(signal.SIGTERM)
        try:
            code = gw.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            gw.proc.kill()
            gw.proc.wait(10)
            pytest.fail(f"no exit {STOP_TIMEOUT} s after SIGTERM:\n{tail(gw.log_text())}")
        gw.http.close()
    report = vlog.read_text(errors="replace")
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    assert summary, f"no valgrind summary:\n{tail(report, 60)}"
    for what in ("definitely lost", "indirectly lost"):
        m = re.search(rf"{what}: ([\d,]+) bytes", report)
        assert m is None or m.group(1) == "0", f"{what}:\n{tail(report, 120)}"
    assert summary.group(1) == "0", f"valgrind errors:\n{tail(report, 120)}"
    assert code == 0, f"exit {code} (valgrind's error exit is {ERROR_EXIT}):\n{tail(report, 60)}"
