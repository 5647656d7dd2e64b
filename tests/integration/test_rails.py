"""Refunds on the real rails — Stripe (cards), Pix (API Pix devolução) and
USDC — against local stand-ins for the providers (rail_stubs.py): what the
gateway sends each provider, how it survives their failures (retries with the
same idempotency key, timeouts settled by a webhook, final refusals), what
the customer is told, the Stripe webhook's signature check, and the signed
credit-note links. Each test has its own redis-server, gateway and stubs."""
import hashlib
import hmac
import json
import re
import time

import pytest

from conftest import REPO, run_cli, wait_for
from rail_stubs import (ISSUER_NAME, ISSUER_TAX_ID, LINK_SECRET,  # noqa: F401 (fixtures)
                        STRIPE_SECRET_KEY, USDC_AGENT_ID, USDC_API_KEY, rails, rails_gateway,
                        send_stripe_webhook, stripe_signature)

NBSP = "\u00a0"
CARD_ORDER, PIX_ORDER, USDC_ORDER, PIX_ORDER_2, CHARGE_ORDER = "2001", "2002", "2003", "2004", "2005"
CUSTOMERS = {  # order → (test-channel user, email, locale)
    "2001": ("alex2", "alex2@example.com", None),
    "2002": ("bia", "bia@example.com", "pt-BR"),
    "2003": ("noah2", "noah2@example.com", None),
    "2004": ("caio", "caio@example.com", "pt-BR"),
    "2005": ("dana", "dana@example.com", None),
}
ASK = {None: "Hi, I want a refund for order {}", "pt-BR": "Oi, quero reembolso do pedido {}"}
WHERE = {None: "where is my refund?", "pt-BR": "cadê meu reembolso?"}
HEX64 = re.compile(r"[0-9a-f]{64}")


# ------------------------------------------------------------------ helpers

def say(gw, user, text=None, ok=(200,), **kw):
    r = gw.send(user, text, **kw)
    assert r.status_code in ok, (r.status_code, r.text)
    body = r.json()
    if r.status_code == 200:
        assert body["replies"], body
    return body


def texts(body):
    return " ".join(r["text"] for r in body.get("replies", []))


def buttons(body):
    return [b["id"] for r in body.get("replies", []) for b in r.get("buttons", [])]


def refund_and_confirm(gw, order):
    """Ask for a refund of order, prove identity, check the offer, press Yes.
    Returns the answer to Yes (200, or 202 when the rail was slow)."""
    user, email, locale = CUSTOMERS[order]
    say(gw, user, ASK[locale].format(order), locale=locale)
    offer = say(gw, user, email, locale=locale)
    assert buttons(offer) == ["confirm_yes", "confirm_no"], offer
    return say(gw, user, button="confirm_yes", locale=locale, ok=(200, 202))


def out_entries(gw, order):
    user = CUSTOMERS[order][0]
    r = gw.conversation(f"test:{user}")
    assert r.status_code == 200, r.text
    return [t for t in r.json()["transcript"] if t.get("dir") == "out"]


def outs(gw, order):
    """What the customer of order has been sent so far (transcript "out" texts)."""
    return [t.get("text", "") for t in out_entries(gw, order)]


def after_offer(gw, order):
    """The replies sent after the refund offer (template confirm_refund): the
    answers to Yes and whatever the rail's later news brought."""
    entries = out_entries(gw, order)
    offers = [i for i, t in enumerate(entries) if t.get("template") == "confirm_refund"]
    assert offers, f"no offer in {entries}"
    return [t.get("text", "") for t in entries[offers[-1] + 1:]]


def wait_out(gw, order, predicate, timeout=10, what="a reply"):
    """Wait until a reply sent after the offer to the customer of order
    satisfies predicate; returns the replies that do."""
    return wait_for(lambda: [t for t in after_offer(gw, order) if predicate(t)], timeout,
                    what=f"{what} to the customer of order {order} (sent so far: "
                         f"{_safe_outs(gw, order)})")


