"""The HTTP surface and the CLI, without depending on the agent's dialog."""
import json
import socket
import time
from pathlib import Path

import pytest

from conftest import API_KEY, build_request, run_cli, wait_for

MESSAGES = "/v1/test/messages"
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


def inbound_len(redis_server):
    return redis_server.client.xlen("rd:inbound")


@pytest.fixture
def gw(gateway):
    return gateway()


# --------------------------------------------------------------------------- probes

def test_healthz(gw):
    assert gw.get("/healthz").status_code == 200


def test_readyz_follows_redis(gw, redis_server):
    assert gw.get("/readyz").status_code == 200
    redis_server.stop()
    wait_for(lambda: gw.get("/readyz", timeout=1).status_code == 503, 3, what="readyz 503")
    assert gw.get("/healthz").status_code == 200
    redis_server.start()
    wait_for(lambda: gw.get("/readyz", timeout=1).status_code == 200, 10, what="readyz 200")


def test_metrics_is_prometheus_text(gw):
    r = gw.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "redress_messages_in_total" in r.text


def test_unknown_path_is_404(gw):
    assert gw.get("/no/such/thing").status_code == 404


# --------------------------------------------------------------------------- bad requests

def test_missing_or_wrong_key_is_401(gw, redis_server):
    assert gw.send("marina", "oi", key=None).status_code == 401
    assert gw.send("marina", "oi", key="wrong-key").status_code == 401
    assert gw.conversation("nope", key=None).status_code == 401
    assert inbound_len(redis_server) == 0


def test_malformed_json_is_400_with_reason(gw, redis_server):
    r = gw.post(MESSAGES, '{"user": "marina", "text": ', headers=AUTH)
    assert r.status_code == 400
    body = r.json()
    assert isinstance(body, dict) and body, body
    assert inbound_len(redis_server) == 0


def test_missing_text_is_400(gw, redis_server):
    r = gw.send("marina", None)
    assert r.status_code == 400
    assert inbound_len(redis_server) == 0


def test_body_over_max_body_bytes_is_413(gateway, redis_server):
    gw = gateway({"gateway": {"max_body_bytes": 4096}})
    body = json.dumps({"user": "marina", "text": "x" * 5000}).encode()
    with gw.connect() as c:
        r = c.request(build_request("POST", MESSAGES, {**AUTH, "Content-Length": len(body)}, body))
    assert r.status == 413
    assert inbound_len(redis_server) == 0


def test_chunked_body_is_411(gw, redis_server):
    body = b'{"user": "marina", "text": "oi"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with gw.connect() as c:
        r = c.request(build_request("POST", MESSAGES, {**AUTH, "Transfer-Encoding": "chunked"},
                                    chunked))
    assert r.status == 411
    assert r.headers.get("connection") == "close" and "keep-alive" not in r.headers
    assert inbound_len(redis_server) == 0


def test_post_without_content_length_is_411(gw, redis_server):
    with gw.connect() as c:
        r = c.request(build_request("POST", MESSAGES, AUTH))
    assert r.status == 411
    assert inbound_len(redis_server) == 0


def test_expect_100_continue_is_answered(gw, redis_server):
    body = b'{"user": "marina"}'  # no text: 400, so no dialog is involved
    head = build_request("POST", MESSAGES, {**AUTH, "Content-Length": len(body),
                                            "Expect": "100-continue"})
    with gw.connect() as c:
        c.send(head)
        assert c.read_response(timeout=1).status == 100
        c.send(body)
        assert c.read_response().status == 400
    assert inbound_len(redis_server) == 0


def test_h2c_upgrade_is_ignored(gw):
    body = b'{"user": "marina", "text": "oi"}'
    headers = {**AUTH, "Content-Length": len(body), "Connection": "Upgrade, HTTP2-Settings",
               "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"}
    with gw.connect() as c:
        r = c.request(build_request("POST", MESSAGES, headers, body), timeout=15)
    assert r.status != 101
    assert gw.get("/healthz").status_code == 200


def test_keep_alive_lasts_as_long_as_announced(gw):
    """Every keep-alive answer says how long an idle connection is kept
    (Keep-Alive: timeout=N), and that is what happens: a request after most
    of N idle seconds still goes through on the same connection (a client
    that reads the hint retires it 1 s early), and an idle connection is
    closed once the N seconds are over."""
    get = build_request("GET", "/healthz")
    with gw.connect(timeout=20) as c:
        r = c.request(get)
        assert r.status == 200
        hint = r.headers.get("keep-alive", "")
        assert hint.startswith("timeout="), r.headers
        n = int(hint.split("=", 1)[1])
        assert 2 <= n <= 120
        time.sleep(n - 1)
        assert c.request(get).status == 200        # same socket, not closed early
        idle_from = time.monotonic()
        c.sock.settimeout(n + 10)
        assert c.sock.recv(1) == b""               # then closed by the server
        assert time.monotonic() - idle_from >= n - 1


