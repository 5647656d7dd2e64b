"""The Slack channel end to end: the real gateway and redis-server, Slack's
Events API and interactivity payloads from tests/data/slack/ (fresh event
ids, message ts and request timestamps per test, signed like Slack signs
them), and a Web API stub (slack_stub.py) that records what the gateway
posts, updates and answers on response_url, and can fail like Slack.

Customers on Slack have no verified phone: the agent asks for the order's
email (demo order 1001 is alex@example.com, $49.00; 1003 is
jordan@example.com, $350.00, which always goes to a person). Reviewers
decide in the review channel with the card's buttons.

Each test asserts on what people see (the stub's calls, the test channel's
transcript) and on what moved in Redis (rd:inbound, the sandbox rail, the
order, credit notes, tickets, the audit stream)."""
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import string
import time
from urllib.parse import urlencode

import pytest

from conftest import REPO, import_demo_orders, run_cli, wait_for
from slack_stub import (BOT_TOKEN, BOT_USER_ID, all_text, block_list, block_text,  # noqa: F401
                        button_ids, buttons, message_text, slack)

DATA = REPO / "tests" / "data" / "slack"
EVENTS = "/webhooks/slack/events"
ACTIONS = "/webhooks/slack/interactivity"
SIGNING_SECRET = "3c0a9e5f1d7b4e26a8c1f0d9b2e7a6c4"

# Slack's published example ("Verifying requests from Slack"); /work/shared/vectors
VECTORS = REPO.parent / "shared" / "vectors"
EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TS = "1531420618"
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

TEAM = "T0SHOP"
SUPPORT = "C0SUPPORT"          # the public support channel
REVIEW = "C0REVIEW"            # [slack] review_channel
ALEX, ALEX_DM = "U0ALEX", "D0ALEX"
JORDAN = "U0JORDAN"
LEAD, BOSS, STRANGER = "U0LEAD", "U0BOSS", "U0RANDO"
REVIEWERS = f"{LEAD},{BOSS}"
USD_49, USD_350 = "$49.00", "$350.00"
CARD = "4111 1111 1111 1111"
JORDAN_ASKS = f"I'd like my money back for order #1003, I paid with card {CARD}"
HIGH_CAPS = {"per_refund_cap": "USD 1000.00, EUR 140.00, BRL 800.00, USDC 150.00",
             "daily_cap": "USD 2000.00, EUR 900.00, BRL 5000.00, USDC 1000.00"}
BUTTON_TITLES = {"review_approve": "Approve", "review_deny": "Deny",
                 "review_info": "Ask for info", "confirm_yes": "Yes, refund",
                 "confirm_no": "No"}

REPLY_TIMEOUT = 10             # s: an answer through the whole pipeline
RETRY_TIMEOUT = 12             # s: an answer that needs one outbox retry (claim_idle_ms 1 s)


# --------------------------------------------------------------------------- payloads

_ts_seq = itertools.count(random.randrange(1, 500_000))


def new_ts():
    """A fresh Slack message ts ("1763769600.012345"), unique in this run."""
    return f"{int(time.time())}.{next(_ts_seq) % 1_000_000:06d}"


def new_event_id():
    return "Ev" + "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


def new_trigger_id():
    return (f"{random.randrange(10**12)}.{random.randrange(10**11)}."
            f"{os.urandom(16).hex()}")


def _json_escape(value):
    """value as it appears inside a JSON string sent by Slack ('/' as '\\/')."""
    return json.dumps(str(value), ensure_ascii=False)[1:-1].replace("/", "\\/")


def payload(name, **subs):
    """tests/data/slack/NAME with {{KEY}} placeholders replaced, as UTF-8 bytes.
    Fresh by default: EVENT_ID, TS, EVENT_TIME (now, s), CLIENT_MSG_ID,
    TRIGGER_ID, ACTION_TS. Values are JSON-escaped the way Slack escapes
    ('/' → '\\/')."""
    text = (DATA / name).read_text(encoding="utf-8")
    now = time.time()
    defaults = {"EVENT_ID": new_event_id(), "TS": new_ts(), "EVENT_TIME": int(now),
                "CLIENT_MSG_ID": "%08x-%04x-4%03x-a%03x-%012x" % (
                    random.getrandbits(32), random.getrandbits(16), random.getrandbits(12),
                    random.getrandbits(12), random.getrandbits(48)),
                "TRIGGER_ID": new_trigger_id(), "ACTION_TS": f"{now:.6f}"}
    for key, value in {**defaults, **subs}.items():
        text = text.replace("{{" + key + "}}", _json_escape(value))
    left = re.findall(r"\{\{\w+\}\}", text)
    assert not left, f"{name}: placeholders left: {left}"
    return text.encode("utf-8")


