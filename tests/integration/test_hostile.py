"""Hostile input against every public endpoint: the table of FAULTS.md
"## Hostile input", one row per test.

One real gateway (every channel on: the test channel, WhatsApp, Slack events
and interactivity, the Stripe webhook, the web chat and its static files)
and one real redis-server serve the whole module; each row sends one bad
input and asserts the answer AND that nothing changed: not one key added,
removed or rewritten in Redis (rd:inbound, rd:audit, dedupe marks and all;
the web chat's session keys aside, a hello makes one by design), the
gateway still running and answering /healthz. Rows already proven
elsewhere are not repeated here: FAULTS.md names their tests.

Signatures use the same secrets and algorithms as the platforms (Meta
X-Hub-Signature-256, Slack v0, Stripe t=,v1=), computed over the exact
bytes sent."""
import hashlib
import hmac
import json
import socket
import threading
import time
from urllib.parse import quote

import pytest
import redis

from conftest import (API_KEY, Gateway, RedisServer, build_request, check_sanitizer_output,
                      import_demo_orders, tail, wait_for)

WA_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WA_VERIFY = "verify-hostile"
SLACK_SECRET = "3c0a9e5f1d7b4e26a8c1f0d9b2e7a6c4"
STRIPE_WHSEC = "whsec_hostile"
ORIGIN = "https://shop.example"
MAX_BODY = 64 * 1024                      # [gateway] max_body_bytes for this module
TEST_MSGS = "/v1/test/messages"
WA, EVENTS, ACTIONS, STRIPE = ("/webhooks/whatsapp", "/webhooks/slack/events",
                               "/webhooks/slack/interactivity", "/webhooks/stripe")
JSON_CT = {"Content-Type": "application/json"}
AH_IDLE_S = 10                            # lws timeout_secs_ah_idle default: headers must be in by then
NESTED = b"[" * 100_000 + b"]" * 100_000  # 200 KB of nesting: over max_body_bytes
DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000  # 30 KB, 5000 levels (jansson stops at 2048)


# --------------------------------------------------------------------------- the environment

class Env:
    """The module's redis-server and gateway (all channels on, demo orders in)."""

    def __init__(self, tmp):
        self.redis = RedisServer(tmp / "redis")
        self.redis.start()
        self.rawr = redis.Redis(host="127.0.0.1", port=self.redis.port, socket_timeout=5)
        self.gw = Gateway(tmp / "gw", self.redis.url, {
            "gateway": {"max_body_bytes": MAX_BODY},
            "whatsapp": {"enabled": "true", "verify_token": WA_VERIFY, "app_secret": WA_SECRET,
                         "access_token": "EAAG-hostile", "phone_number_id": "106540352242922",
                         "graph_api_base": "http://127.0.0.1:9/v21.0"},
            "slack": {"enabled": "true", "signing_secret": SLACK_SECRET,
                      "bot_token": "xoxb-1-2-hostile", "api_base": "http://127.0.0.1:9/api"},
            "rails": {"enabled": "sandbox, stripe"},
            "rails.stripe": {"api_base": "http://127.0.0.1:9", "secret_key": "sk_test_hostile",
                             "webhook_secret": STRIPE_WHSEC},
            "webchat": {"enabled": "true", "allowed_origins": ORIGIN},
        })
        self.gw.start()
        import_demo_orders(self.gw)

    @property
    def r(self):
        return self.redis.client

    def snapshot(self):
        """Every key and a digest of its value (DUMP), web chat sessions aside."""
        snap = {}
        for k in self.rawr.scan_iter(count=1000):
            if not k.startswith(b"rd:webchat:token:"):
                snap[k] = self.rawr.dump(k)
        return snap

    def stop(self):
        self.gw.stop()
        self.rawr.close()
        self.redis.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(tmp_path_factory.mktemp("hostile"))
    yield e
    e.stop()
    check_sanitizer_output(e.gw.log_text(), "gateway (hostile)")


