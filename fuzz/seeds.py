#!/usr/bin/env python3
"""fuzz/seeds.py — (re)write the seed corpora fuzz/corpus/<target>/ from the
repository's real payloads: tests/data/whatsapp and tests/data/slack (with
their {{PLACEHOLDERS}} filled as the integration tests fill them), the bodies
and frames the integration tests send, the understanding corpus
(tests/eval/*.jsonl), config.ini, and ../shared/vectors. Deterministic: run it
again after changing a source and commit what changed. Usage: fuzz/seeds.py"""
import hashlib
import hmac
import json
import re
import shutil
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "fuzz" / "corpus"
VECTORS = REPO.parent / "shared" / "vectors"
SECRET = "fuzz-signing-secret"  # fuzz/signatures.c SECRET
TS = 1700000100                 # within fuzz/signatures.c NOW's five minutes

# A long customer message (over MODEL_MAX_TEXT = 4096 bytes, accented): the
# cut at the limit is a path of every text channel.
LONG = ("Olá, comprei o pedido 8421 e a caixa chegou amassada, a cafeteira não liga "
        "e já tentei três tomadas diferentes. Quero meu dinheiro de volta, por favor. ") * 30

WA = {"PHONE_NUMBER_ID": "106540352242922", "TS": str(TS), "WAMID": "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDNzQ1",
      "WAMID_1": "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDNzQ2", "WAMID_2": "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDNzQ3",
      "CONTEXT_WAMID": "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ4QTk2RjVGMTYyRDQ2NjNBOQA="}
SLACK = {"ACTION_ID": "review_approve", "ACTION_TITLE": "Approve", "ACTION_TS": "1700000101.123456",
         "CHALLENGE": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "CHANNEL": "C0REVIEW",
         "CLIENT_MSG_ID": "a2b6c1e0-7f4d-4d1a-9b57-0c8f3f6e2d11", "EVENT_ID": "Ev0FUZZ00001",
         "EVENT_TIME": str(TS), "MESSAGE_TS": "1700000050.000100", "RESPONSE_URL":
         "https://hooks.slack.com/actions/T0SHOP/1234567890/abcdefABCDEF", "SUBTYPE": "message_changed",
         "THREAD_TS": "1700000000.000100", "TRIGGER_ID": "1234567890.0987654321.abcdef", "TS": "1700000090.000200",
         "USERNAME": "lead", "USER": "U0LEAD", "VALUE": "rv_8f3a9c2d"}


def fill(text, subs):
    for k, v in subs.items():
        text = text.replace("{{" + k + "}}", json.dumps(v)[1:-1])
    left = re.findall(r"\{\{\w+\}\}", text)
    assert not left, left
    return text