def dumps(doc):
    """Compact JSON as Slack sends it: UTF-8, '/' escaped as '\\/'."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).replace(
        "/", "\\/").encode("utf-8")


def rich_text(text):
    """The rich_text block Slack adds to a typed message."""
    m = re.fullmatch(r"<mailto:([^|>]+)\|([^>]+)>", text)
    el = ({"type": "link", "url": f"mailto:{m.group(1)}", "text": m.group(2)} if m
          else {"type": "text", "text": text})
    return {"type": "rich_text", "block_id": "t" + os.urandom(3).hex(),
            "elements": [{"type": "rich_text_section", "elements": [el]}]}


DROP = object()


def event_payload(name, text=None, user=None, event=None, **subs):
    """payload(name, **subs) with event.text (and its rich_text block),
    event.user (and parent_user_id) replaced; event: {key: value or DROP}."""
    raw = payload(name, **subs)
    if text is None and user is None and not event:
        return raw
    doc = json.loads(raw)
    ev = doc["event"]
    if text is not None:
        ev["text"] = text
        ev["blocks"] = [rich_text(text)]
    if user is not None:
        ev["user"] = user
        if "parent_user_id" in ev:
            ev["parent_user_id"] = user
    for k, v in (event or {}).items():
        if v is DROP:
            ev.pop(k, None)
        else:
            ev[k] = v
    return dumps(doc)


def mailto(email):
    """How Slack delivers a typed e-mail address in event.text."""
    return f"<mailto:{email}|{email}>"


def action_payload(name, **subs):
    """A block_actions payload (a dict) from tests/data/slack/NAME."""
    return json.loads(payload(name, **subs))


def form(p):
    """The interactivity body: application/x-www-form-urlencoded payload=<JSON>."""
    return urlencode({"payload": dumps(p).decode("utf-8")}).encode("ascii")


# --------------------------------------------------------------------------- signing and posting

def sign(body, ts=None, secret=SIGNING_SECRET):
    """(timestamp, X-Slack-Signature) for these exact bytes; ts defaults to now."""
    ts = str(int(time.time())) if ts is None else str(ts)
    base = b"v0:" + ts.encode() + b":" + body
    return ts, "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


_SIGN = object()


def post_slack(gw, path, body, ts=None, signature=_SIGN, secret=SIGNING_SECRET,
               content_type="application/json", headers=None, timeout=10):
    """POST raw bytes as Slack does. ts: the X-Slack-Request-Timestamp (now by
    default; headers={"X-Slack-Request-Timestamp": None} leaves it out).
    signature: default signs body with secret and ts; None leaves the header
    out; a str is sent as is."""
    stamp = str(int(time.time())) if ts is None else str(ts)
    if signature is _SIGN:
        _, signature = sign(body, stamp, secret)
    h = {"Content-Type": content_type,
         "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
         "X-Slack-Request-Timestamp": stamp}
    if signature is not None:
        h["X-Slack-Signature"] = signature
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    return gw.post(path, body, headers=h, timeout=timeout)


def post_event(gw, body, **kw):
    return post_slack(gw, EVENTS, body, **kw)


def post_action(gw, p, **kw):
    """POST a block_actions payload (dict) to the interactivity endpoint."""
    return post_slack(gw, ACTIONS, form(p), content_type="application/x-www-form-urlencoded",
                      **kw)


def deliver(gw, redis, body, new_messages=1, path=EVENTS, **kw):
    """Signed POST that must be acknowledged with 200, and (durable before
    the ack) must already have grown rd:inbound by new_messages."""
    before = redis.xlen("rd:inbound")
    if path == ACTIONS:
        r = post_action(gw, body, **kw)
    else:
        r = post_slack(gw, path, body, **kw)
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    assert redis.xlen("rd:inbound") == before + new_messages, \
        f"rd:inbound {before} → {redis.xlen('rd:inbound')}, expected +{new_messages}"
    return r


# --------------------------------------------------------------------------- reading state

def inbound(redis):
    """Every message in rd:inbound (the normalized JSON of field m)."""
    return [json.loads(f["m"]) for _, f in redis.xrange("rd:inbound")]


def last_inbound(redis):
    msgs = inbound(redis)
    assert msgs, "rd:inbound is empty"
    return msgs[-1]


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


def refunds_created(redis):
    return int(redis.get("rd:sandbox:refunds") or 0)


def rail_calls(redis):
    return int(redis.get("rd:sandbox:calls") or 0)


def order_refunded(redis, oid):
    return int(redis.hget(f"rd:order:{oid}", "refunded"))


def thread_cid(ts, channel=SUPPORT):
    return f"slack:{TEAM}:{channel}:{ts}"


def outs(gw, cid):
    """Texts of the "out" entries of a conversation's transcript."""
    r = gw.conversation(cid)
    assert r.status_code == 200, r.text
    return [t.get("text", "") for t in r.json()["transcript"] if t.get("dir") == "out"]


def wait_outs(gw, cid, n, timeout=REPLY_TIMEOUT):
    """Wait until the transcript holds at least n "out" entries; return them."""
    return wait_for(lambda: (lambda o: o if len(o) >= n else None)(outs(gw, cid)), timeout,
                    what=f"{n} out entries in {cid}'s transcript")


def audit_entries(redis, kind):
    return [json.loads(f["data"]) for _, f in redis.xrange("rd:audit") if f["kind"] == kind]


def thread_ts_of(rec):
    """thread_ts of a call; None when absent or empty."""
    return rec["args"].get("thread_ts") or None


def in_thread(ts):
    return lambda r: r["channel"] == SUPPORT and r["args"].get("thread_ts") == ts


# --------------------------------------------------------------------------- fixtures

def slack_overrides(stub, sections=None, **slack_kw):
    """Config for a gateway with [slack] pointed at the stub."""
    cfg = {
        "gateway": {"claim_idle_ms": 1000},
        "slack": {"enabled": "true", "signing_secret": SIGNING_SECRET, "bot_token": BOT_TOKEN,
                  "api_base": stub.api_base, "review_channel": REVIEW, "reviewers": REVIEWERS,
                  "timeout_ms": 5000, **slack_kw},
    }
    for section, kv in (sections or {}).items():
        cfg.setdefault(section, {}).update(kv)
    return cfg


@pytest.fixture
def make_slack_gateway(slack, gateway):  # slack first: the stub outlives the gateway
    """Factory: make_slack_gateway(sections=None, **slack_keys) → a started
    gateway with [slack] on the stub and the demo orders imported."""
    def make(sections=None, **slack_kw):
        gw = gateway(slack_overrides(slack, sections, **slack_kw))
        import_demo_orders(gw)
        return gw
    return make