def _safe_outs(gw, order):
    try:
        return outs(gw, order)
    except Exception as e:  # noqa: BLE001 - for a failure message only
        return f"<{e}>"


def refund_records(redis):
    """{our refund id: rd:refund:<id> hash} for every refund record."""
    out = {}
    for k in redis.scan_iter("rd:refund:*"):
        if redis.type(k) == "hash":
            out[k[len("rd:refund:"):]] = redis.hgetall(k)
    return out


def refund_record(redis, order_id):
    """(our refund id, record) of order_id's refund, or (None, None)."""
    found = [(k, h) for k, h in refund_records(redis).items() if h.get("order_id") == order_id]
    assert len(found) <= 1, found
    return found[0] if found else (None, None)


def wait_refund_status(redis, order_id, status, timeout=10):
    def ready():
        key, rec = refund_record(redis, order_id)
        return (key, rec) if rec and rec.get("status") == status else None
    try:
        return wait_for(ready, timeout, what=f"rd:refund of order {order_id} status {status}")
    except TimeoutError as e:
        raise TimeoutError(f"{e}; records: {refund_records(redis)}") from None


def mandate(redis, key):
    """(reservation hash, today's total in that currency as int)."""
    resv = redis.hgetall(f"rd:mandate:resv:{key}")
    assert resv, f"no mandate reservation rd:mandate:resv:{key}"
    day = redis.get(f"rd:mandate:day:{resv['cur']}:{resv['day']}")
    return resv, int(day or 0)


def audit(redis, kind):
    return [json.loads(f["data"]) for _, f in redis.xrange("rd:audit") if f["kind"] == kind]


def order_refunded(redis, oid):
    return int(redis.hget(f"rd:order:{oid}", "refunded"))


def link_sig(number, exp, secret=LINK_SECRET):
    return hmac.new(secret.encode(), f"{number}.{exp}".encode(), hashlib.sha256).hexdigest()


def credit_note_link(gw, text, number="NC-0001"):
    """The signed credit-note link in text: (url, exp, sig)."""
    m = re.search(re.escape(gw.url) + "/v1/credit-notes/" + re.escape(number)
                  + r"\?exp=(\d+)&sig=([0-9a-fA-F]+)", text)
    assert m, f"no {gw.url}/v1/credit-notes/{number}?exp=…&sig=… link in {text!r}"
    return m.group(0), int(m.group(1)), m.group(2)


def template_fragments(locale, name):
    """The literal parts of templates/<locale>/<name>.txt (what a rendered reply
    must contain whatever the placeholders become)."""
    path = REPO / "templates" / (locale or "en") / f"{name}.txt"
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO)} is missing (it is part of the rails contract)")
    parts = re.split(r"\{[a-z_]+\}", path.read_text(encoding="utf-8").strip())
    return [p.strip() for p in parts if len(p.strip()) >= 4]


def the_one_create(stripe):
    creates = stripe.creates()
    assert len(creates) == 1, stripe.summary()
    return creates[0]


# ------------------------------------------------------------------ Stripe (cards)

