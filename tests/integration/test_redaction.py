"""Card data never kept (FAULTS.md "Card data", common/redact.h).

One real gateway with every channel on (the test channel, WhatsApp on the
Graph stub, Slack on the Slack stub with a review channel, the web chat) and
an LLM stub; a customer on each channel writes a card number and its
security code in the middle of a real request, one of them escalates to
Slack review. Then everything the system kept or sent is searched for the
digits, in every spacing: every key in Redis (strings, hashes, lists, sets,
sorted sets, streams: field names and values), the gateway's log (at
debug), every body the Graph, Slack and LLM stubs received, and what the
customers were answered. None may appear; the redaction mark must, and the
order numbers and amounts around the card data must survive."""
import json
import re

import pytest
import redis as redis_lib

from conftest import import_demo_orders, wait_for
from graph_stub import PHONE_NUMBER_ID, graph  # noqa: F401 (fixture)
from llm_stub import llm  # noqa: F401 (fixture)
from slack_stub import BOT_TOKEN, slack  # noqa: F401 (fixture)
from test_slack import REVIEW, SIGNING_SECRET, event_payload, post_event, wait_card
from test_webchat import ASSETS, SHOP_ORIGIN, SITE_URL, Chat
from test_whatsapp import (ACCESS_TOKEN, APP_SECRET, MARINA, VERIFY_TOKEN, new_wamid, payload,
                           post_webhook)

# (channel, PAN as typed, its digits, the code phrase as typed, the code)
CARDS = {
    "test": ("4111 1111 1111 1111", "cvv 737", "737"),
    "whatsapp": ("5555-5555-5555-4444", "código de segurança é 902", "902"),
    "slack": ("378282246310005", "security code: 4321", "4321"),
    "webchat": ("6011 1111 1111 1117", "código de seguridad es 640", "640"),
}
CODE_WORDS = r"(?:cvv2?|cvc2?|security\s+code|c[oó]digo\s+de\s+seguran[cç]a|c[oó]digo\s+de\s+seguridad)"
STEP = 10


def digits(pan):
    return re.sub(r"\D", "", pan)


def pan_pattern(pan):
    """The PAN's digits in any spacing: nothing, spaces or dashes between any two."""
    return re.compile(r"[ \-]*".join(digits(pan)))


def code_pattern(code):
    """The code within a few words after a code word."""
    return re.compile(CODE_WORDS + r"[^0-9]{0,40}?(?<![0-9])" + code + r"(?![0-9])", re.I)


PATTERNS = [(f"PAN of {ch}", pan_pattern(pan)) for ch, (pan, _, _) in CARDS.items()] + \
           [(f"code of {ch}", code_pattern(code)) for ch, (_, _, code) in CARDS.items()]


def variants(text):
    """text, and text with JSON \\u escapes undone when it is JSON."""
    out = [text]
    try:
        out.append(json.dumps(json.loads(text), ensure_ascii=False))
    except (ValueError, TypeError):
        pass
    return out


def leaks(where, text):
    found = []
    for v in variants(text):
        for name, pat in PATTERNS:
            m = pat.search(v)
            if m:
                found.append(f"{where}: {name} as {m.group(0)!r}")
    return found