@pytest.fixture
def slack_gateway(make_slack_gateway):
    """The gateway with [slack] enabled (review channel C0REVIEW, reviewers
    U0LEAD and U0BOSS), demo orders imported."""
    return make_slack_gateway()


# --------------------------------------------------------------------------- conversation helpers

def start_thread(gw, redis, stub, text=None, user=ALEX, name="message_channel.json"):
    """A customer's top-level message in #support; returns (ts, the agent's
    first answer in that thread)."""
    ts = new_ts()
    deliver(gw, redis, event_payload(name, text=text, user=user, TS=ts))
    first = stub.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True,
                          pred=in_thread(ts))[0]
    return ts, first


def reply_in_thread(gw, redis, thread_ts, text, user=ALEX, new_messages=1):
    ts = new_ts()
    deliver(gw, redis, event_payload("message_thread_reply.json", text=text, user=user, TS=ts,
                                     THREAD_TS=thread_ts), new_messages=new_messages)
    return ts


def assert_offer(rec, amount):
    """The refund offer: the text, then Block Kit: a section with the text and
    an actions block with confirm_yes / confirm_no."""
    assert amount in message_text(rec), message_text(rec)
    blocks = block_list(rec)
    sections = [b for b in blocks if b.get("type") == "section"]
    actions = [b for b in blocks if b.get("type") == "actions"]
    assert sections and amount in sections[0]["text"]["text"], blocks
    assert len(actions) == 1, blocks
    assert button_ids(rec) == ["confirm_yes", "confirm_no"], blocks
    for b in buttons(rec):
        assert b["type"] == "button" and b["value"] == b["action_id"], b
        assert b["text"]["type"] == "plain_text" and b["text"]["text"].strip(), b


def confirm_click(offer, thread_ts, channel=SUPPORT, user=ALEX, action="confirm_yes",
                  response_url="https://hooks.slack.com/actions/T0SHOP/1/x"):
    """A customer's click on the offer's button (block_actions), as a dict."""
    p = action_payload("block_actions_confirm.json", MESSAGE_TS=offer["ts"],
                       THREAD_TS=thread_ts or "0", ACTION_ID=action, VALUE=action,
                       RESPONSE_URL=response_url)
    p["user"]["id"] = user
    p["channel"]["id"] = p["container"]["channel_id"] = channel
    p["message"]["text"] = message_text(offer)
    p["message"]["blocks"] = block_list(offer)
    p["actions"][0]["text"]["text"] = BUTTON_TITLES[action]
    if thread_ts is None:  # a DM: no thread
        p["channel"]["name"] = "directmessage"
        for k in ("thread_ts", "parent_user_id"):
            p["message"].pop(k, None)
        p["container"].pop("thread_ts", None)
    return p


def fake_offer():
    """An offer record for a click that must be refused before anything reads it."""
    return {"kind": "api", "ts": new_ts(), "args": {"text": "I can refund $49.00 for order 1001."}}


def escalate_on_test_channel(gw, text=JORDAN_ASKS, locale=None):
    """jordan asks (test channel) for a refund of 1003 and proves his email:
    ticket T-0001."""
    r = gw.send("jordan", text, locale=locale)
    assert r.status_code == 200, r.text
    r = gw.send("jordan", "jordan@example.com", locale=locale)
    assert r.status_code == 200, r.text
    said = " ".join(x["text"] for x in r.json()["replies"])
    assert "T-0001" in said, said


def wait_card(stub, ticket="T-0001"):
    """The review card of `ticket` posted in the review channel."""
    return stub.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True,
                         pred=lambda r: r["channel"] == REVIEW
                         and ticket in (r["args"].get("text") or ""))[-1]


def review_click(gw, stub, card, action, user=LEAD, name=None, ticket="T-0001"):
    """A reviewer clicks `action` on the card; returns the response_url name.
    The interactivity request must be answered 200."""
    name = name or f"{action}-{user}-{os.urandom(3).hex()}"
    p = action_payload("block_actions_review.json", USER=user, USERNAME=user[2:].lower(),
                       CHANNEL=REVIEW, MESSAGE_TS=card["ts"], ACTION_ID=action, VALUE=ticket,
                       ACTION_TITLE=BUTTON_TITLES[action],
                       RESPONSE_URL=stub.response_url(name))
    p["message"]["text"] = message_text(card)
    p["message"]["blocks"] = block_list(card)
    r = post_action(gw, p)
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    return name


def ephemeral(stub, name, timeout=REPLY_TIMEOUT):
    """The ephemeral answer posted to the response_url `name`."""
    rec = stub.wait_for("response_url", 1, timeout=timeout,
                        pred=lambda r: r["name"] == name)[0]
    assert isinstance(rec["json"], dict), rec["raw"]
    assert rec["json"].get("response_type") == "ephemeral", rec["json"]
    assert (rec["json"].get("text") or "").strip(), rec["json"]
    return rec["json"]


def wait_card_update(stub, card, pred=None, timeout=REPLY_TIMEOUT):
    """The latest chat.update of the card (matching pred)."""
    return stub.wait_for("chat.update", 1, timeout=timeout, ok=True,
                         pred=lambda r: r["channel"] == REVIEW
                         and r["args"].get("ts") == card["ts"]
                         and (pred is None or pred(r)))[-1]


def ticket(redis, tid="T-0001"):
    return redis.hgetall(f"rd:ticket:{tid}")


# =========================================================================== signing