def test_card_refund_end_to_end(rails, rails_gateway, redis_server):
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    user, email, _ = CUSTOMERS[CARD_ORDER]
    say(gw, user, ASK[None].format(CARD_ORDER))
    offer = say(gw, user, email)
    assert "$49.00" in texts(offer) and buttons(offer) == ["confirm_yes", "confirm_no"]
    assert stripe.requests() == [], "nothing is sent to Stripe before the customer says yes"

    done = say(gw, user, button="confirm_yes")
    replies = [r["text"] for r in done["replies"]]
    assert len(replies) == 2, replies
    assert "$49.00" in replies[0] and CARD_ORDER in replies[0]
    assert "NC-0001" in replies[1]
    url, exp, sig = credit_note_link(gw, replies[1])
    assert exp > time.time() + 3600, "the link should stay valid for days, not seconds"
    assert sig.lower() == link_sig("NC-0001", exp), "sig = hex HMAC-SHA256(link_secret, 'NC-0001.<exp>')"

    # what Stripe received: one create, form-encoded, keyed, with our metadata
    req = the_one_create(stripe)
    assert req["status"] == 200 and req["problems"] == [], stripe.summary()
    h, form = req["headers"], req["form"]
    assert h["authorization"] == f"Bearer {STRIPE_SECRET_KEY}"
    assert h["content-type"].startswith("application/x-www-form-urlencoded")
    key = h["idempotency-key"]
    assert key and form["metadata[refund_id]"] == key
    assert form["payment_intent"] == "pi_3NabcDEF" and "charge" not in form
    assert form["amount"] == "4900"
    assert form["reason"] == "requested_by_customer"
    assert form["metadata[order_id]"] == CARD_ORDER
    assert form["metadata[conversation_id]"] == f"test:{user}"
    refund = stripe.refund_for_key(key)
    assert refund["status"] == "succeeded" and refund["amount"] == 4900

    # what the gateway recorded
    rec = redis.hgetall(f"rd:refund:{key}")
    assert rec, f"no rd:refund:{key}; records: {refund_records(redis)}"
    assert rec["status"] == "succeeded" and rec["provider_refund_id"] == refund["id"]
    assert rec["rail"] == "card" and rec["provider"] == "stripe"
    assert rec["amount"] == "4900" and rec["currency"] == "USD" and rec["credit_note"] == "NC-0001"
    note = redis.hgetall("rd:cn:NC-0001")
    assert note["refund_id"] == key and note["amount"] == "4900" and HEX64.fullmatch(note["seal"])
    resv, today = mandate(redis, key)
    assert resv["state"] == "committed" and today == 4900
    assert order_refunded(redis, CARD_ORDER) == 4900
    assert run_cli("audit", "verify", config=gw).returncode == 0


