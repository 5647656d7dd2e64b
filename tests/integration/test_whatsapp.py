"""The WhatsApp channel (Meta WhatsApp Cloud API) end to end: the real
gateway and redis-server, Meta's webhook payloads from tests/data/whatsapp/
(fresh message ids and a current timestamp per test), and a Graph API stub
(graph_stub.py) that records what the gateway sends and can fail like Meta.

Each test asserts on what the customer gets (the stub's requests) and on
what moved in Redis (rd:inbound, rd:outbox, rd:delivery:…, the refund)."""
import base64
import hashlib
import hmac
import json
import os
import re
import select
import time
from urllib.parse import urlencode

import pytest

from conftest import REPO, build_request, import_demo_orders, wait_for
from graph_stub import (ACCESS_TOKEN, PHONE_NUMBER_ID, button_ids, graph,  # noqa: F401 (fixture)
                        message_text)

DATA = REPO / "tests" / "data" / "whatsapp"
WEBHOOK = "/webhooks/whatsapp"
VERIFY_TOKEN = "verify-7c1e-redress"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TEMPLATE, TEMPLATE_LANG = "redress_update", "pt_BR"
MAX_BODY = 3 * 1024 * 1024             # Meta's limit, [gateway] max_body_bytes = 3MiB

MARINA = "5511987654321"               # demo order 8421, phone +5511987654321
LUCIA = "34612345678"                  # demo order 1012, phone +34612345678
BRL_186 = "R$\u00a0186,00"

REPLY_TIMEOUT = 10                     # s: an answer through the whole pipeline
RETRY_TIMEOUT = 12                     # s: an answer that needs one outbox retry (claim_idle_ms 1 s)


# --------------------------------------------------------------------------- helpers

def new_wamid(wa_id=MARINA):
    """A fresh message id shaped like Meta's ("wamid." + base64, '=' padding
    and all)."""
    blob = (b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00\x12\x18\x14"
            + os.urandom(10).hex().upper().encode() + b"\x00")
    return "wamid." + base64.b64encode(blob).decode()


def payload(name, **subs):
    """tests/data/whatsapp/NAME with {{KEY}} placeholders replaced (PHONE_NUMBER_ID
    and TS, the current time in seconds, by default), as UTF-8 bytes."""
    text = (DATA / name).read_text(encoding="utf-8")
    subs = {"PHONE_NUMBER_ID": PHONE_NUMBER_ID, "TS": str(int(time.time())), **subs}
    for key, value in subs.items():
        text = text.replace("{{" + key + "}}", str(value))
    left = re.findall(r"\{\{\w+\}\}", text)
    assert not left, f"{name}: placeholders left: {left}"
    return text.encode("utf-8")