def test_published_signing_example(make_slack_gateway, redis_server):
    redis = redis_server.client
    body = (VECTORS / "slack-signing-example.body").read_bytes()
    # the helper computes Slack's published signature for Slack's published request
    assert sign(body, EXAMPLE_TS, EXAMPLE_SECRET) == (EXAMPLE_TS, EXAMPLE_SIGNATURE)

    gw = make_slack_gateway(signing_secret=EXAMPLE_SECRET)
    ctype = "application/x-www-form-urlencoded"
    for path in (EVENTS, ACTIONS):
        # right signature, but the timestamp is from 2018: a replay
        r = post_slack(gw, path, body, ts=EXAMPLE_TS, signature=EXAMPLE_SIGNATURE,
                       content_type=ctype)
        assert r.status_code == 401, (path, r.status_code, r.text)
        # the same bytes signed now with the same secret pass the check (it is a
        # slash-command body, so what follows may refuse it, but not as unsigned)
        r = post_slack(gw, path, body, secret=EXAMPLE_SECRET, content_type=ctype)
        assert r.status_code != 401 and r.status_code < 500, (path, r.status_code, r.text)
    assert redis.xlen("rd:inbound") == 0


def test_timestamps_more_than_five_minutes_away_are_refused(slack_gateway, redis_server):
    gw, redis = slack_gateway, redis_server.client
    now = int(time.time())
    body = payload("message_channel.json")
    for what, ts in (("6 minutes old", now - 360), ("6 minutes ahead", now + 360),
                     ("a day old", now - 86400), ("zero", 0)):
        r = post_event(gw, body, ts=ts)          # correctly signed for that timestamp
        assert r.status_code == 401, (what, r.status_code, r.text)
    for bad in ("", "abc", "1531420618.5", str(now) + "x"):
        r = post_event(gw, body, ts=bad)
        assert r.status_code == 401, (bad, r.status_code, r.text)
    click = confirm_click(fake_offer(), new_ts())
    r = post_action(gw, click, ts=now - 360)
    assert r.status_code == 401, (r.status_code, r.text)
    assert redis.xlen("rd:inbound") == 0
    # four minutes old is within the window
    deliver(gw, redis, body, ts=now - 240)


def test_bad_signatures_are_401_and_store_nothing(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    body = payload("message_channel.json")
    ts, good = sign(body)
    bad = {
        "missing": None,
        "other secret": sign(body, ts, "not-the-signing-secret")[1],
        "other body": sign(body + b" ", ts)[1],
        "other timestamp": sign(body, str(int(ts) - 1))[1],
        "no v0= prefix": good[3:],
        "v1= prefix": "v1=" + good[3:],
        "truncated": good[:-2],
        "empty digest": "v0=",
        "sha1": "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body,
                                 hashlib.sha1).hexdigest(),
    }
    for what, signature in bad.items():
        r = post_event(gw, body, ts=ts, signature=signature)
        assert r.status_code == 401, (what, r.status_code, r.text)
    r = post_event(gw, body, headers={"X-Slack-Request-Timestamp": None})
    assert r.status_code == 401, ("no timestamp header", r.status_code, r.text)
    # url_verification is signed too: no challenge for an unsigned one
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    r = post_event(gw, payload("url_verification.json", CHALLENGE=challenge), signature=None)
    assert r.status_code == 401 and challenge not in r.text, (r.status_code, r.text)
    # interactivity: a click with a wrong signature does nothing
    click = confirm_click(fake_offer(), new_ts())
    body_click = form(click)
    r = post_slack(gw, ACTIONS, body_click, content_type="application/x-www-form-urlencoded",
                   signature=sign(body_click, secret="not-the-signing-secret")[1])
    assert r.status_code == 401, (r.status_code, r.text)
    assert redis.xlen("rd:inbound") == 0

    # the same message, signed right, is then accepted: the refusals marked nothing seen
    deliver(gw, redis, body)
    slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True)


def test_signature_is_checked_over_the_raw_bytes(slack_gateway, redis_server):
    gw, redis = slack_gateway, redis_server.client
    text = "Olá! Refund for order 1001 please, 1/2 of the mugs arrived broken 😢"
    body = event_payload("message_channel.json", text=text)
    assert b"1\\/2" in body and "á".encode() in body
    reserialized = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert sign(reserialized)[1] != sign(body)[1]
    deliver(gw, redis, body)
    assert last_inbound(redis)["text"] == text, last_inbound(redis)


def test_url_verification_answers_the_challenge(slack_gateway, redis_server):
    gw = slack_gateway
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    r = post_event(gw, payload("url_verification.json", CHALLENGE=challenge))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert r.json() == {"challenge": challenge}
    assert redis_server.client.xlen("rd:inbound") == 0


# =========================================================================== conversations