def redis_strings(r):
    """(where, text) for every key name, field and value of every type."""
    for key in r.scan_iter(count=1000):
        k = key.decode("utf-8", "replace")
        yield f"key {k}", k
        kind = r.type(key).decode()
        if kind == "string":
            vals = [r.get(key)]
        elif kind == "hash":
            vals = [x for kv in r.hgetall(key).items() for x in kv]
        elif kind == "list":
            vals = r.lrange(key, 0, -1)
        elif kind == "set":
            vals = list(r.smembers(key))
        elif kind == "zset":
            vals = [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            vals = [x for _, fields in r.xrange(key) for kv in fields.items() for x in kv]
        else:
            raise AssertionError(f"{k}: a {kind} the scan does not read")
        for v in vals:
            yield f"{kind} {k}", v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


@pytest.fixture
def everything(gateway, graph, slack, llm):  # noqa: F811 (fixtures)
    gw = gateway({
        "gateway": {"claim_idle_ms": 1000, "log_level": "debug"},
        "whatsapp": {"enabled": "true", "verify_token": VERIFY_TOKEN, "app_secret": APP_SECRET,
                     "access_token": ACCESS_TOKEN, "phone_number_id": PHONE_NUMBER_ID,
                     "graph_api_base": graph.base_url},
        "slack": {"enabled": "true", "signing_secret": SIGNING_SECRET,
                  "bot_token": BOT_TOKEN, "api_base": slack.api_base,
                  "review_channel": REVIEW, "timeout_ms": 5000},
        "webchat": {"enabled": "true", "allowed_origins": SHOP_ORIGIN, "assets_dir": str(ASSETS)},
        "site": {"public_url": SITE_URL},
        **llm.config("openai", timeout_ms=1000),
    })
    import_demo_orders(gw)
    return gw


def test_no_card_number_or_code_is_kept_logged_or_sent(everything, redis_server, graph, slack,
                                                       llm):  # noqa: F811
    gw = everything
    r = redis_server.client
    answered = []

    # the test channel: jordan's request (1003 always goes to a person) → a
    # ticket and a review card in Slack's review channel
    pan, phrase, _ = CARDS["test"]
    res = gw.send("jordan", f"I'd like my money back for order #1003, card {pan} {phrase}")
    assert res.status_code == 200, res.text
    answered.append(res.text)
    res = gw.send("jordan", "jordan@example.com")
    assert res.status_code == 200 and "T-0001" in res.text, res.text
    answered.append(res.text)
    card = wait_card(slack)
    assert "[redacted]" in json.dumps(card["json"]), card["json"]

    # WhatsApp: Marina's verified phone finds order 8421; the offer names it
    pan, phrase, _ = CARDS["whatsapp"]
    body = payload("text.json", WAMID=new_wamid()).replace(
        "Oi, quero reembolso do pedido 8421".encode(),
        f"Oi, quero reembolso do pedido 8421, cartão {pan}, {phrase}".encode())
    assert post_webhook(gw, body).status_code == 200
    sent = graph.wait_for_sends(1, timeout=STEP, ok=True, to=MARINA)
    assert "8421" in sent[0]["raw"].decode(), sent[0]["raw"]

    # Slack: Alex in a DM
    pan, phrase, _ = CARDS["slack"]
    ev = event_payload("message_im.json", text=f"refund for order 1001, card {pan} {phrase}")
    assert post_event(gw, ev).status_code == 200
    slack.wait_for("chat.postMessage", 1, timeout=STEP, ok=True,
                   pred=lambda rec: rec["channel"] == "D0ALEX")

    # the web chat, then a reconnect: the history it sends back is redacted too
    pan, phrase, _ = CARDS["webchat"]
    with Chat(gw) as chat:
        token = chat.hello(locale="es")["session"]
        chat.message(f"Hola, quiero un reembolso del pedido 1012, tarjeta {pan}, {phrase}")
        answered.append(json.dumps(chat.expect("reply", timeout=STEP), ensure_ascii=False))
    with Chat(gw) as chat:
        welcome = chat.hello(session=token, locale="es")
        answered.append(json.dumps(welcome, ensure_ascii=False))
        assert "1012" in answered[-1] and "[redacted]" in answered[-1], welcome

    wait_for(lambda: r.xinfo_groups("rd:inbound")[0]["pending"] == 0
             and r.xinfo_groups("rd:outbox")[0]["pending"] == 0, STEP, what="all processed")
    assert llm.requests(), "the LLM was asked (and its bodies are checked below)"

    # the customers' messages were stored, redacted, with the rest of their words
    stored = [json.loads(f["m"]) for _, f in r.xrange("rd:inbound")]
    texts = {}
    for m in stored:  # each channel's first message carries the card
        texts.setdefault(m["channel"], m.get("text") or "")
    for ch, order in (("test", "#1003"), ("whatsapp", "8421"), ("slack", "1001"), ("webchat", "1012")):
        assert order in texts.get(ch, "") and "[redacted]" in texts[ch], (ch, texts)
        assert texts[ch].count("[redacted]") == 2, (ch, texts[ch])

    found = []
    raw = redis_lib.Redis(host="127.0.0.1", port=redis_server.port, socket_timeout=5)
    n_keys = n_strings = 0
    for where, text in redis_strings(raw):
        n_keys += where.startswith("key ")
        n_strings += 1
        found += leaks(where, text)
    raw.close()
    assert n_keys > 20, "the scan read the store"
    log = gw.log_text()
    found += leaks("gateway log", log)
    n_bodies = 0
    for name, stub in (("Graph stub", graph), ("Slack stub", slack), ("LLM stub", llm)):
        for rec in stub.requests():
            n_bodies += 1
            found += leaks(f"{name} {rec.get('path')}", (rec.get("raw") or b"").decode("utf-8", "replace"))
    for a in answered:
        found += leaks("an answer", a)
    assert n_bodies >= 6 and n_strings > n_keys, (n_bodies, n_strings, n_keys)
    assert not found, "\n".join(found)