def unchanged(env, before, what):
    """The gateway is alive and Redis is exactly as before."""
    gw = env.gw
    assert gw.running(), f"{what}: the gateway died:\n{tail(gw.log_text())}"
    assert gw.get("/healthz", timeout=5).status_code == 200, what
    after = env.snapshot()
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(after) & set(before) if after[k] != before[k])
    assert not (added or removed or changed), \
        f"{what}: Redis changed: added {added}, removed {removed}, rewritten {changed}"


# --------------------------------------------------------------------------- signing

def wa_sig(body, secret=WA_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_headers(body, ts=None, secret=SLACK_SECRET):
    ts = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac.hexdigest()}


def stripe_headers(body, ts=None, secret=STRIPE_WHSEC):
    ts = int(time.time()) if ts is None else int(ts)
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={mac}"}


def signed(path, body, ctype="application/json"):
    """Headers that sign body right for path's platform (bearer key for the test channel)."""
    h = {"Content-Type": ctype}
    if path == WA:
        h["X-Hub-Signature-256"] = wa_sig(body)
    elif path in (EVENTS, ACTIONS):
        h.update(slack_headers(body))
    elif path == STRIPE:
        h.update(stripe_headers(body))
    else:
        h["Authorization"] = f"Bearer {API_KEY}"
    return h


# --------------------------------------------------------------------------- bodies