def compact(doc):
    """As Slack sends JSON: compact, UTF-8, '/' escaped."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def whatsapp():
    for f in sorted((REPO / "tests/data/whatsapp").glob("*.json")):
        put("whatsapp", f.stem, fill(f.read_text(encoding="utf-8"), WA))
    doc = json.loads(fill((REPO / "tests/data/whatsapp/text.json").read_text(encoding="utf-8"), WA))
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = LONG
    put("whatsapp", "text_long", json.dumps(doc, ensure_ascii=False))


def slack():
    for f in sorted((REPO / "tests/data/slack").glob("*.json")):
        text = fill(f.read_text(encoding="utf-8"), SLACK)
        if f.stem.startswith("block_actions"):
            for action in ("review_approve", "confirm_yes"):
                doc = json.loads(fill(f.read_text(encoding="utf-8"), {**SLACK, "ACTION_ID": action}))
                put("slack_interactivity", f"{f.stem}_{action}",
                    urlencode({"payload": compact(doc)}))
        else:
            put("slack_events", f.stem, compact(json.loads(text)))
    doc = json.loads(fill((REPO / "tests/data/slack/message_im.json").read_text(encoding="utf-8"), SLACK))
    doc["event"]["text"] = "<@U0REDRESS> " + LONG + " <mailto:marina@example.com|marina@example.com> &amp; <https://shop.example/o/8421|o pedido>"
    put("slack_events", "message_im_long", compact(doc))
    # a form body without payload= (Slack's published slash-command example)
    if (VECTORS / "slack-signing-example.body").exists():
        put("slack_interactivity", "vector_slash_command", (VECTORS / "slack-signing-example.body").read_bytes())


def signatures():
    def h(secret, msg):
        return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
    bodies = {"wa": (OUT / "whatsapp/text").read_bytes(),
              "slack": (OUT / "slack_events/message_im").read_bytes(),
              "stripe": (OUT / "stripe_event/refund_updated").read_bytes()}
    # selector byte: 0 Slack "<ts> <sig>", 1 Meta, 2 Stripe; header; '\n'; body
    b = bodies["slack"]
    put("signatures", "slack_ok", b"\x00" + f"{TS} v0={h(SECRET, f'v0:{TS}:'.encode() + b)}".encode() + b"\n" + b)
    if (VECTORS / "slack-signing-example.body").exists():
        vb = (VECTORS / "slack-signing-example.body").read_bytes()
        put("signatures", "slack_vector", b"\x00" + b"1531420618 v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503\n" + vb)
    b = bodies["wa"]
    put("signatures", "meta_ok", b"\x01" + b"sha256=" + h(SECRET, b).encode() + b"\n" + b)
    put("signatures", "meta_upper", b"\x01" + b"sha256=" + h(SECRET, b).upper().encode() + b"\n" + b)
    b = bodies["stripe"]
    sig = h(SECRET, f"{TS}.".encode() + b)
    put("signatures", "stripe_ok", b"\x02" + f"t={TS},v1={sig}".encode() + b"\n" + b)
    put("signatures", "stripe_rotated", b"\x02" + f"t={TS},v1={'0' * 64},v1={sig},v0={sig}".encode() + b"\n" + b)


def stripe_event():
    """Events as tests/integration/rail_stubs.py (Stripe.event) builds them."""
    meta = {"refund_id": "rf_5c1d0e9a7b3f2a64", "order_id": "8421", "conversation_id": "whatsapp:5511987654321"}
    refund = {"id": "re_3OfuzzABCDEF0123456789", "object": "refund", "amount": 18600,
              "balance_transaction": "txn_3OfuzzABCDEF0123456789", "charge": "ch_3OfuzzABCDEF0123456789",
              "created": TS, "currency": "brl",
              "destination_details": {"card": {"reference_status": "pending",
                                               "reference_type": "acquirer_reference_number",
                                               "type": "refund"}, "type": "card"},
              "metadata": meta, "payment_intent": "pi_3OfuzzABCDEF0123456789", "reason": "requested_by_customer",
              "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
              "transfer_reversal": None}

    def event(etype, obj, prev=None):
        data = {"object": obj}
        if prev is not None:
            data["previous_attributes"] = prev
        return {"id": "evt_1OfuzzABCDEF0123456789", "object": "event", "api_version": "2024-06-20",
                "created": TS, "data": data, "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "type": etype}
    put("stripe_event", "refund_updated", json.dumps(event("refund.updated", refund, {"status": "pending"}), indent=2))
    put("stripe_event", "refund_created", json.dumps(event("refund.created", {**refund, "status": "pending"}), indent=2))
    failed = {**refund, "status": "failed", "failure_reason": "expired_or_canceled_card"}
    put("stripe_event", "refund_failed", json.dumps(event("refund.failed", failed), indent=2))
    charge = {"id": refund["charge"], "object": "charge", "amount": 18600, "amount_captured": 18600,
              "amount_refunded": 18600, "currency": "brl", "captured": True, "paid": True,
              "payment_intent": refund["payment_intent"], "refunded": True, "status": "succeeded",
              "refunds": {"object": "list", "data": [refund], "has_more": False, "total_count": 1,
                          "url": f"/v1/charges/{refund['charge']}/refunds"}}
    put("stripe_event", "charge_refunded", json.dumps(event("charge.refunded", charge), indent=2))
    put("stripe_event", "payment_intent_succeeded",
        json.dumps(event("payment_intent.succeeded", {"id": refund["payment_intent"], "object": "payment_intent"}), indent=2))


def webchat():
    """Frames as tests/integration/test_webchat.py sends them (README "Web chat")."""
    frames = {
        "hello": {"type": "hello", "locale": "pt-BR"},
        "hello_session": {"type": "hello", "session": "9f86d081884c7d659a2feaa0c55ad015", "locale": "en"},
        "message": {"type": "message", "id": "m-1", "text": "quero reembolso do pedido 8421"},
        "message_long": {"type": "message", "id": "m-2", "text": LONG},
        "button": {"type": "button", "id": "m-3", "button": "confirm_yes"},
        "typing": {"type": "typing"},
        "no_id": {"type": "message", "text": "no id"},
        "unknown": {"type": "presence"},
    }
    for name, f in frames.items():
        put("webchat", name, json.dumps(f, ensure_ascii=False))


def testchan():
    """Bodies as tests/integration/conftest.py Gateway.send builds them."""
    bodies = {
        "text": {"user": "marina", "text": "oi"},
        "locale": {"user": "marina", "text": "I want a refund for order 8421", "locale": "en"},
        "button": {"user": "marina", "button": "confirm_yes"},
        "message_id": {"user": "jordan", "text": "¿dónde está mi reembolso?", "locale": "es", "message_id": "qa-0001"},
        "long": {"user": "marina", "text": LONG[:4096]},
        "no_text": {"user": "marina"},
    }
    for name, b in bodies.items():
        put("testchan", name, json.dumps(b, ensure_ascii=False))


def nlu():
    for split in ("tune", "heldout"):
        for line in (REPO / f"tests/eval/{split}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                put("nlu", case["id"], case["text"])


def config():
    put("config", "config.ini", (REPO / "config.ini").read_bytes())
    # the integration tests' config (conftest.py Gateway), with each channel on
    base = ("[gateway]\nlisten = 127.0.0.1:18080\nclaim_idle_ms = 1000\nlog_level = debug\n\n"
            "[redis]\nurl = redis://127.0.0.1:16379/0\n\n[test_channel]\nenabled = true\napi_key = test-key\n\n"
            "[templates]\ndir = templates\n\n[webchat]\nassets_dir = channels/webchat\n")
    put("config", "integration.ini", base)
    put("config", "channels.ini", base + (
        "\n[whatsapp]\nenabled = true\napp_secret = 0f1e2d3c4b5a69788796a5b4c3d2e1f0\n"
        "verify_token = verify-7c1e-redress\naccess_token = EAAG-fuzz\nphone_number_id = 106540352242922\n"
        "\n[slack]\nenabled = true\nsigning_secret = 3c0a9e5f1d7b4e26a8c1f0d9b2e7a6c4\nbot_token = xoxb-fuzz\n"
        "reviewers = U0LEAD, U0BOSS\n"))


JSON_TOKENS = ['{', '}', '[', ']', ':', ',', '"', '""', 'true', 'false', 'null', '\\u00e9', '\\ud83d\\udc4d',
               '\\/', '1e309', '-0', '9223372036854775808']
KEYS = {
    "whatsapp": ["object", "whatsapp_business_account", "entry", "changes", "value", "field", "messages",
                 "metadata", "phone_number_id", "contacts", "profile", "name", "wa_id", "from", "id",
                 "timestamp", "type", "text", "body", "interactive", "button_reply", "list_reply", "button",
                 "payload", "statuses", "status", "errors", "code", "title", "failed"],
    "slack_events": ["type", "url_verification", "challenge", "event_callback", "event", "message",
                     "app_mention", "team_id", "user", "channel", "ts", "thread_ts", "subtype",
                     "thread_broadcast", "bot_id", "authorizations", "is_bot", "user_id", "channel_type",
                     "im", "text", "<@", "<#", "<!", "<mailto:", "|", ">", "&amp;", "&lt;", "&gt;"],
    "slack_interactivity": ["payload=", "&", "%7B", "%22", "+", "%", "type", "block_actions", "actions",
                            "action_id", "value", "action_ts", "user", "id", "team", "channel", "message",
                            "ts", "thread_ts", "container", "response_url", "confirm_yes", "confirm_no",
                            "review_approve", "review_"],
    "stripe_event": ["type", "data", "object", "refund.created", "refund.updated", "refund.failed",
                     "charge.refunded", "refunds", "metadata", "refund_id", "conversation_id", "order_id",
                     "status", "succeeded", "failed", "canceled", "amount", "failure_reason", "id"],
    "webchat": ["type", "hello", "session", "locale", "typing", "message", "button", "id", "text"],
    "testchan": ["user", "text", "locale", "button", "message_id", "\\n"],
    "signatures": ["v0=", "v0:", "sha256=", "t=", "v1=", ",", "\n", "1700000100"],
}


def dicts():
    """libFuzzer dictionaries: JSON tokens and each reader's field names;
    config.ini's sections and keys."""
    d = REPO / "fuzz" / "dict"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    def esc(t):
        return '"' + "".join("\\\\" if c == "\\" else '\\"' if c == '"' else c if " " <= c <= "~"
                             else "".join(f"\\x{b:02X}" for b in c.encode()) for c in t) + '"'
    for target, keys in KEYS.items():
        toks = keys if target == "signatures" else JSON_TOKENS + keys + [f'"{k}"' for k in keys]
        (d / f"{target}.dict").write_text("".join(esc(t) + "\n" for t in dict.fromkeys(toks)))
    ini = (REPO / "config.ini").read_text(encoding="utf-8")
    toks = ["[", "]", "=", ";", "#", "\n", "\r\n", " ", "\t", "true", "false", "MiB", "KiB", "USD", "BRL", ","]
    toks += re.findall(r"^(\[[^\]]+\])", ini, re.M) + re.findall(r"^([a-z_.]+) =", ini, re.M)
    (d / "config.dict").write_text("".join(esc(t) + "\n" for t in dict.fromkeys(toks)))


def main():
    for d in ("whatsapp", "slack_events", "slack_interactivity", "signatures", "stripe_event",
              "webchat", "testchan", "nlu", "config"):
        shutil.rmtree(OUT / d, ignore_errors=True)
    whatsapp()
    slack()
    stripe_event()
    signatures()
    webchat()
    testchan()
    nlu()
    config()
    dicts()
    for d in sorted(OUT.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