def test_card_refund_of_a_charge_sends_charge(rails, rails_gateway, redis_server):
    """A payment id that is a charge (ch_…) is refunded with charge=, not payment_intent=."""
    gw = rails_gateway()
    refund_and_confirm(gw, CHARGE_ORDER)
    wait_out(gw, CHARGE_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    assert any("$35.00" in t for t in after_offer(gw, CHARGE_ORDER))
    form = the_one_create(rails.stripe)["form"]
    assert form["charge"] == "ch_3NxyzCHARGE01" and "payment_intent" not in form
    assert form["amount"] == "3500"


@pytest.mark.parametrize("status", [500, 429])
def test_stripe_failure_is_retried_with_the_same_key_and_refunds_once(
        rails, rails_gateway, redis_server, status):
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    stripe.fail_next(status=status)
    refund_and_confirm(gw, CARD_ORDER)
    wait_out(gw, CARD_ORDER, lambda t: "NC-0001" in t, 15, "the credit note")

    creates = stripe.creates()
    assert [c["status"] for c in creates] == [status, 200], stripe.summary()
    keys = {c["headers"].get("idempotency-key") for c in creates}
    assert len(keys) == 1 and None not in keys, f"the retry must reuse the key: {keys}"
    assert creates[0]["raw"] == creates[1]["raw"] or creates[0]["form"] == creates[1]["form"]
    assert len(stripe.refunds()) == 1
    key = keys.pop()
    assert redis.hget(f"rd:refund:{key}", "status") == "succeeded"
    assert order_refunded(redis, CARD_ORDER) == 4900
    assert not redis.exists("rd:cn:NC-0002")
    sent = after_offer(gw, CARD_ORDER)
    assert len(sent) == 2 and "$49.00" in sent[0], f"told once, not once per attempt: {sent}"
    assert len(audit(redis, "refund")) == 1


@pytest.mark.parametrize("event_type", ["refund.updated", "charge.refunded"])
def test_stripe_timeout_then_webhook_settles_it(rails, rails_gateway, redis_server, event_type):
    """Stripe makes the refund but answers after our 500 ms timeout; the retry
    (same key) replays "pending"; the webhook saying succeeded settles it."""
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    stripe.next_status("pending")
    stripe.hang_next(0.8)
    refund_and_confirm(gw, CARD_ORDER)

    key, rec = wait_refund_status(redis, CARD_ORDER, "pending", 15)
    creates = stripe.creates()
    assert len(creates) >= 2 and creates[0]["delay"] > 0, stripe.summary()
    assert {c["headers"].get("idempotency-key") for c in creates} == {key}
    assert len(stripe.refunds()) == 1
    refund = stripe.refund_for_key(key)
    assert rec["provider_refund_id"] == refund["id"]
    # told it is under way, but nothing is issued before Stripe says it succeeded
    wait_out(gw, CARD_ORDER, lambda t: t, 10, "news of the refund under way")
    assert not any("NC-" in t or "T-0" in t for t in after_offer(gw, CARD_ORDER)), \
        after_offer(gw, CARD_ORDER)
    assert not redis.exists("rd:cn:NC-0001")
    resv, today = mandate(redis, key)
    assert resv["state"] == "reserved" and today == 4900, "a pending refund keeps its reservation"

    settled = stripe.set_status(refund["id"], "succeeded")
    event = (stripe.event("refund.updated", settled, {"status": "pending"})
             if event_type == "refund.updated" else stripe.charge_refunded_event(settled))
    r = send_stripe_webhook(gw, event)
    assert r.status_code == 200, r.text

    wait_refund_status(redis, CARD_ORDER, "succeeded", 10)
    wait_out(gw, CARD_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    credit_note_link(gw, " ".join(after_offer(gw, CARD_ORDER)))
    assert any("$49.00" in t for t in after_offer(gw, CARD_ORDER))
    assert redis.hget(f"rd:refund:{key}", "credit_note") == "NC-0001"
    assert mandate(redis, key)[0]["state"] == "committed"
    assert order_refunded(redis, CARD_ORDER) == 4900
    assert len(stripe.refunds()) == 1 and stripe.refunds()[0]["status"] == "succeeded"

    # Stripe delivers at least once: the same event again (here signed with two
    # v1 signatures, the first one stale, as during a secret roll) changes nothing
    before = outs(gw, CARD_ORDER)
    payload = json.dumps(event).encode()
    good = stripe_signature(payload)
    t, v1 = good.split(",")
    rolled = f"{t},v1={'0' * 64},{v1},v0={'1' * 64}"
    again = send_stripe_webhook(gw, payload, signature=rolled)
    assert again.status_code == 200, f"a header with several v1 signatures, one valid: {again.text}"
    time.sleep(1.5)  # give a wrongly repeated settlement time to show
    assert outs(gw, CARD_ORDER) == before
    assert not redis.exists("rd:cn:NC-0002")
    assert order_refunded(redis, CARD_ORDER) == 4900


def test_final_stripe_error_releases_the_mandate_and_tells_the_truth(
        rails, rails_gateway, redis_server):
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    stripe.fail_next(code="charge_already_refunded")
    refund_and_confirm(gw, CARD_ORDER)
    wait_out(gw, CARD_ORDER, lambda t: "T-0001" in t, 10, "the ticket")

    time.sleep(2.5)  # longer than claim_idle_ms: a final error must not be retried
    req = the_one_create(stripe)
    assert req["status"] == 400 and req["error_code"] == "charge_already_refunded"
    key = req["headers"]["idempotency-key"]
    ticket = redis.hgetall("rd:ticket:T-0001")
    assert ticket["reason"] == "rail_failed" and ticket["order_id"] == CARD_ORDER, ticket
    resv, today = mandate(redis, key)
    assert resv["state"] == "released" and today == 0
    assert not redis.exists("rd:cn:NC-0001")
    rec = redis.hgetall(f"rd:refund:{key}")
    assert not rec or (rec["status"] == "failed" and not rec.get("credit_note")), rec
    assert order_refunded(redis, CARD_ORDER) == 0
    failed = audit(redis, "refund_failed")
    assert failed and "charge_already_refunded" in json.dumps(failed), failed
    assert not any("NC-" in t for t in after_offer(gw, CARD_ORDER))
    assert run_cli("audit", "verify", config=gw).returncode == 0


# ------------------------------------------------------------------ Stripe webhooks

def pending_card_refund(rails, gw, redis):
    """A card refund Stripe left pending: (our key, Stripe's refund)."""
    rails.stripe.next_status("pending")
    refund_and_confirm(gw, CARD_ORDER)
    key, _ = wait_refund_status(redis, CARD_ORDER, "pending", 10)
    return key, rails.stripe.refund_for_key(key)


def assert_nothing_changed(gw, redis, key, record, sent):
    assert redis.hgetall(f"rd:refund:{key}") == record
    assert not redis.exists("rd:cn:NC-0001")
    assert outs(gw, CARD_ORDER) == sent
    assert order_refunded(redis, CARD_ORDER) == 0


def test_stripe_webhook_with_a_bad_signature_changes_nothing(rails, rails_gateway, redis_server):
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    key, refund = pending_card_refund(rails, gw, redis)
    record, sent = redis.hgetall(f"rd:refund:{key}"), outs(gw, CARD_ORDER)
    event = stripe.event("refund.updated", stripe.set_status(refund["id"], "succeeded"),
                         {"status": "pending"})
    payload = json.dumps(event).encode()
    tampered = payload.replace(b'"amount": 4900', b'"amount": 490000')
    assert tampered != payload
    bad = {
        "wrong secret": dict(signature=stripe_signature(payload, "whsec_not_ours")),
        "tampered body": dict(body=tampered),
        "no header": dict(omit_signature=True),
        "garbage header": dict(signature="t=now,v1=zz"),
        "only v0": dict(signature=stripe_signature(payload).replace("v1=", "v0=")),
        "no timestamp": dict(signature=stripe_signature(payload).split(",", 1)[1]),
    }
    for what, kw in bad.items():
        r = send_stripe_webhook(gw, payload, **kw)
        assert r.status_code == 401, f"{what}: {r.status_code} {r.text}"
    time.sleep(1.0)
    assert_nothing_changed(gw, redis, key, record, sent)

    # the same event, properly signed, goes through (the 401s were the signature)
    assert send_stripe_webhook(gw, payload).status_code == 200
    wait_refund_status(redis, CARD_ORDER, "succeeded", 10)


def test_stripe_webhook_with_a_stale_timestamp_is_refused(rails, rails_gateway, redis_server):
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    key, refund = pending_card_refund(rails, gw, redis)
    record, sent = redis.hgetall(f"rd:refund:{key}"), outs(gw, CARD_ORDER)
    event = stripe.event("refund.updated", stripe.set_status(refund["id"], "succeeded"),
                         {"status": "pending"})
    r = send_stripe_webhook(gw, event, timestamp=time.time() - 600)  # 10 min > 5 min tolerance
    assert r.status_code == 401, r.text
    time.sleep(1.0)
    assert_nothing_changed(gw, redis, key, record, sent)
    # within the tolerance it is accepted
    assert send_stripe_webhook(gw, event, timestamp=time.time() - 60).status_code == 200
    wait_refund_status(redis, CARD_ORDER, "succeeded", 10)


# ------------------------------------------------------------------ Pix

def test_pix_devolucao_token_reuse_and_polling(rails, rails_gateway, redis_server):
    redis, pix = redis_server.client, rails.pix
    gw = rails_gateway()
    pix.next_statuses(["EM_PROCESSAMENTO"])           # held there until set_status below
    refund_and_confirm(gw, PIX_ORDER)

    key, rec = wait_refund_status(redis, PIX_ORDER, "pending", 10)
    assert rec["rail"] == "pix" and rec["provider"] == "pix"
    tokens = pix.token_requests()
    assert len(tokens) == 1 and tokens[0]["status"] == 200, pix.summary()
    assert (tokens[0]["form"] or {}).get("grant_type") == "client_credentials"
    assert tokens[0]["headers"].get("authorization", "").startswith("Basic "), \
        "client credentials in HTTP basic auth"
    put = pix.requests("put")[0]
    assert put["status"] == 201 and put["problems"] == [], pix.summary()
    e2eid, dev_id = put["e2eid"], put["devolucao_id"]
    assert e2eid == "E12345678202611211200abcdefghijk"
    assert re.fullmatch(r"[a-zA-Z0-9]{1,35}", dev_id)
    token = pix.tokens()[0]
    assert put["headers"]["authorization"] == f"Bearer {token}"
    assert put["json"]["valor"] == "186.00" and put["json"]["natureza"] == "ORIGINAL"
    assert isinstance(put["json"].get("descricao", ""), str) and len(put["json"].get("descricao", "")) <= 140
    assert rec["provider_refund_id"] in (dev_id, pix.devolucoes()[0]["rtrId"]), rec

    # the poller asks, and as long as the PSP says EM_PROCESSAMENTO nothing is issued
    pix.wait_for("get", 2, ok=True, timeout=10)
    wait_out(gw, PIX_ORDER, lambda t: t, 5, "news of the devolução under way")
    assert not any("NC-" in t or "T-0" in t for t in after_offer(gw, PIX_ORDER)), \
        "a devolução being processed has no credit note yet"
    assert not redis.exists("rd:cn:NC-0001")
    assert redis.hget(f"rd:refund:{key}", "status") == "pending"
    assert mandate(redis, key)[0]["state"] == "reserved"

    pix.set_status(e2eid, dev_id, "DEVOLVIDO")
    wait_refund_status(redis, PIX_ORDER, "succeeded", 10)
    wait_out(gw, PIX_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    assert any(f"R${NBSP}186,00" in t for t in after_offer(gw, PIX_ORDER)), outs(gw, PIX_ORDER)
    credit_note_link(gw, " ".join(after_offer(gw, PIX_ORDER)))
    assert redis.hget(f"rd:refund:{key}", "credit_note") == "NC-0001"
    assert mandate(redis, key)[0]["state"] == "committed"
    assert order_refunded(redis, PIX_ORDER) == 18600
    gets = pix.requests("get")
    assert all(g["headers"].get("authorization") == f"Bearer {token}" for g in gets)
    assert all(g["devolucao_id"] == dev_id for g in gets)

    # a second devolução, another customer: the cached token, a scripted sequence
    pix.next_statuses(["EM_PROCESSAMENTO", "DEVOLVIDO"])
    refund_and_confirm(gw, PIX_ORDER_2)
    wait_refund_status(redis, PIX_ORDER_2, "succeeded", 15)
    wait_out(gw, PIX_ORDER_2, lambda t: "NC-0002" in t, 10, "the second credit note")
    assert any(f"R${NBSP}99,00" in t for t in after_offer(gw, PIX_ORDER_2))
    puts = pix.requests("put")
    assert len({p["devolucao_id"] for p in puts}) == 2
    assert len(pix.devolucoes()) == 2
    assert len(pix.token_requests()) == 1, "the token is cached until it expires"
    assert all(r["headers"].get("authorization") == f"Bearer {token}"
               for r in pix.requests() if r["kind"] in ("put", "get"))


def test_pix_put_retried_after_500_keeps_the_devolucao_id(rails, rails_gateway, redis_server):
    redis, pix = redis_server.client, rails.pix
    gw = rails_gateway()
    pix.fail_next(status=500)
    refund_and_confirm(gw, PIX_ORDER)
    wait_refund_status(redis, PIX_ORDER, "succeeded", 15)
    puts = pix.requests("put")
    assert [p["status"] for p in puts][:2] == [500, 201], pix.summary()
    assert len({p["devolucao_id"] for p in puts}) == 1, "a retry reuses the devolução id"
    assert len({p["raw"] for p in puts}) == 1
    assert len(pix.devolucoes()) == 1
    wait_out(gw, PIX_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    assert not redis.exists("rd:cn:NC-0002")


# ------------------------------------------------------------------ USDC

def test_usdc_refund_tx_hash_reaches_the_customer(rails, rails_gateway, redis_server):
    redis, usdc = redis_server.client, rails.usdc
    gw = rails_gateway()
    refund_and_confirm(gw, USDC_ORDER)
    wait_out(gw, USDC_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    replies = after_offer(gw, USDC_ORDER)
    assert len(replies) == 2, replies
    reqs = usdc.requests("refund")
    assert len(reqs) == 1 and reqs[0]["status"] == 200 and reqs[0]["problems"] == [], \
        usdc.summary()
    req = reqs[0]
    tx_hash = req["response"]["tx_hash"]
    assert "24.99 USDC" in replies[0] and tx_hash in replies[0], replies[0]
    assert "NC-0001" in replies[1]
    credit_note_link(gw, replies[1])

    assert req["headers"]["authorization"] == f"Bearer {USDC_API_KEY}"
    key = req["headers"]["idempotency-key"]
    body = req["json"]
    assert body["agent_id"] == USDC_AGENT_ID and body["payment_id"] == "pay_usdc_0001"
    assert body["amount"] == "24.99" and isinstance(body.get("reason"), str)
    rec = redis.hgetall(f"rd:refund:{key}")
    assert rec, f"no rd:refund:{key}; records: {refund_records(redis)}"
    assert rec["status"] == "succeeded" and rec["rail"] == "usdc" and rec["provider"] == "usdc"
    assert rec["provider_refund_id"] == req["response"]["refund_id"]
    assert rec["amount"] == "2499" and rec["currency"] == "USDC"
    resv, today = mandate(redis, key)
    assert resv["state"] == "committed" and today == 2499


def test_usdc_policy_violation_escalates_and_releases_the_reservation(
        rails, rails_gateway, redis_server):
    redis, usdc = redis_server.client, rails.usdc
    gw = rails_gateway()
    usdc.policy_violation_next()
    refund_and_confirm(gw, USDC_ORDER)
    wait_out(gw, USDC_ORDER, lambda t: "T-0001" in t, 10, "the ticket")
    assert not any("NC-" in t for t in after_offer(gw, USDC_ORDER))
    time.sleep(2.5)  # longer than claim_idle_ms: a final error must not be retried
    reqs = usdc.requests("refund")
    assert len(reqs) == 1 and reqs[0]["status"] == 403, usdc.summary()
    key = reqs[0]["headers"]["idempotency-key"]
    ticket = redis.hgetall("rd:ticket:T-0001")
    assert ticket["reason"] == "rail_failed" and ticket["order_id"] == USDC_ORDER, ticket
    resv, today = mandate(redis, key)
    assert resv["state"] == "released" and today == 0
    assert not redis.exists("rd:cn:NC-0001")
    assert order_refunded(redis, USDC_ORDER) == 0
    told = json.dumps(audit(redis, "refund_failed")) + json.dumps(ticket)
    assert "POLICY_VIOLATION" in told or "daily limit" in told, \
        f"the provider's reason is kept for the reviewer: {told}"


# ------------------------------------------------------------------ status question

@pytest.mark.parametrize("order,rail,amount,template", [
    (CARD_ORDER, "card", "$49.00", "settlement_card"),
    (PIX_ORDER, "Pix", f"R${NBSP}186,00", "settlement_pix"),
    (USDC_ORDER, "USDC", "24.99 USDC", "settlement_usdc"),
])
def test_refund_status_question_after_a_refund(rails, rails_gateway, redis_server,
                                               order, rail, amount, template):
    redis = redis_server.client
    gw = rails_gateway()
    user, _, locale = CUSTOMERS[order]
    refund_and_confirm(gw, order)
    wait_refund_status(redis, order, "succeeded", 15)
    wait_out(gw, order, lambda t: "NC-0001" in t, 10, "the credit note")
    body = say(gw, user, WHERE[locale], locale=locale)
    answer = texts(body)
    assert amount in answer and rail in answer, answer
    for fragment in template_fragments(locale, template):
        assert fragment in answer, f"{template}: {fragment!r} not in {answer!r}"


# ------------------------------------------------------------------ credit notes

def test_credit_note_link(rails, rails_gateway, redis_server):
    redis = redis_server.client
    gw = rails_gateway()
    refund_and_confirm(gw, CARD_ORDER)
    wait_out(gw, CARD_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    url, exp, sig = credit_note_link(gw, " ".join(after_offer(gw, CARD_ORDER)))
    key = the_one_create(rails.stripe)["headers"]["idempotency-key"]
    seal = redis.hget("rd:cn:NC-0001", "seal")
    assert seal and HEX64.fullmatch(seal)

    # the customer's link opens without any API key: a printable page …
    page = gw.http.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    for needed in ("NC-0001", ISSUER_NAME, ISSUER_TAX_ID, "Alex Moreau", CARD_ORDER, "pi_3NabcDEF",
                   key, seal):
        assert needed in html, f"{needed!r} not on the credit-note page"
    assert re.search(r"49[.,]00", html), "the amount is on the page"

    # … or JSON
    j = gw.http.get(url, headers={"Accept": "application/json"}, timeout=10)
    assert j.status_code == 200 and j.headers["Content-Type"].startswith("application/json"), \
        j.text[:300]
    note = j.json()
    assert note["number"] == "NC-0001" and note["issued_at"]
    assert note["issuer"]["name"] == ISSUER_NAME and note["issuer"]["tax_id"] == ISSUER_TAX_ID
    assert "address" in note["issuer"]
    assert "Alex Moreau" in json.dumps(note["customer"])
    assert note["order_id"] == CARD_ORDER and note["payment_id"] == "pi_3NabcDEF"
    assert note["rail"] == "card" and note["currency"] == "USD"
    assert note["amount"] == 4900, "amounts are integer minor units (README)"
    assert isinstance(note["lines"], list) and note["lines"]
    assert "reason" in note
    assert note["refund_id"] == key and note["seal"] == seal

    # a tampered signature or expiry, an expired link, an unknown number
    path = "/v1/credit-notes/"
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    assert gw.get(f"{path}NC-0001?exp={exp}&sig={flipped}").status_code == 403
    assert gw.get(f"{path}NC-0001?exp={exp + 1}&sig={sig}").status_code == 403
    assert gw.get(f"{path}NC-0001?exp={exp}").status_code == 403
    assert gw.get(f"{path}NC-0001").status_code == 403
    assert gw.get(f"{path}NC-0002?exp={exp}&sig={sig}").status_code == 403, \
        "a signature is for one number only"
    past = int(time.time()) - 60
    assert gw.get(f"{path}NC-0001?exp={past}&sig={link_sig('NC-0001', past)}").status_code == 403
    future = int(time.time()) + 3600
    unknown = gw.get(f"{path}NC-9999?exp={future}&sig={link_sig('NC-9999', future)}")
    assert unknown.status_code == 404
    # and a link we sign ourselves for the real number works (the secret is the contract)
    assert gw.get(f"{path}NC-0001?exp={future}&sig={link_sig('NC-0001', future)}").status_code == 200


def test_a_pending_refund_that_fails_later_releases_the_mandate_and_opens_a_ticket(
        rails, rails_gateway, redis_server):
    """refund.failed after Stripe accepted it: no credit note, the reservation
    goes back to the day, a person gets a ticket, the customer is told."""
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    key, refund = pending_card_refund(rails, gw, redis)
    assert mandate(redis, key)[0]["state"] == "reserved"
    failed = stripe.set_status(refund["id"], "failed")
    failed["failure_reason"] = "expired_or_canceled_card"
    assert send_stripe_webhook(gw, stripe.event("refund.failed", failed)).status_code == 200
    wait_refund_status(redis, CARD_ORDER, "failed", 10)
    told = wait_out(gw, CARD_ORDER, lambda t: "T-0001" in t, 10, "the failure and its ticket")
    assert "2001" in told[0]
    ticket = redis.hgetall("rd:ticket:T-0001")
    assert ticket["reason"] == "rail_failed" and "expired_or_canceled_card" in ticket["suggested_action"]
    resv, day_total = mandate(redis, key)
    assert resv["state"] == "released" and day_total == 0
    assert not redis.exists("rd:cn:NC-0001") and order_refunded(redis, CARD_ORDER) == 0
