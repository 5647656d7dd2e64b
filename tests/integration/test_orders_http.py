"""The `http` orders store end to end: the real gateway with [orders] store =
http against a local OMS stand-in (oms_stub.py) whose orders have a nested
shape of their own, mapped by JSON pointers. Each test checks what the
customer sees AND what the OMS received."""
import base64
import subprocess
import time

import pytest

from conftest import REDRESS_BIN, wait_for
from oms_stub import PREFIX, TOKEN, OmsStub, oms  # noqa: F401 (fixture)

UNAVAILABLE = "temporarily unavailable"


def _wired():
    """The gateway opens the store [orders] names (main.c calls orders_store_open)."""
    try:
        out = subprocess.run(["nm", REDRESS_BIN], capture_output=True, text=True, timeout=30)
    except OSError:
        return True
    return out.returncode != 0 or "orders_store_open" in out.stdout


pytestmark = pytest.mark.skipif(not _wired(), reason="gateway/main.c does not call "
                                "orders_store_open yet: [orders] store = http is not wired")


def say(gw, user, text=None, **kw):
    r = gw.send(user, text, timeout=30, **kw)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["replies"], body
    return body


def texts(body):
    return " ".join(r["text"] for r in body["replies"])


def buttons(body):
    return [b["id"] for r in body["replies"] for b in r.get("buttons", [])]


def ask(gw, user, order, email):
    first = say(gw, user, f"Hi, I want a refund for order {order}")
    assert "email" in texts(first).lower(), first
    return say(gw, user, email)


def order_path(oid):
    return f"{PREFIX}/orders/{oid}"


def test_full_refund_with_write_back(oms, gateway, redis_server):  # noqa: F811
    gw = gateway(oms.overrides())
    assert redis_server.client.exists("rd:order:1001") == 0, "the order is only in the OMS"
    body = ask(gw, "alex", "1001", "alex@example.com")
    assert "$49.00" in texts(body) and buttons(body) == ["confirm_yes", "confirm_no"], body
    assert not oms.requests(method="POST"), "nothing is written before the customer says yes"
    gets = oms.requests(method="GET", path=order_path("1001"))
    assert gets and all(g["headers"]["authorization"] == f"Bearer {TOKEN}" for g in gets)

    done = say(gw, "alex", button="confirm_yes")
    assert "$49.00" in texts(done) and "NC-0001" in texts(done), done

    posts = oms.requests(method="POST", path=order_path("1001") + "/refunds")
    assert len(posts) == 1, [(r["method"], r["path"], r["status"]) for r in oms.records]
    post = posts[0]
    assert post["status"] == 201
    assert set(post["json"]) == {"refund_id", "amount", "currency"}
    assert post["json"]["amount"] == 4900 and post["json"]["currency"] == "USD"
    assert post["json"]["refund_id"].startswith("rf_")
    assert post["headers"]["idempotency-key"] == post["json"]["refund_id"]
    assert post["headers"]["content-type"] == "application/json"
    assert oms.refunded("1001") == 4900
    assert int(redis_server.client.get("rd:sandbox:refunds") or 0) == 1


def test_patch_write_back_with_basic_auth(gateway, redis_server):
    stub = OmsStub(basic=("redress", "s3cret;pass")).start()
    try:
        gw = gateway(stub.overrides(writeback_method="PATCH"),
                     env={"REDRESS_ORDERS_HTTP_PASSWORD": "s3cret;pass"})
        body = ask(gw, "marina", "8421", "marina@example.com")
        assert "186,00" in texts(body) or "186.00" in texts(body), body
        say(gw, "marina", button="confirm_yes")
        want = "Basic " + base64.b64encode(b"redress:s3cret;pass").decode()
        patches = stub.requests(method="PATCH")
        assert len(patches) == 1 and patches[0]["status"] == 201, stub.records
        assert patches[0]["headers"]["authorization"] == want
        assert patches[0]["json"]["currency"] == "BRL" and patches[0]["json"]["amount"] == 18600
        assert stub.refunded("8421") == 18600
    finally:
        stub.stop()


def test_500_is_retried_then_unavailable(oms, gateway):  # noqa: F811
    gw = gateway(oms.overrides(retries=2))
    oms.mode["1002"] = "500"
    body = ask(gw, "priya", "1002", "priya@example.org")
    assert UNAVAILABLE in texts(body), body
    assert "confirm_yes" not in buttons(body)
    gets = oms.requests(method="GET", path=order_path("1002"))
    assert [g["status"] for g in gets] == [500, 500, 500], "one try and two retries"
    assert gw.running()
    # once the OMS answers again, the customer gets on
    del oms.mode["1002"]
    again = say(gw, "priya", "priya@example.org")
    assert UNAVAILABLE not in texts(again), again


def test_slow_answer_past_the_timeout(oms, gateway):  # noqa: F811
    gw = gateway(oms.overrides(timeout_ms=400, retries=1))
    oms.mode["1001"] = "slow"
    say(gw, "alex", "Hi, I want a refund for order 1001")
    t0 = time.monotonic()
    body = say(gw, "alex", "alex@example.com")
    took = time.monotonic() - t0
    assert UNAVAILABLE in texts(body), body
    assert took < oms.slow_s * 2, f"the gateway waited {took:.1f} s: the timeout did not bite"
    wait_for(lambda: len(oms.requests(method="GET", path=order_path("1001"))) == 2, 5,
             what="one try and one retry")


def test_404_answers_like_someone_elses_order(oms, gateway):  # noqa: F811
    gw = gateway(oms.overrides())
    oms.mode["424242"] = "404"
    missing = ask(gw, "alex", "424242", "alex@example.com")
    other = ask(gw, "alex2", "1002", "alex@example.com")  # Priya's order
    assert "couldn't find" in texts(missing).lower(), missing
    assert texts(missing) == texts(other), (missing, other)
    assert "Priya" not in texts(other) and "120.00" not in texts(other)
    # a 404 is an answer: never retried
    assert len(oms.requests(method="GET", path=order_path("424242"))) == 1


def test_write_back_refused_is_not_counted(oms, gateway):  # noqa: F811
    gw = gateway(oms.overrides())
    ask(gw, "alex", "1001", "alex@example.com")
    oms.mode["1001"] = "refuse"  # a refund made elsewhere: the OMS says 409
    say(gw, "alex", button="confirm_yes")
    posts = oms.requests(method="POST")
    assert [p["status"] for p in posts] == [409], "a 4xx is never retried"
    assert oms.refunded("1001") == 0
    assert "order_overrefund" in [e.get("event") for e in gw.log_events()]


def test_oms_down_then_back(oms, gateway):  # noqa: F811
    gw = gateway(oms.overrides(timeout_ms=500, retries=0))
    say(gw, "mia", "Hi, I want a refund for order 1007")
    oms.stop()
    wait_for(lambda: gw.get("/readyz", timeout=2).status_code == 503, 10,
             what="/readyz 503 with the OMS down")
    down = say(gw, "mia", "mia@example.com")
    assert UNAVAILABLE in texts(down), down
    oms.start()  # same port
    wait_for(lambda: gw.get("/readyz", timeout=2).status_code == 200, 10,
             what="/readyz 200 with the OMS back")
    body = say(gw, "mia", "mia@example.com")
    assert "$50.00" in texts(body), body
    say(gw, "mia", button="confirm_yes")
    assert oms.refunded("1007") == 8000