def sign(body, secret=APP_SECRET):
    """X-Hub-Signature-256 for these exact bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_SIGN = object()


def post_webhook(gw, body, signature=_SIGN, headers=None, timeout=10):
    """POST raw bytes to the webhook as Meta does. signature: default signs the
    bytes with APP_SECRET; None leaves the header out; a str is sent as is."""
    h = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if signature is _SIGN:
        signature = sign(body)
    if signature is not None:
        h["X-Hub-Signature-256"] = signature
    h.update(headers or {})
    return gw.post(WEBHOOK, body, headers=h, timeout=timeout)


def deliver(gw, redis, body, new_messages=1):
    """Signed POST that must be acknowledged with 200, and (durable before the
    ack) must already have grown rd:inbound by new_messages."""
    before = redis.xlen("rd:inbound")
    r = post_webhook(gw, body)
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    assert redis.xlen("rd:inbound") == before + new_messages, "acknowledged before it was stored"
    return r


def post_big(gw, body, headers, timeout=10):
    """POST body over a raw socket with a Content-Length; stop writing as soon
    as the gateway answers (a 413 may come from the headers alone)."""
    head = build_request("POST", WEBHOOK, {**headers, "Content-Length": len(body)})
    with gw.connect(timeout) as c:
        c.send(head)
        view, off = memoryview(body), 0
        deadline = time.monotonic() + timeout
        try:
            while off < len(view):
                readable, writable, _ = select.select([c.sock], [c.sock], [], 0.5)
                if readable:
                    break
                if writable:
                    off += c.sock.send(view[off:off + 65536])
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not send the body ({off} of {len(view)} bytes)")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway closed after answering; read what it said
        return c.read_response(timeout)


def inbound(redis):
    """Every message in rd:inbound (the normalized JSON of field m)."""
    return [json.loads(f["m"]) for _, f in redis.xrange("rd:inbound")]


def stored(redis, wamid):
    found = [m for m in inbound(redis) if m.get("message_id") == wamid]
    assert len(found) == 1, f"{wamid}: {len(found)} stored messages; inbound: {inbound(redis)}"
    return found[0]


def settled(redis, stream, group):
    """Every entry of stream has been read by group and acknowledged."""
    g = next(g for g in redis.xinfo_groups(stream) if g["name"] == group)
    last = redis.xinfo_stream(stream)["last-generated-id"]
    return g["pending"] == 0 and g["last-delivered-id"] == last


def wait_settled(redis, timeout=REPLY_TIMEOUT):
    """Bounded wait until the agents and the senders have nothing left to do."""
    wait_for(lambda: settled(redis, "rd:inbound", "agents")
             and settled(redis, "rd:outbox", "senders"), timeout,
             what="rd:inbound and rd:outbox processed and acknowledged")


def push(redis, texts, user=MARINA, locale="pt-BR"):
    """Queue an outbound entry with no inbound message (like a review decision)."""
    entry = {"channel": "whatsapp", "user": user, "conversation_id": f"whatsapp:{user}",
             "in_reply_to": "", "locale": locale, "received_at_ms": 0,
             "route": json.dumps({"phone_number_id": PHONE_NUMBER_ID}),
             "replies": [{"name": "status_refunded", "text": t} for t in texts]}
    # the outbox format every producer writes (gateway/worker.h): the entry,
    # its conversation, and the conversation's next sequence number
    cid = f"whatsapp:{user}"
    seq = redis.incr(f"rd:out:seq:{{{cid}}}")
    return redis.xadd("rd:outbox", {"o": json.dumps(entry, ensure_ascii=False), "c": cid, "s": seq})


def assert_cloud_api_request(rec, to=MARINA):
    """What every request to the Graph API must carry."""
    assert rec["headers"].get("authorization") == f"Bearer {ACCESS_TOKEN}", rec["headers"]
    assert rec["headers"].get("content-type", "").startswith("application/json"), rec["headers"]
    assert rec["json"]["messaging_product"] == "whatsapp", rec["json"]
    assert rec["problems"] == [], rec["problems"]
    if rec["kind"] == "send":
        assert rec["json"].get("recipient_type") == "individual", rec["json"]
        assert rec["json"]["to"] == to, rec["json"]


def refunds_created(redis):
    return int(redis.get("rd:sandbox:refunds") or 0)


def now_ms():
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- fixtures

def wa_overrides(stub, **whatsapp):
    return {
        "gateway": {"claim_idle_ms": 1000, "max_body_bytes": "3MiB"},
        "whatsapp": {"enabled": "true", "verify_token": VERIFY_TOKEN, "app_secret": APP_SECRET,
                     "access_token": ACCESS_TOKEN, "phone_number_id": PHONE_NUMBER_ID,
                     "graph_api_base": stub.base_url,
                     "templates": f"*={TEMPLATE}/{TEMPLATE_LANG}", **whatsapp},
    }


@pytest.fixture
def wa_gateway(graph, gateway):  # graph first: the stub outlives the gateway
    """A gateway with [whatsapp] pointed at the Graph stub, demo orders imported."""
    gw = gateway(wa_overrides(graph))
    import_demo_orders(gw)
    return gw


# --------------------------------------------------------------------------- handshake

def handshake(gw, **params):
    return gw.get(WEBHOOK + ("?" + urlencode(params) if params else ""))


def test_handshake_answers_the_challenge_only_for_the_right_token(wa_gateway):
    gw = wa_gateway
    r = handshake(gw, **{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                         "hub.challenge": "1158201444"})
    assert r.status_code == 200, r.text
    assert r.text == "1158201444"
    assert r.headers["Content-Type"].startswith("text/plain")

    for token in ("wrong-token", VERIFY_TOKEN[:-1], VERIFY_TOKEN + "x", ""):
        r = handshake(gw, **{"hub.mode": "subscribe", "hub.verify_token": token,
                             "hub.challenge": "2093347719"})
        assert r.status_code == 403, (token, r.status_code, r.text)
        assert "2093347719" not in r.text
    r = handshake(gw, **{"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN,
                         "hub.challenge": "2093347719"})
    assert r.status_code == 403, r.text


def test_handshake_with_missing_parameters_is_403(wa_gateway):
    gw = wa_gateway
    assert handshake(gw).status_code == 403
    assert handshake(gw, **{"hub.challenge": "42"}).status_code == 403
    assert handshake(gw, **{"hub.verify_token": VERIFY_TOKEN,
                            "hub.challenge": "42"}).status_code == 403
    assert handshake(gw, **{"hub.mode": "subscribe",
                            "hub.challenge": "42"}).status_code == 403
    assert handshake(gw, **{"hub.mode": "subscribe",
                            "hub.verify_token": VERIFY_TOKEN}).status_code == 403


# --------------------------------------------------------------------------- signatures and bodies

def test_only_a_good_signature_is_accepted_and_bad_ones_store_nothing(wa_gateway, redis_server):
    gw, redis = wa_gateway, redis_server.client
    wamid = new_wamid()
    body = payload("text.json", WAMID=wamid)
    good = sign(body)
    bad = {
        "missing": None,
        "other secret": sign(body, "not-the-app-secret"),
        "other body": sign(body + b" "),
        "no sha256= prefix": good[len("sha256="):],
        "truncated": good[:-2],
        "empty digest": "sha256=",
        "sha1": "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest(),
    }
    for what, signature in bad.items():
        r = post_webhook(gw, body, signature=signature)
        assert r.status_code == 401, (what, r.status_code, r.text)
        assert redis.xlen("rd:inbound") == 0, what
    # the legacy SHA-1 header alone does not do either
    r = post_webhook(gw, body, signature=None, headers={
        "X-Hub-Signature": "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()})
    assert r.status_code == 401
    assert not redis.exists(f"rd:dedupe:whatsapp:{wamid}"), "a refused message was marked seen"

    # the same message, signed right, is then accepted (the refusals marked nothing)
    deliver(gw, redis, body)
    assert stored(redis, wamid)["text"] == "Oi, quero reembolso do pedido 8421"


def test_signature_is_checked_over_the_raw_bytes(wa_gateway, redis_server):
    gw, redis = wa_gateway, redis_server.client
    wamid = new_wamid()
    # Meta escapes '/' as "\/" and may send UTF-8 or \u escapes; a gateway that
    # re-serialized the JSON before checking would compute another digest.
    raw_text = r'Olá, é sobre o pedido 8421, n\u00e3o chegou: https:\/\/shop.example\/p\/1'
    body = payload("text.json", WAMID=wamid).replace(
        "Oi, quero reembolso do pedido 8421".encode(), raw_text.encode("utf-8"))
    assert "é".encode() in body and b"https:\\/\\/shop.example\\/p\\/1" in body
    reserialized = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert sign(reserialized) != sign(body)

    deliver(gw, redis, body)
    text = stored(redis, wamid)["text"]
    assert text == "Olá, é sobre o pedido 8421, não chegou: https://shop.example/p/1", text


def test_body_over_3_mib_is_413(wa_gateway, redis_server):
    gw, redis = wa_gateway, redis_server.client
    base = payload("text.json", WAMID=new_wamid())
    marker = b'"messaging_product": "whatsapp",'
    filler = MAX_BODY + 1 - len(base) - len(b' "padding": "",')
    body = base.replace(marker, marker + b' "padding": "' + b"x" * filler + b'",', 1)
    assert len(body) == MAX_BODY + 1
    r = post_big(gw, body, {"Content-Type": "application/json",
                            "X-Hub-Signature-256": sign(body)})
    assert r.status == 413, r
    assert redis.xlen("rd:inbound") == 0


def test_body_of_exactly_3_mib_is_accepted(wa_gateway, redis_server):
    gw, redis = wa_gateway, redis_server.client
    wamid = new_wamid()
    base = payload("text.json", WAMID=wamid)
    marker = b'"messaging_product": "whatsapp",'
    filler = MAX_BODY - len(base) - len(b' "padding": "",')
    body = base.replace(marker, marker + b' "padding": "' + b"x" * filler + b'",', 1)
    assert len(body) == MAX_BODY
    r = post_big(gw, body, {"Content-Type": "application/json",
                            "X-Hub-Signature-256": sign(body)})
    assert r.status == 200, r
    assert stored(redis, wamid)["text"] == "Oi, quero reembolso do pedido 8421"


def test_malformed_json_with_a_valid_signature_is_400(wa_gateway, redis_server):
    gw, redis = wa_gateway, redis_server.client
    for body in (b'{"object": "whatsapp_business_account", "entry": [',
                 payload("text.json", WAMID=new_wamid())[:-3]):
        r = post_webhook(gw, body)
        assert r.status_code == 400, (body[-40:], r.status_code, r.text)
    assert redis.xlen("rd:inbound") == 0


def test_unknown_fields_and_change_types_are_ignored(wa_gateway, redis_server):
    gw, redis = wa_gateway, redis_server.client
    wamid = new_wamid()
    deliver(gw, redis, payload("unknown_fields.json", WAMID=wamid), new_messages=1)
    m = stored(redis, wamid)
    assert m["text"] == "Oi, quero reembolso do pedido 8421"
    assert m["conversation_id"] == f"whatsapp:{MARINA}"


# --------------------------------------------------------------------------- conversations

def test_full_refund_conversation_in_portuguese(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    started = now_ms()
    first = new_wamid()
    deliver(gw, redis, payload("text.json", WAMID=first))
    m = stored(redis, first)
    assert m["channel"] == "whatsapp" and m["user"] == MARINA
    assert m["conversation_id"] == f"whatsapp:{MARINA}"
    assert m["verified_phone"] == f"+{MARINA}"

    # her phone is her identity: the offer comes at once, no e-mail asked
    offer = graph.wait_for_sends(1, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)[0]
    body = offer["json"]
    assert body["type"] == "interactive" and body["interactive"]["type"] == "button", body
    assert BRL_186 in message_text(offer), message_text(offer)
    assert button_ids(offer) == ["confirm_yes", "confirm_no"]
    for b in body["interactive"]["action"]["buttons"]:
        assert b["type"] == "reply" and 1 <= len(b["reply"]["title"]) <= 20, b
    assert len(message_text(offer)) <= 1024

    # she taps "Sim, reembolsar"
    tap = new_wamid()
    deliver(gw, redis, payload("button_reply.json", WAMID=tap, CONTEXT_WAMID=offer["wamid"]))
    m = stored(redis, tap)
    assert m["kind"] == "button" and m["payload"] == "confirm_yes", m

    sent = graph.wait_for_sends(3, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)
    after = [message_text(r) for r in sent[1:]]
    done = [i for i, t in enumerate(after) if BRL_186 in t and "8421" in t]
    note = [i for i, t in enumerate(after) if "NC-0001" in t]
    assert done and note and done[0] < note[0], after
    for r in sent[1:]:
        assert r["json"]["type"] == "text", r["json"]
        assert r["json"]["text"]["preview_url"] is False, r["json"]

    assert refunds_created(redis) == 1
    assert int(redis.hget("rd:order:8421", "refunded")) == 18600
    assert redis.hget("rd:cn:NC-0001", "order_id") == "8421"

    # a read receipt for each of her messages
    graph.wait_until(lambda recs: {first, tap} <= set(graph.read_ids()), REPLY_TIMEOUT,
                     what="read receipts for both inbound messages")
    for rec in graph.reads(ok=True):
        assert rec["json"] == {"messaging_product": "whatsapp", "status": "read",
                               "message_id": rec["json"]["message_id"]}, rec["json"]
    wait_settled(redis)
    for rec in graph.requests():
        assert rec["kind"] in ("send", "read"), rec["path"]
        assert_cloud_api_request(rec)
    assert len(graph.sends()) == 3, graph.summary()

    updated = int(redis.hget(f"rd:conv:{{whatsapp:{MARINA}}}", "updated_at"))
    assert started - 60_000 <= updated <= now_ms(), (started, updated)


def test_template_quick_reply_acts_as_the_button(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    deliver(gw, redis, payload("text.json", WAMID=new_wamid()))
    offer = graph.wait_for_sends(1, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)[0]
    assert button_ids(offer) == ["confirm_yes", "confirm_no"]
    tap = new_wamid()
    deliver(gw, redis, payload("quick_reply.json", WAMID=tap, CONTEXT_WAMID=offer["wamid"]))
    m = stored(redis, tap)
    assert m["kind"] == "button" and m["payload"] == "confirm_yes", m
    sent = graph.wait_for_sends(3, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)
    assert any("NC-0001" in message_text(r) for r in sent), graph.summary()
    assert refunds_created(redis) == 1


def test_a_redelivered_notification_is_processed_once(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    wamid = new_wamid()
    body = payload("text.json", WAMID=wamid)
    deliver(gw, redis, body)
    assert redis.exists(f"rd:dedupe:whatsapp:{wamid}")
    # Meta re-delivers the same bytes…
    deliver(gw, redis, body, new_messages=0)
    # …and the dedupe is on the message id, not on the bytes
    again = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=True).encode()
    deliver(gw, redis, again, new_messages=0)
    assert redis.xlen("rd:inbound") == 1

    graph.wait_for_sends(1, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)
    wait_settled(redis)
    assert len(graph.sends()) == 1, graph.summary()
    assert redis.xlen("rd:outbox") == 1


def test_a_batch_of_two_entries_answers_both_customers(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    w1, w2 = new_wamid(MARINA), new_wamid(LUCIA)
    body = payload("batch_two_entries.json", WAMID_1=w1, WAMID_2=w2)
    deliver(gw, redis, body, new_messages=2)

    doc = json.loads(body)
    expected = {e["changes"][0]["value"]["messages"][0]["id"]:
                e["changes"][0]["value"]["messages"][0]["text"]["body"] for e in doc["entry"]}
    assert "é" in expected[w1] and "🙏" in expected[w1] and "/" in expected[w1]
    assert "ó" in expected[w2] and "😢" in expected[w2] and "https://fotos.example/p/1012" in expected[w2]
    for wamid, wa_id in ((w1, MARINA), (w2, LUCIA)):
        m = stored(redis, wamid)
        assert m["text"] == expected[wamid], m
        assert m["conversation_id"] == f"whatsapp:{wa_id}" and m["verified_phone"] == f"+{wa_id}"

    graph.wait_until(lambda recs: {MARINA, LUCIA} <= {r["to"] for r in recs
                                                      if r["kind"] == "send" and r["ok"]},
                     REPLY_TIMEOUT, what="an answer to each customer")
    graph.wait_until(lambda recs: {w1, w2} <= set(graph.read_ids()), REPLY_TIMEOUT,
                     what="a read receipt for each message")
    wait_settled(redis)
    for rec in graph.sends():
        assert_cloud_api_request(rec, to=rec["json"]["to"])
    assert sorted(graph.read_ids()) == sorted([w1, w2])


def test_an_image_gets_the_unsupported_media_answer(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    deliver(gw, redis, payload("image.json", WAMID=new_wamid()))
    sent = graph.wait_for_sends(1, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)[0]
    assert sent["json"]["type"] == "text", sent["json"]
    wording = {loc: (REPO / "templates" / loc / "unsupported_media.txt").read_text(
        encoding="utf-8").strip() for loc in ("en", "pt-BR", "es")}
    assert message_text(sent).strip() in wording.values(), (message_text(sent), wording)
    assert refunds_created(redis) == 0


# --------------------------------------------------------------------------- delivery statuses

def post_status(gw, name, wamid, status=None):
    body = payload(name, WAMID=wamid)
    if status:
        assert body.count(b'"status": "delivered"') == 1
        body = body.replace(b'"status": "delivered"', f'"status": "{status}"'.encode())
    r = post_webhook(gw, body)
    assert r.status_code == 200, f"{r.status_code} {r.text}"


def delivery(redis, wamid):
    return redis.hgetall(f"rd:delivery:{wamid}")


def test_status_updates_are_recorded(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    wamid = new_wamid()
    post_status(gw, "status_delivered.json", wamid)
    wait_for(lambda: delivery(redis, wamid).get("status") == "delivered", 5,
             what="status delivered")
    post_status(gw, "status_delivered.json", wamid, status="read")
    wait_for(lambda: delivery(redis, wamid).get("status") == "read", 5, what="status read")

    failed = new_wamid()
    post_status(gw, "status_failed.json", failed)
    wait_for(lambda: delivery(redis, failed).get("status") == "failed", 5, what="status failed")
    assert delivery(redis, failed)["error_code"] == "131047", delivery(redis, failed)

    # statuses are not customer messages: nobody is answered
    assert redis.xlen("rd:outbox") == 0
    assert graph.sends() == [] and graph.reads() == [], graph.summary()


# --------------------------------------------------------------------------- 24 h window and templates

def assert_template(rec, text):
    body = rec["json"]
    assert body["type"] == "template", body
    t = body["template"]
    assert t["name"] == TEMPLATE and t["language"]["code"] == TEMPLATE_LANG, t
    assert t["components"] == [{"type": "body",
                                "parameters": [{"type": "text", "text": text}]}], t


def test_outside_the_service_window_a_reply_goes_as_a_template(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    deliver(gw, redis, payload("text.json", WAMID=new_wamid()))
    graph.wait_for_sends(1, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)
    wait_settled(redis)
    conv = f"rd:conv:{{whatsapp:{MARINA}}}"
    assert redis.hexists(conv, "updated_at")

    # inside the window a push is a plain message
    push(redis, ["Seu reembolso foi concluído."])
    inside = graph.wait_for_sends(2, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)[-1]
    assert inside["json"]["type"] == "text", inside["json"]
    assert inside["json"]["text"]["body"] == "Seu reembolso foi concluído."

    # her last message two days ago: only a template may go
    redis.hset(conv, "updated_at", now_ms() - 2 * 86_400_000)
    push(redis, ["Seu reembolso foi concluído."])
    outside = graph.wait_for_sends(3, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)[-1]
    assert_template(outside, "Seu reembolso foi concluído.")
    assert_cloud_api_request(outside)

    # Meta refuses template parameters with new lines or tabs: they are flattened
    push(redis, ["Reembolso concluído.\n\tNota de crédito NC-0001."])
    flat = graph.wait_for_sends(4, timeout=REPLY_TIMEOUT, ok=True, to=MARINA)[-1]
    assert_template(flat, "Reembolso concluído. Nota de crédito NC-0001.")


def test_error_131047_resends_the_reply_as_a_template(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    graph.fail_next(code=131047)
    deliver(gw, redis, payload("text.json", WAMID=new_wamid()))
    ok = graph.wait_for_sends(1, timeout=RETRY_TIMEOUT, ok=True, to=MARINA)[0]
    refused = graph.sends(ok=False, to=MARINA)
    assert len(refused) == 1 and refused[0]["error_code"] == 131047, graph.summary()
    assert refused[0]["n"] < ok["n"]
    assert BRL_186 in message_text(refused[0])
    assert_template(ok, message_text(refused[0]))
    wait_settled(redis)
    assert len(graph.sends(ok=True)) == 1, graph.summary()


# --------------------------------------------------------------------------- retries and order

TRANSIENT = [
    pytest.param({"code": 130429}, id="130429-rate-limit"),
    pytest.param({"code": 131056}, id="131056-pair-rate-limit"),
    pytest.param({"http_status": 429}, id="http-429"),
    pytest.param({"http_status": 500}, id="http-500"),
    pytest.param({"http_status": 503}, id="http-503"),
]


@pytest.mark.parametrize("failure", TRANSIENT)
def test_a_transient_send_failure_is_retried_and_sent_once(wa_gateway, graph, redis_server,
                                                          failure):
    gw, redis = wa_gateway, redis_server.client
    graph.fail_next(**failure)
    deliver(gw, redis, payload("text.json", WAMID=new_wamid()))
    graph.wait_for_sends(1, timeout=RETRY_TIMEOUT, ok=True, to=MARINA)
    wait_settled(redis)
    attempts = graph.sends(to=MARINA)
    assert [r["ok"] for r in attempts] == [False, True], graph.summary()
    assert attempts[1]["json"] == attempts[0]["json"], "the retry is the same message"
    assert BRL_186 in message_text(attempts[1])


def test_an_html_502_from_a_proxy_is_retried(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    graph.fail_next(http_status=502, body="<html><body>502 Bad Gateway</body></html>")
    deliver(gw, redis, payload("text.json", WAMID=new_wamid()))
    graph.wait_for_sends(1, timeout=RETRY_TIMEOUT, ok=True, to=MARINA)
    wait_settled(redis)
    assert [r["ok"] for r in graph.sends(to=MARINA)] == [False, True], graph.summary()


def test_another_4xx_is_final_and_logged_with_metas_code(wa_gateway, graph, redis_server):
    gw, redis = wa_gateway, redis_server.client
    graph.fail_next(code=131026)
    deliver(gw, redis, payload("text.json", WAMID=new_wamid()))
    graph.wait_for_sends(1, timeout=REPLY_TIMEOUT, to=MARINA)
    wait_settled(redis)           # acknowledged: not left pending for a retry
    assert [r["ok"] for r in graph.sends(to=MARINA)] == [False], graph.summary()
    wait_for(lambda: "131026" in gw.log_text(), 5, what="Meta's code 131026 in the log")


def test_queued_replies_for_one_customer_arrive_in_order_across_a_retry(wa_gateway, graph,
                                                                       redis_server):
    redis = redis_server.client
    graph.fail_next(code=130429)
    first, second = "Primeira mensagem (1/2) — olá", "Segunda mensagem (2/2) — até já"
    push(redis, [first])
    push(redis, [second])
    graph.wait_for_sends(2, timeout=RETRY_TIMEOUT, ok=True, to=MARINA)
    wait_settled(redis)
    assert [message_text(r) for r in graph.sends(ok=True, to=MARINA)] == [first, second], \
        graph.summary()
    refused = graph.sends(ok=False)
    assert [message_text(r) for r in refused] == [first], graph.summary()


def test_a_retry_does_not_resend_replies_already_delivered(wa_gateway, graph, redis_server):
    """One outbox entry with two replies (like "refunded" + "credit note"):
    the second fails with 130429; the retry sends it, not the first again."""
    redis = redis_server.client
    graph.fail_next(code=130429, after=1)
    first, second = "Pronto! Reembolso a caminho.", "A nota de crédito NC-0009 foi emitida."
    push(redis, [first, second])
    graph.wait_for_sends(2, timeout=RETRY_TIMEOUT, ok=True, to=MARINA)
    wait_settled(redis)
    assert [message_text(r) for r in graph.sends(ok=True, to=MARINA)] == [first, second], \
        graph.summary()
    assert [message_text(r) for r in graph.sends(to=MARINA)] == [first, second, second], \
        graph.summary()


def test_outbound_rate_is_capped_per_phone_number(graph, gateway, redis_server):
    redis = redis_server.client
    gw = gateway(wa_overrides(graph, max_messages_per_second="2"))
    import_demo_orders(gw)
    push(redis, [f"Mensagem {i}" for i in range(6)])
    sent = graph.wait_for_sends(6, timeout=REPLY_TIMEOUT + 5, ok=True, to=MARINA)
    assert [message_text(r) for r in sent] == [f"Mensagem {i}" for i in range(6)]
    # six messages at two a second need at least three clock seconds: more
    # than a full second between the first and the last (unthrottled: ~10 ms)
    assert sent[-1]["t"] - sent[0]["t"] >= 1.0, [r["t"] for r in sent]