def wa_note(messages=None, field="messages", value_extra=None):
    """A WhatsApp notification with these messages[] (a fresh wamid each)."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881",
                          "phone_number_id": "106540352242922"}}
    if messages is not None:
        value["messages"] = messages
    value.update(value_extra or {})
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "102290129340398",
                                  "changes": [{"value": value, "field": field}]}]}).encode()


def wa_text(text="Oi, quero reembolso do pedido 8421", frm="5511987654321"):
    return {"from": frm, "id": f"wamid.HOSTILE{time.monotonic_ns()}",
            "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}


def slack_event(event_type="message", **extra):
    ev = {"type": event_type, "text": "Hi, I want a refund for order 1001", "user": "U0ALEX",
          "ts": f"{time.time():.6f}", "channel": "C0SUPPORT", "channel_type": "channel", **extra}
    return json.dumps({"team_id": "T0SHOP", "type": "event_callback",
                       "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
                       "event": ev}).encode()


def form(payload_bytes):
    return b"payload=" + quote(payload_bytes, safe="").encode()


def stripe_event(etype, obj):
    return json.dumps({"id": f"evt_{time.monotonic_ns()}", "object": "event", "type": etype,
                       "data": {"object": obj}}).encode()


# --------------------------------------------------------------------------- senders

def post(env, path, body, headers=None):
    """POST over a raw socket with exactly these bytes and headers (plus
    Content-Length); the status code."""
    h = {**(headers or {}), "Content-Length": len(body)}
    with env.gw.connect(10) as c:
        return c.request(build_request("POST", path, h, body), timeout=10).status


def post_signed(path, body, ctype="application/json"):
    return lambda env: post(env, path, body, signed(path, body, ctype))


def post_with(path, body, headers):
    return lambda env: post(env, path, body, headers)


def raw(request, timeout=10):
    """Send request as is; the status, or "closed" when the gateway hung up
    without an answer."""
    def send(env):
        with env.gw.connect(timeout) as c:
            try:
                return c.request(request, timeout=timeout).status
            except (ConnectionError, OSError):
                return "closed"
    return send


# Bad inputs over HTTP: (endpoint, what, send(env) -> status, expected status)
HTTP_ROWS = [
    # -- the test channel (bearer key)
    (TEST_MSGS, "non-UTF-8 in a string", post_signed(TEST_MSGS, b'{"user": "u1", "text": "\xff\xfe refund"}'), 400),
    (TEST_MSGS, "overlong UTF-8 (C0 AF)", post_signed(TEST_MSGS, b'{"user": "u1", "text": "\xc0\xaf"}'), 400),
    (TEST_MSGS, "lone surrogate escape", post_signed(TEST_MSGS, b'{"user": "u1", "text": "\\ud800"}'), 400),
    (TEST_MSGS, "NUL inside text", post_signed(TEST_MSGS, b'{"user": "u1", "text": "a\\u0000b"}'), 400),
    (TEST_MSGS, "duplicate keys", post_signed(TEST_MSGS, b'{"user": "u1", "text": "hi", "user": "u2"}'), 400),
    (TEST_MSGS, "5000-deep nesting", post_signed(TEST_MSGS, DEEP), 400),
    (TEST_MSGS, "JSON array, not an object", post_signed(TEST_MSGS, b'[{"user": "u1", "text": "hi"}]'), 400),
    (TEST_MSGS, "trailing garbage", post_signed(TEST_MSGS, b'{"user": "u1", "text": "hi"} xx'), 400),
    (TEST_MSGS, "text of the wrong type", post_signed(TEST_MSGS, b'{"user": "u1", "text": 42}'), 400),
    (TEST_MSGS, "user with a newline", post_signed(TEST_MSGS, b'{"user": "u1\\nX-Forged: 1", "text": "hi"}'), 400),
    (TEST_MSGS, "empty body", post_signed(TEST_MSGS, b""), 400),
    (TEST_MSGS, "nesting over max_body_bytes", post_signed(TEST_MSGS, NESTED), 413),
    (TEST_MSGS, "Content-Length: -1", raw(build_request("POST", TEST_MSGS, {
        **signed(TEST_MSGS, b""), "Content-Length": "-1"})), 400),
    (TEST_MSGS, "Content-Length: 20 digits", raw(build_request("POST", TEST_MSGS, {
        **signed(TEST_MSGS, b""), "Content-Length": "99999999999999999999"})), 413),
    (TEST_MSGS, "Content-Length: 12abc", raw(build_request("POST", TEST_MSGS, {
        **signed(TEST_MSGS, b""), "Content-Length": "12abc"}, b"{}")), 400),
    (TEST_MSGS, "chunked + Expect: 100-continue", raw(build_request("POST", TEST_MSGS, {
        **signed(TEST_MSGS, b""), "Transfer-Encoding": "chunked", "Expect": "100-continue"},
        b"2\r\n{}\r\n0\r\n\r\n")), 411),
    (TEST_MSGS, "GET (wrong method)", raw(build_request("GET", TEST_MSGS, signed(TEST_MSGS, b""))), 405),
    (TEST_MSGS, "URI over 512 bytes", raw(build_request("GET", "/v1/" + "a" * 600)), 414),
    # -- WhatsApp (X-Hub-Signature-256)
    (WA, "signature of another body", post_with(WA, wa_note([wa_text()]), {
        **JSON_CT, "X-Hub-Signature-256": wa_sig(b"{}")}), 401),
    (WA, "signature in upper-case hex of another secret", post_with(WA, wa_note([wa_text()]), {
        **JSON_CT, "X-Hub-Signature-256": wa_sig(b"x", "other").upper().replace("SHA256=", "sha256=")}), 401),
    (WA, "signature header of 4 KB", post_with(WA, wa_note([wa_text()]), {
        **JSON_CT, "X-Hub-Signature-256": "sha256=" + "a" * 4096}), 401),
    (WA, "non-UTF-8 in text.body (signed)", post_signed(WA, wa_note([wa_text()]).replace(
        b"Oi, quero", b"Oi, \xff\xfe quero")), 400),
    (WA, "duplicate keys (signed)", post_signed(WA, wa_note([wa_text()])[:-1] + b', "object": "x"}'), 400),
    (WA, "5000-deep nesting (signed)", post_signed(WA, DEEP), 400),
    (WA, "body over max_body_bytes (signed)", post_signed(WA, wa_note([wa_text("x" * MAX_BODY)])), 413),
    (WA, "unknown field account_update (signed)", post_signed(WA, wa_note(
        None, field="account_update", value_extra={"event": "DISABLED_UPDATE"})), 200),
    (WA, "messages[] not an array (signed)", post_signed(WA, wa_note({"from": "1"})), 200),
    (WA, "message without id, from not digits (signed)", post_signed(WA, wa_note([
        {**wa_text(), "id": ""}, {**wa_text(), "from": "55119876'; DROP"}])), 200),
    (WA, "statuses[] with no id (signed)", post_signed(WA, wa_note(
        None, value_extra={"statuses": [{"status": "read"}, {"id": "x" * 500, "status": "read"}]})), 200),
    # -- Slack Events API (v0 signature over v0:ts:body, 5 minutes)
    (EVENTS, "signed with a timestamp 6 minutes ahead", lambda env: (lambda b: post(env, EVENTS, b, {
        **JSON_CT, **slack_headers(b, time.time() + 360)}))(slack_event()), 401),
    (EVENTS, "signed with a timestamp 6 minutes old", lambda env: (lambda b: post(env, EVENTS, b, {
        **JSON_CT, **slack_headers(b, time.time() - 360)}))(slack_event()), 401),
    (EVENTS, "signature header of 4 KB", post_with(EVENTS, slack_event(), {
        **JSON_CT, "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=" + "0" * 4096}), 401),
    (EVENTS, "truncated JSON (signed)", post_signed(EVENTS, slack_event()[:-7]), 400),
    (EVENTS, "non-UTF-8 (signed)", post_signed(EVENTS, slack_event().replace(b"refund", b"\xffrefund")), 400),
    (EVENTS, "duplicate keys (signed)", post_signed(EVENTS, slack_event()[:-1] + b', "type": "x"}'), 400),
    (EVENTS, "5000-deep nesting (signed)", post_signed(EVENTS, DEEP), 400),
    (EVENTS, "body over max_body_bytes (signed)", post_signed(EVENTS, slack_event(pad="x" * MAX_BODY)), 413),
    (EVENTS, "unknown envelope type app_rate_limited (signed)", post_signed(EVENTS, json.dumps(
        {"type": "app_rate_limited", "team_id": "T0SHOP", "minute_rate_limited": 1}).encode()), 200),
    (EVENTS, "unknown event type reaction_added (signed)", post_signed(EVENTS, slack_event(
        "reaction_added", reaction="thumbsup")), 200),
    (EVENTS, "message without user/channel (signed)", post_signed(EVENTS, json.dumps(
        {"type": "event_callback", "team_id": "T0SHOP", "event": {"type": "message", "text": "refund 1001",
                                                                  "ts": "1.2"}}).encode()), 200),
    # -- Slack interactivity (form body payload=<JSON>)
    (ACTIONS, "unsigned click", post_with(ACTIONS, form(b'{"type":"block_actions"}'), {
        "Content-Type": "application/x-www-form-urlencoded"}), 401),
    (ACTIONS, "no payload= field (signed)", post_signed(ACTIONS, b"token=x&type=block_actions",
                                                        "application/x-www-form-urlencoded"), 400),
    (ACTIONS, "payload not JSON (signed)", post_signed(ACTIONS, form(b"{not json"),
                                                       "application/x-www-form-urlencoded"), 400),
    (ACTIONS, "payload with %FF (signed)", post_signed(ACTIONS, b"payload=%7B%22type%22%3A%22%FF%22%7D",
                                                       "application/x-www-form-urlencoded"), 400),
    (ACTIONS, "payload=%00 (signed)", post_signed(ACTIONS, b"payload=%00%7B%7D",
                                                  "application/x-www-form-urlencoded"), 400),
    (ACTIONS, "unknown type view_submission (signed)", post_signed(ACTIONS, form(json.dumps(
        {"type": "view_submission", "user": {"id": "U0LEAD"}}).encode()),
        "application/x-www-form-urlencoded"), 200),
    (ACTIONS, "unknown action_id refund_everything (signed)", post_signed(ACTIONS, form(json.dumps(
        {"type": "block_actions", "user": {"id": "U0LEAD"}, "channel": {"id": "C0REVIEW"},
         "message": {"ts": "1.000001"}, "actions": [{"action_id": "refund_everything", "value": "1003",
                                                     "action_ts": "1.000002"}]}).encode()),
        "application/x-www-form-urlencoded"), 200),
    (ACTIONS, "review click with a 4 KB ticket id (signed)", post_signed(ACTIONS, form(json.dumps(
        {"type": "block_actions", "user": {"id": "U0LEAD"}, "channel": {"id": "C0REVIEW"},
         "message": {"ts": "1.000001"}, "actions": [{"action_id": "review_approve", "value": "T" * 4096,
                                                     "action_ts": "1.000002"}]}).encode()),
        "application/x-www-form-urlencoded"), 200),
    # -- Stripe webhook (t=,v1= over "t.body", 5 minutes)
    (STRIPE, "v1 of another secret", lambda env: (lambda b: post(env, STRIPE, b, {
        **JSON_CT, **stripe_headers(b, secret="whsec_other")}))(stripe_event("refund.updated", {})), 401),
    (STRIPE, "signed 10 minutes ago (replay)", lambda env: (lambda b: post(env, STRIPE, b, {
        **JSON_CT, **stripe_headers(b, ts=time.time() - 600)}))(stripe_event("refund.updated", {})), 401),
    (STRIPE, "Stripe-Signature of 2 KB", post_with(STRIPE, b"{}", {
        **JSON_CT, "Stripe-Signature": "t=1," + "v1=ab," * 340}), 401),
    (STRIPE, "truncated JSON (signed)", post_signed(STRIPE, stripe_event("refund.updated", {})[:-3]), 400),
    (STRIPE, "non-UTF-8 (signed)", post_signed(STRIPE, b'{"type": "refund.updated\xff"}'), 400),
    (STRIPE, "duplicate keys (signed)", post_signed(STRIPE, b'{"type": "a", "type": "refund.updated"}'), 400),
    (STRIPE, "5000-deep nesting (signed)", post_signed(STRIPE, DEEP), 400),
    (STRIPE, "unknown event type payment_intent.created (signed)", post_signed(STRIPE, stripe_event(
        "payment_intent.created", {"id": "pi_1", "object": "payment_intent"})), 200),
    (STRIPE, "refund event without our metadata (signed)", post_signed(STRIPE, stripe_event(
        "refund.updated", {"id": "re_1", "object": "refund", "status": "succeeded", "amount": 999999})), 200),
    (STRIPE, "charge.refunded with refunds not a list (signed)", post_signed(STRIPE, stripe_event(
        "charge.refunded", {"id": "ch_1", "refunds": {"data": "nope"}})), 200),
    # -- headers
    ("any", "16 KB of headers", raw(build_request("GET", "/healthz", {"X-Junk": "j" * 16384})), (400, 431, "closed")),
    ("any", "h2c upgrade on a POST with a body", raw(build_request("POST", TEST_MSGS, {
        **signed(TEST_MSGS, b"{}"), "Content-Length": 2, "Connection": "Upgrade, HTTP2-Settings",
        "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"}, b"{}")), 400),
    ("/webchat/ws", "WebSocket upgrade on another path", raw(build_request("GET", "/v1/test/messages", {
        "Upgrade": "websocket", "Connection": "Upgrade", "Origin": ORIGIN,
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "redress.webchat.v1"})), 403),
]


@pytest.mark.parametrize("endpoint,what,send,expected",
                         [pytest.param(*row, id=f"{row[0]}: {row[1]}") for row in HTTP_ROWS])
def test_bad_http_input(env, endpoint, what, send, expected):
    before = env.snapshot()
    status = send(env)
    assert status in (expected if isinstance(expected, tuple) else (expected,)), \
        f"{endpoint} {what}: {status}, expected {expected}"
    unchanged(env, before, f"{endpoint} {what}")


# --------------------------------------------------------------------------- static files

TRAVERSALS = [
    "/webchat/../config.ini", "/webchat/..%2fconfig.ini", "/webchat/%2e%2e/config.ini",
    "/webchat/%2e%2e%2fconfig.ini", "/webchat/%252e%252e/config.ini", "/webchat/..\\config.ini",
    "/webchat/widget.js/../../config.ini", "/webchat/./../../../../etc/passwd",
    "/webchat//etc/passwd", "/webchat/%2F..%2F..%2Fetc%2Fpasswd", "/webchat/widget.js%00.html",
    "/webchat/widget.js?../../config.ini", "/webchat/....//....//config.ini",
    "/webchat/index.html", "/webchat/%c0%ae%c0%ae/config.ini", "/..%2f..%2fetc%2fpasswd",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_file_path_traversal(env, path):
    """Only the two assets, from memory: no path reaches the file system."""
    before = env.snapshot()
    with env.gw.connect(10) as c:
        try:
            r = c.request(build_request("GET", path), timeout=10)
        except ConnectionError:
            r = None  # lws hangs up on some URIs (%00) without an answer
    if r is None:
        assert "%00" in path, f"{path}: no answer"
    elif path.startswith("/webchat/widget.js?"):  # a query string on the real asset
        assert r.status == 200
    else:
        assert r.status in (400, 403, 404), (path, r)
    for secret in (b"[gateway]", b"api_key", b"root:x:0:0", b"[redis]"):
        assert r is None or secret not in r.body, (path, r.body[:200])
    unchanged(env, before, path)


# --------------------------------------------------------------------------- web chat frames

def _chat(env):
    from test_webchat import Chat  # the widget's client, shared with test_webchat.py
    return Chat(env.gw, origin=ORIGIN)


def _write_frame(chat, opcode, data):
    chat._run(chat.ws.write_frame(True, opcode, data), 5)


WS_ROWS = [
    ("non-UTF-8 text frame", lambda c: _write_frame(c, 0x1, b'{"type":"\xff\xfe"}'), {"bad_frame", "closed"}),
    ("binary frame", lambda c: c.ws_send_bytes(b"\x00\x01\x02"), {"bad_frame", "closed"}),
    ("duplicate keys", lambda c: c.send('{"type":"message","id":"a","text":"x","text":"y"}'), {"bad_frame"}),
    ("2047-deep nesting", lambda c: c.send("[" * 2047 + "]" * 2047), {"bad_frame"}),
    ("600-deep object without a type", lambda c: c.send('{"a":' * 600 + "1" + "}" * 600), {"bad_frame"}),
    ("unknown frame type", lambda c: c.send({"type": "refund", "order": "1003", "amount": 99999}), {"bad_frame"}),
    ("a second hello", lambda c: c.send({"type": "hello", "session": "0" * 32}), {"bad_frame"}),
    ("message id over 64 bytes", lambda c: c.send({"type": "message", "id": "i" * 65, "text": "hi"}), {"bad_frame"}),
    ("text of the wrong type", lambda c: c.send({"type": "message", "id": "a", "text": ["x"]}), {"bad_frame"}),
    ("button id over the limit", lambda c: c.send({"type": "button", "id": "a", "button": "b" * 100}), {"bad_frame"}),
    ("frame over max_message_bytes", lambda c: c.send({"type": "message", "id": "a", "text": "x" * 8192}), {"too_large"}),
]


@pytest.mark.parametrize("what,act,codes", [pytest.param(*r, id=r[0]) for r in WS_ROWS])
def test_bad_web_chat_frame(env, what, act, codes):
    before = env.snapshot()
    chat = _chat(env)
    try:
        chat.ws_send_bytes = lambda data: chat._run(chat.ws.send(data), 5)
        chat.hello(locale="en")
        act(chat)
        try:
            code = chat.expect("error", timeout=5)["code"]
        except Exception:  # noqa: BLE001 - the server may close instead (1007)
            code = "closed" if chat.ws.closed or not chat.ws.open else "no answer"
        print(f"{what}: {code}")
        assert code in codes, f"{what}: {code}"
        if code != "closed":  # the socket is still usable
            chat.send({"type": "typing"})
    finally:
        chat.close()
    unchanged(env, before, what)


def test_an_expired_web_chat_session_gets_a_new_empty_one(env):
    """A token whose Redis key expired (session_ttl_days) is a stranger's:
    new session, no history, the old conversation untouched. (Forged tokens:
    test_webchat.py::test_a_forged_session_token_gets_a_new_empty_session.)"""
    r = env.r
    with _chat(env) as chat:
        token = chat.hello(locale="en")["session"]
    key = "rd:webchat:token:" + hashlib.sha256(token.encode()).hexdigest()
    assert r.exists(key) and r.ttl(key) > 0
    r.pexpire(key, 1)
    wait_for(lambda: not r.exists(key), 2, what="the session key expired")
    before = env.snapshot()
    with _chat(env) as chat:
        welcome = chat.hello(session=token, locale="en")
    assert welcome["session"] != token and welcome["history"] == []
    unchanged(env, before, "expired session token")


# --------------------------------------------------------------------------- slowloris

def test_slowloris_headers_and_bodies_are_cut_off_and_others_are_served(env):
    """Connections that dribble their headers a byte at a time are closed by
    lws once they have held a header table for timeout_secs_ah_idle (10 s by
    default) whatever they keep sending; bodies dribbled a byte at a time
    (lws restarts its 5 s idle clock on every byte) get a 408 once past
    10 s + 1 s per 8 KiB of Content-Length (gateway/http.c). Meanwhile
    everyone else is served."""
    before = env.snapshot()
    head = build_request("POST", TEST_MSGS, {**signed(TEST_MSGS, b"{}"), "Content-Length": 1000,
                                              "X-Pad": "p" * 200})
    # 10 dribble their headers (never the blank line), 10 their body
    plans = [head[:-4]] * 10 + [(head, b" " * 1000)] * 10
    socks = [socket.create_connection(("127.0.0.1", env.gw.port), timeout=2) for _ in plans]
    closed_at, answers = [None] * len(socks), [b""] * len(socks)
    t0 = time.monotonic()
    stop = threading.Event()

    def dribble(i, s, plan):
        if isinstance(plan, tuple):
            s.sendall(plan[0])
            plan = plan[1]
        for b in plan:
            if stop.is_set():
                return
            try:
                s.sendall(bytes([b]))
                s.settimeout(0.5)
                got = s.recv(4096)
                answers[i] += got
                if got == b"":
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        closed_at[i] = time.monotonic() - t0

    threads = [threading.Thread(target=dribble, args=(i, s, p), daemon=True)
               for i, (s, p) in enumerate(zip(socks, plans))]
    for t in threads:
        t.start()
    try:
        # others are served all along (each answer bounded well under the cut-off)
        while time.monotonic() - t0 < AH_IDLE_S - 2:
            t1 = time.monotonic()
            assert env.gw.get("/healthz", timeout=2).status_code == 200
            assert time.monotonic() - t1 < 1.0
            time.sleep(0.2)
        for t in threads:
            t.join(max(0.1, AH_IDLE_S + 10 - (time.monotonic() - t0)))
        assert all(c is not None for c in closed_at), f"still open after {AH_IDLE_S + 10} s: {closed_at}"
        assert min(closed_at) >= AH_IDLE_S - 1, f"closed too early? {closed_at}"
        for a in answers[10:]:
            assert a.startswith(b"HTTP/1.1 408"), a[:100]
        print("closed after (s):", [round(c, 1) for c in closed_at])
    finally:
        stop.set()
        for s in socks:
            s.close()
    unchanged(env, before, "slowloris")