def test_silent_clients_do_not_crash_it(gw):
    socket.create_connection(("127.0.0.1", gw.port)).close()
    with gw.connect() as c:
        c.send(b"POST /v1/test/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
    with gw.connect() as c:
        c.send(build_request("POST", MESSAGES, {**AUTH, "Content-Length": 100}, b"{\"user\""))
    assert gw.get("/healthz").status_code == 200
    assert gw.running()


def test_body_in_many_small_writes_is_reassembled(gw, redis_server):
    prefix, suffix = b'{"user": "marina", "text": "', b'"}'
    body = prefix + b"a" * (3000 - len(prefix) - len(suffix)) + suffix
    with gw.connect() as c:
        c.send(build_request("POST", MESSAGES, {**AUTH, "Content-Length": len(body)}))
        c.send(body, chunk=100, pause=0.005)
        r = c.read_response(timeout=15)
    assert r.status in (200, 202), r
    assert r.json()["conversation_id"]
    assert inbound_len(redis_server) == 1


# --------------------------------------------------------------------------- CLI and config

def test_version():
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == "redress 0.1.0"


def test_help():
    r = run_cli("--help")
    assert r.returncode == 0
    for command in ("serve", "orders import", "audit verify"):
        assert command in r.stdout


def test_unknown_key_stops_startup(gateway):
    gw = gateway({"gateway": {"no_such_key": 1}}, start=False)
    r = run_cli("serve", config=gw, timeout=10)
    line = gw.config_line("gateway", "no_such_key")
    assert r.returncode != 0
    assert f"config.ini:{line}: [gateway] no_such_key: unknown key" in r.stderr


def test_bad_money_stops_startup(gateway):
    gw = gateway({"mandate": {"per_refund_cap": "USD 150.00, EUR lots"}}, start=False)
    r = run_cli("serve", config=gw, timeout=10)
    line = gw.config_line("mandate", "per_refund_cap")
    assert r.returncode != 0
    assert f"config.ini:{line}: [mandate] per_refund_cap: " in r.stderr


def test_threads_are_named_as_the_readme_says(gateway):
    """README "How it works": the names top -H shows."""
    gw = gateway({"gateway": {"workers": 3, "senders": 2}})
    names = sorted((t / "comm").read_text().strip() for t in Path(f"/proc/{gw.proc.pid}/task").iterdir())
    assert [n for n in names if n.startswith("rd-")] == ["rd-bus", "rd-s0", "rd-s1", "rd-store",
                                                         "rd-w0", "rd-w1", "rd-w2"]
    assert (Path(f"/proc/{gw.proc.pid}/task/{gw.proc.pid}/comm")).read_text().strip() == "redress"


def test_env_overrides_api_key(gateway):
    gw = gateway(env={"REDRESS_TEST_CHANNEL_API_KEY": "env-key"})
    assert gw.send("marina", None, key=API_KEY).status_code == 401
    assert gw.send("marina", None, key="env-key").status_code == 400  # past auth: no text


def order(oid, **fields):
    doc = {"id": oid, "currency": "BRL", "total": 18600,
           "customer": {"name": "Marina", "email": "marina@example.com"},
           "items": [{"sku": "TSHIRT-001", "category": "apparel", "final_sale": False,
                      "price": 18600, "quantity": 1}],
           "payment": {"rail": "pix", "provider": "sandbox", "id": f"E{oid}"},
           "created_at": "-2d", "delivered_at": "-1d", "delivery_status": "delivered"}
    doc.update(fields)
    return json.dumps(doc)


def test_orders_import_reports_bad_lines(gateway, redis_server, tmp_path):
    gw = gateway(start=False)
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join([order("9001"), order("9002", total="lots"), order("9003")]) + "\n")
    r = run_cli("orders", "import", path, config=gw)
    assert r.returncode == 1, r.stderr
    assert f"{path}:2: " in r.stderr
    assert f"{path}:1:" not in r.stderr and f"{path}:3:" not in r.stderr
    assert "imported 2 orders, 1 rejected" in r.stdout
    for oid in ("9001", "9003"):
        doc = redis_server.client.hget(f"rd:order:{oid}", "doc")
        assert doc and json.loads(doc)["id"] in (oid, int(oid))
    assert not redis_server.client.exists("rd:order:9002")