def test_refund_conversation_in_a_thread(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    ts, ask = start_thread(gw, redis, slack)
    m = last_inbound(redis)
    assert m["channel"] == "slack" and m["user"] == ALEX, m
    assert m["conversation_id"] == thread_cid(ts), m
    assert m["text"] == "Hi, I want a refund for order 1001", m
    # no phone on Slack: the agent asks for the order's email, in the thread
    assert ask["channel"] == SUPPORT and thread_ts_of(ask) == ts, ask["args"]
    assert "email" in message_text(ask).lower(), message_text(ask)
    assert button_ids(ask) == []

    # Slack delivers a typed address as <mailto:…|…>
    reply_in_thread(gw, redis, ts, mailto("alex@example.com"))
    assert last_inbound(redis)["conversation_id"] == thread_cid(ts), last_inbound(redis)
    offer = slack.wait_for("chat.postMessage", 2, timeout=REPLY_TIMEOUT, ok=True,
                           pred=in_thread(ts))[1]
    assert_offer(offer, USD_49)
    assert rail_calls(redis) == 0, "nothing is paid before the customer says yes"

    # Alex clicks "Yes, refund" under the offer, in the thread
    deliver(gw, redis, confirm_click(offer, ts), path=ACTIONS)
    m = last_inbound(redis)
    assert m["conversation_id"] == thread_cid(ts), m
    assert m["kind"] == "button" and m["payload"] == "confirm_yes", m

    sent = slack.wait_for("chat.postMessage", 4, timeout=REPLY_TIMEOUT, ok=True,
                          pred=in_thread(ts))
    after = [message_text(r) for r in sent[2:]]
    done = [i for i, t in enumerate(after) if USD_49 in t and "1001" in t]
    note = [i for i, t in enumerate(after) if "NC-0001" in t]
    assert done and note and done[0] < note[0], after
    assert refunds_created(redis) == 1
    assert order_refunded(redis, "1001") == 4900
    assert redis.hget("rd:cn:NC-0001", "order_id") == "1001"

    wait_settled(redis)
    posts = slack.posts()
    assert len(posts) == 4, slack.summary()
    assert all(thread_ts_of(r) == ts and r["channel"] == SUPPORT for r in posts), slack.summary()
    slack.check()


def test_direct_message_conversation_has_no_thread(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    dm_cid = f"slack:{TEAM}:{ALEX_DM}"
    deliver(gw, redis, payload("message_im.json"))
    assert last_inbound(redis)["conversation_id"] == dm_cid, last_inbound(redis)
    in_dm = lambda r: r["channel"] in (ALEX_DM, ALEX)  # noqa: E731 (the D id, or the user id)
    ask = slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True, pred=in_dm)[0]
    assert thread_ts_of(ask) is None, ask["args"]
    assert "email" in message_text(ask).lower(), message_text(ask)

    deliver(gw, redis, event_payload("message_im.json", text=mailto("alex@example.com")))
    assert last_inbound(redis)["conversation_id"] == dm_cid, last_inbound(redis)
    offer = slack.wait_for("chat.postMessage", 2, timeout=REPLY_TIMEOUT, ok=True,
                           pred=in_dm)[1]
    assert_offer(offer, USD_49)
    assert thread_ts_of(offer) is None, offer["args"]
    slack.check()


def test_confirm_click_in_a_direct_message(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    dm_cid = f"slack:{TEAM}:{ALEX_DM}"
    in_dm = lambda r: r["channel"] in (ALEX_DM, ALEX)  # noqa: E731
    deliver(gw, redis, payload("message_im.json"))
    slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True, pred=in_dm)
    deliver(gw, redis, event_payload("message_im.json", text=mailto("alex@example.com")))
    offer = slack.wait_for("chat.postMessage", 2, timeout=REPLY_TIMEOUT, ok=True,
                           pred=in_dm)[1]
    deliver(gw, redis, confirm_click(offer, None, channel=ALEX_DM), path=ACTIONS)
    m = last_inbound(redis)
    assert m["conversation_id"] == dm_cid and m["payload"] == "confirm_yes", m
    sent = slack.wait_for("chat.postMessage", 4, timeout=REPLY_TIMEOUT, ok=True, pred=in_dm)
    assert any("NC-0001" in message_text(r) for r in sent), slack.summary()
    assert all(thread_ts_of(r) is None for r in sent), slack.summary()
    assert refunds_created(redis) == 1
    slack.check()


def test_a_retry_and_a_resend_under_a_new_event_id_are_processed_once(slack_gateway, slack,
                                                                      redis_server):
    gw, redis = slack_gateway, redis_server.client
    ts, event_id = new_ts(), new_event_id()
    body = payload("message_channel.json", TS=ts, EVENT_ID=event_id)
    deliver(gw, redis, body)
    # Slack retries the same event (it thought we timed out), signed anew
    deliver(gw, redis, body, new_messages=0,
            headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    deliver(gw, redis, body, new_messages=0,
            headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"})
    # …and the same message (channel + ts) arrives again under another event id
    deliver(gw, redis, payload("message_channel.json", TS=ts), new_messages=0)
    assert redis.xlen("rd:inbound") == 1

    slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True, pred=in_thread(ts))
    wait_settled(redis)
    assert len(slack.posts()) == 1, slack.summary()


IGNORED = [
    pytest.param("bot_own_message.json", {}, id="our-bot-echo"),
    pytest.param("bot_message.json", {}, id="bot_message"),
    pytest.param("message_changed.json", {}, id="message_changed"),
    pytest.param("message_deleted.json", {}, id="message_deleted"),
    pytest.param("channel_join.json", {"SUBTYPE": "channel_join"}, id="channel_join"),
    pytest.param("channel_join.json", {"SUBTYPE": "channel_leave"}, id="channel_leave"),
]


@pytest.mark.parametrize("name,subs", IGNORED)
def test_bot_and_housekeeping_events_are_ignored(slack_gateway, slack, redis_server, name, subs):
    gw, redis = slack_gateway, redis_server.client
    deliver(gw, redis, payload(name, THREAD_TS=new_ts(), **subs), new_messages=0)
    # a real message afterwards is the only one answered
    ts, _ = start_thread(gw, redis, slack)
    wait_settled(redis)
    assert [thread_ts_of(r) for r in slack.posts()] == [ts], slack.summary()


def test_a_message_from_our_own_bot_user_is_ignored(slack_gateway, slack, redis_server):
    """Without bot_id: the gateway knows its bot user (authorizations[].user_id,
    or auth.test) and does not talk to itself."""
    gw, redis = slack_gateway, redis_server.client
    deliver(gw, redis, event_payload("message_channel.json", user=BOT_USER_ID), new_messages=0)
    ts, _ = start_thread(gw, redis, slack)
    wait_settled(redis)
    assert [thread_ts_of(r) for r in slack.posts()] == [ts], slack.summary()


def test_an_app_mention_starts_a_conversation(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    ts = new_ts()
    deliver(gw, redis, payload("app_mention.json", TS=ts))
    m = last_inbound(redis)
    assert m["conversation_id"] == thread_cid(ts) and m["user"] == ALEX, m
    ask = slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True,
                         pred=in_thread(ts))[0]
    assert "email" in message_text(ask).lower() and "1001" in message_text(ask), \
        message_text(ask)
    # Slack also sends the plain message event for the same message: once only
    deliver(gw, redis, event_payload("message_channel.json", TS=ts,
                                     text=f"<@{BOT_USER_ID}> Hi, I want a refund for order 1001"),
            new_messages=0)
    wait_settled(redis)
    assert len(slack.posts()) == 1, slack.summary()
    slack.check()


# =========================================================================== review

def test_an_escalation_posts_a_review_card(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    escalate_on_test_channel(gw)
    t = ticket(redis)
    assert t["order_id"] == "1003" and t["status"] == "open" and t["channel"] == "test", t
    card = wait_card(slack)
    text, blocks = message_text(card), block_text(card)
    assert "T-0001" in text and "1003" in text and USD_350 in text, text
    everything = all_text(card)
    for want in ("T-0001", "1003", USD_350, "test", "card", "delivered",
                 "review_amount", "auto_approve_max", t["suggested_action"]):
        assert want in everything, (want, everything)
    assert "risk" in everything.lower(), everything
    # the customer's words, card number redacted
    assert "I'd like my money back for order #1003" in blocks, blocks
    assert "[redacted]" in blocks, blocks
    assert CARD not in everything and CARD.replace(" ", "") not in everything, everything

    assert button_ids(card) == ["review_approve", "review_deny", "review_info"], \
        block_list(card)
    by_id = {b["action_id"]: b for b in buttons(card)}
    assert all(b["value"] == "T-0001" for b in by_id.values()), by_id
    assert by_id["review_approve"].get("style") == "primary", by_id
    assert by_id["review_deny"].get("style") == "danger", by_id
    confirm = by_id["review_deny"].get("confirm")
    assert isinstance(confirm, dict) and {"title", "text", "confirm", "deny"} <= set(confirm), \
        by_id["review_deny"]
    assert "confirm" not in by_id["review_approve"] or by_id["review_approve"]["confirm"]
    assert refunds_created(redis) == 0 and rail_calls(redis) == 0
    slack.check()


def test_approve_refunds_and_tells_the_customer(make_slack_gateway, slack, redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    before = len(outs(gw, "test:jordan"))
    review_click(gw, slack, card, "review_approve", user=LEAD)

    wait_for(lambda: refunds_created(redis) == 1, REPLY_TIMEOUT, what="the refund")
    # the rail counts the refund before the turn writes it back: wait for the turn
    wait_for(lambda: order_refunded(redis, "1003") == 35000, REPLY_TIMEOUT,
             what="the refund written back to the order")
    note = wait_for(lambda: redis.hgetall("rd:cn:NC-0001"), REPLY_TIMEOUT, what="the credit note")
    assert note["order_id"] == "1003" and note["amount"] == "35000", note
    assert refunds_created(redis) == 1
    # the customer hears it on the test channel, in English
    told = wait_for(lambda: (lambda o: o[before:] if any("NC-0001" in x for x in o[before:])
                             else None)(outs(gw, "test:jordan")), REPLY_TIMEOUT,
                    what="the customer told of the refund and the credit note")
    assert any(USD_350 in x for x in told), told

    upd = wait_card_update(slack, card)
    assert f"<@{LEAD}>" in all_text(upd), all_text(upd)
    assert "approv" in all_text(upd).lower(), all_text(upd)
    assert button_ids(upd) == [], block_list(upd)
    shown = slack.message(REVIEW, card["ts"])
    assert shown["updated_by"] and button_ids({"blocks": shown["blocks"]}) == [], shown

    t = ticket(redis)
    assert t["status"] == "approved" and t["decided_by"] == LEAD, t
    decisions = audit_entries(redis, "review_decision")
    assert decisions and LEAD in json.dumps(decisions), decisions
    verify = run_cli("audit", "verify", config=gw)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    slack.check()


def test_deny_tells_the_customer_and_refunds_nothing(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    before = len(outs(gw, "test:jordan"))
    review_click(gw, slack, card, "review_deny", user=BOSS)

    upd = wait_card_update(slack, card)
    assert f"<@{BOSS}>" in all_text(upd) and "den" in all_text(upd).lower(), all_text(upd)
    assert button_ids(upd) == [], block_list(upd)
    told = wait_outs(gw, "test:jordan", before + 1)[before:]
    assert told and not any("NC-" in x for x in told), told
    wait_for(lambda: ticket(redis)["status"] == "denied", 5, what="ticket denied")
    assert ticket(redis)["decided_by"] == BOSS
    assert refunds_created(redis) == 0 and rail_calls(redis) == 0
    assert order_refunded(redis, "1003") == 0
    slack.check()


def test_ask_for_info_keeps_the_ticket_open(make_slack_gateway, slack, redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    before = len(outs(gw, "test:jordan"))
    review_click(gw, slack, card, "review_info", user=LEAD)

    told = wait_outs(gw, "test:jordan", before + 1)[before:]
    assert told, told
    upd = wait_card_update(slack, card)
    assert f"<@{LEAD}>" in all_text(upd), all_text(upd)
    assert ticket(redis)["status"] in ("open", "info_requested"), ticket(redis)
    assert refunds_created(redis) == 0

    # still open: a reviewer can approve it afterwards
    review_click(gw, slack, card, "review_approve", user=BOSS)
    wait_for(lambda: refunds_created(redis) == 1, REPLY_TIMEOUT, what="the refund after info")
    wait_for(lambda: ticket(redis)["status"] == "approved", 5, what="ticket approved")
    slack.check()


def template(locale, name, **values):
    """templates/LOCALE/NAME.txt rendered with values (what the customer reads)."""
    text = (REPO / "templates" / locale / f"{name}.txt").read_text(encoding="utf-8").strip()
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text


PT_ASKS, ES_ASKS = "Oi, quero reembolso do pedido 1003", "Hola, quiero un reembolso del pedido 1003"
LANGUAGES = [
    pytest.param("pt-BR", PT_ASKS, "review_approve", id="approve-pt-BR"),
    pytest.param("es", ES_ASKS, "review_deny", id="deny-es"),
    pytest.param("pt-BR", PT_ASKS, "review_info", id="info-pt-BR"),
]


@pytest.mark.parametrize("locale,ask,action", LANGUAGES)
def test_the_customer_hears_the_decision_in_their_language(make_slack_gateway, slack,
                                                           redis_server, locale, ask, action):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    escalate_on_test_channel(gw, ask, locale=locale)
    assert ticket(redis)["locale"] == locale, ticket(redis)
    card = wait_card(slack)
    before = len(outs(gw, "test:jordan"))
    review_click(gw, slack, card, action, user=LEAD)
    if action == "review_approve":
        told = wait_for(lambda: (lambda o: o[before:] if any("NC-0001" in x for x in o[before:])
                                 else None)(outs(gw, "test:jordan")), REPLY_TIMEOUT,
                        what="the customer told of the refund and the credit note")
        prefix = template(locale, "refunded").split("{")[0]          # "Pronto! O reembolso de "
        assert told[0].startswith(prefix), (prefix, told)
        note = template(locale, "credit_note").split("{")[0]         # "A nota de crédito "
        assert told[-1].startswith(note) and "1003" in told[-1], (note, told)
    else:
        told = wait_outs(gw, "test:jordan", before + 1)[before:]
        name = "review_denied" if action == "review_deny" else "review_more_info"
        assert told == [template(locale, name, order="1003")], told


def test_a_second_click_changes_nothing(make_slack_gateway, slack, redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    review_click(gw, slack, card, "review_approve", user=LEAD)
    wait_for(lambda: refunds_created(redis) == 1, REPLY_TIMEOUT, what="the refund")
    wait_card_update(slack, card)

    for action, user in (("review_approve", BOSS), ("review_deny", LEAD),
                         ("review_approve", LEAD)):
        name = review_click(gw, slack, card, action, user=user)
        said = ephemeral(slack, name)
        assert "already" in said["text"].lower(), said
    wait_settled(redis)
    assert refunds_created(redis) == 1 and order_refunded(redis, "1003") == 35000
    assert not redis.exists("rd:cn:NC-0002")
    t = ticket(redis)
    assert t["status"] == "approved" and t["decided_by"] == LEAD, t
    assert len(audit_entries(redis, "review_decision")) == 1, audit_entries(redis,
                                                                             "review_decision")
    slack.check()


def test_a_click_by_someone_not_a_reviewer_is_refused(make_slack_gateway, slack, redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    before = len(outs(gw, "test:jordan"))
    for action in ("review_approve", "review_deny", "review_info"):
        name = review_click(gw, slack, card, action, user=STRANGER)
        ephemeral(slack, name)
    wait_settled(redis)
    assert ticket(redis)["status"] == "open", ticket(redis)
    assert refunds_created(redis) == 0 and rail_calls(redis) == 0
    assert slack.updates() == [], slack.summary()
    assert len(outs(gw, "test:jordan")) == before
    assert audit_entries(redis, "review_decision") == []
    # a reviewer still can
    review_click(gw, slack, card, "review_approve", user=BOSS)
    wait_for(lambda: refunds_created(redis) == 1, REPLY_TIMEOUT, what="the reviewer's refund")


def test_without_a_reviewer_list_anyone_may_decide(make_slack_gateway, slack, redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(reviewers="")
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    review_click(gw, slack, card, "review_deny", user=STRANGER)
    wait_for(lambda: ticket(redis)["status"] == "denied", REPLY_TIMEOUT, what="ticket denied")
    assert ticket(redis)["decided_by"] == STRANGER


def test_an_approval_above_the_mandate_does_not_refund(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client        # default cap: USD 150.00
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    review_click(gw, slack, card, "review_approve", user=LEAD)
    upd = wait_card_update(slack, card, pred=lambda r: "mandate" in all_text(r).lower())
    assert f"<@{LEAD}>" in all_text(upd), all_text(upd)
    wait_settled(redis)
    assert refunds_created(redis) == 0 and rail_calls(redis) == 0
    assert order_refunded(redis, "1003") == 0
    assert not redis.exists("rd:cn:NC-0001")
    mandate = audit_entries(redis, "mandate")
    assert mandate and mandate[-1]["outcome"] == "over_per_refund", mandate
    slack.check()


def test_an_expired_ticket_cannot_be_approved(make_slack_gateway, slack, redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    escalate_on_test_channel(gw)
    card = wait_card(slack)
    before = len(outs(gw, "test:jordan"))
    redis.hset("rd:ticket:T-0001", "created_at", int(time.time()) - 8 * 86400)  # ttl_days 7
    name = review_click(gw, slack, card, "review_approve", user=LEAD)
    said = ephemeral(slack, name)
    assert "expired" in said["text"].lower(), said
    wait_for(lambda: ticket(redis)["status"] == "expired", 5, what="ticket expired")
    wait_outs(gw, "test:jordan", before + 1)
    wait_settled(redis)
    assert refunds_created(redis) == 0 and rail_calls(redis) == 0
    slack.check()


def test_a_slack_customer_hears_the_decision_in_their_thread(make_slack_gateway, slack,
                                                            redis_server):
    redis = redis_server.client
    gw = make_slack_gateway(sections={"mandate": HIGH_CAPS})
    ts, ask = start_thread(gw, redis, slack, text="Hi, I want a refund for order 1003",
                           user=JORDAN)
    reply_in_thread(gw, redis, ts, mailto("jordan@example.com"), user=JORDAN)
    escalated = slack.wait_for("chat.postMessage", 2, timeout=REPLY_TIMEOUT, ok=True,
                               pred=in_thread(ts))[1]
    assert "T-0001" in message_text(escalated), message_text(escalated)
    t = ticket(redis)
    assert t["channel"] == "slack" and t["conversation_id"] == thread_cid(ts), t
    card = wait_card(slack)
    assert "slack" in all_text(card).lower(), all_text(card)

    review_click(gw, slack, card, "review_approve", user=LEAD)
    slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT, ok=True,
                   pred=lambda r: in_thread(ts)(r) and "NC-0001" in message_text(r))
    wait_settled(redis)
    thread = slack.posts(channel=SUPPORT)
    assert all(thread_ts_of(r) == ts for r in thread), slack.summary()
    told = [message_text(r) for r in thread[2:]]
    done = [i for i, t in enumerate(told) if USD_350 in t and "1003" in t]
    note = [i for i, t in enumerate(told) if "NC-0001" in t]
    assert done and note and done[0] < note[0], told
    assert refunds_created(redis) == 1
    slack.check()


# =========================================================================== outbound failures

def test_a_429_with_retry_after_is_retried_after_that_long(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    slack.fail_next(error="ratelimited", http_status=429, retry_after=1)
    ts, _ = start_thread(gw, redis, slack)
    wait_settled(redis, RETRY_TIMEOUT)
    attempts = slack.posts()
    assert [(r["status"], r["ok"]) for r in attempts] == [(429, False), (200, True)], \
        slack.summary()
    assert attempts[1]["args"] == attempts[0]["args"], "the retry is the same message"
    assert attempts[1]["t"] - attempts[0]["t"] >= 0.95, "Retry-After: 1 was not honoured"
    assert thread_ts_of(attempts[1]) == ts


TRANSIENT = [
    pytest.param({"error": "ratelimited"}, id="ok-false-ratelimited"),
    pytest.param({"http_status": 500}, id="http-500"),
    pytest.param({"http_status": 503, "body": "<html><body>503 Service Unavailable</body></html>"},
                 id="html-503"),
]


@pytest.mark.parametrize("failure", TRANSIENT)
def test_a_transient_failure_is_retried_and_sent_once(slack_gateway, slack, redis_server,
                                                      failure):
    gw, redis = slack_gateway, redis_server.client
    slack.fail_next(**failure)
    ts = new_ts()
    deliver(gw, redis, payload("message_channel.json", TS=ts))
    slack.wait_for("chat.postMessage", 1, timeout=RETRY_TIMEOUT, ok=True, pred=in_thread(ts))
    wait_settled(redis)
    attempts = slack.posts()
    assert [r["ok"] for r in attempts] == [False, True], slack.summary()
    assert attempts[1]["args"] == attempts[0]["args"]


def test_channel_not_found_is_final_and_logged(slack_gateway, slack, redis_server):
    gw, redis = slack_gateway, redis_server.client
    slack.fail_next(error="channel_not_found")
    deliver(gw, redis, payload("message_channel.json"))
    slack.wait_for("chat.postMessage", 1, timeout=REPLY_TIMEOUT)
    wait_settled(redis)             # acknowledged: not left pending for a retry
    assert [r["ok"] for r in slack.posts()] == [False], slack.summary()
    wait_for(lambda: "channel_not_found" in gw.log_text(), 5,
             what="Slack's error channel_not_found in the log")


def test_refund_and_credit_note_arrive_in_order_across_a_retry(slack_gateway, slack,
                                                               redis_server):
    gw, redis = slack_gateway, redis_server.client
    ts, _ = start_thread(gw, redis, slack)
    reply_in_thread(gw, redis, ts, mailto("alex@example.com"))
    offer = slack.wait_for("chat.postMessage", 2, timeout=REPLY_TIMEOUT, ok=True,
                           pred=in_thread(ts))[1]
    slack.fail_next(error="ratelimited")          # the "refunded" message is refused once
    deliver(gw, redis, confirm_click(offer, ts), path=ACTIONS)
    slack.wait_for("chat.postMessage", 4, timeout=RETRY_TIMEOUT, ok=True, pred=in_thread(ts))
    wait_settled(redis)
    delivered = [message_text(r) for r in slack.posts(ok=True)[2:]]
    assert len(delivered) == 2, slack.summary()
    assert USD_49 in delivered[0] and "NC-0001" in delivered[1], delivered
    refused = slack.posts(ok=False)
    assert len(refused) == 1 and USD_49 in message_text(refused[0]), slack.summary()
    assert refunds_created(redis) == 1


def test_slack_markup_reaches_the_agent_as_plain_text(slack_gateway, slack, redis_server):
    """Slack wraps what people type: <mailto:a|a>, <https://x|label>, &amp;."""
    gw, redis = slack_gateway, redis_server.client
    ts, _ = start_thread(gw, redis, slack)
    reply_in_thread(gw, redis, ts, mailto("alex@example.com"))
    assert last_inbound(redis)["text"] == "alex@example.com"
    reply_in_thread(gw, redis, ts, "see <https://shop.example/o/1001|my order> &amp; &lt;3 <@U0LEAD>")
    assert last_inbound(redis)["text"] == "see my order & <3 "
