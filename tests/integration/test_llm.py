"""[llm]: understanding by a model, bounded by the policy. The real gateway
and redis-server, and tests/integration/llm_stub.py on loopback speaking the
OpenAI Chat Completions and Anthropic Messages formats, scripted per test.

What the model says is data: it may read what the customer means, write the
reviewer's summary and phrase replies around their slots; it never moves
money, picks an order or an amount the customer did not give, or answers a
confirmation. A dead, slow, throttled or confused model leaves the customer
with the built-in understanding, within the timeout."""
import json
import re
import time

import pytest

from conftest import GatewayError, import_demo_orders
from llm_stub import llm  # noqa: F401 (fixture)

CARD = "4111 1111 1111 1111"


def start(gateway, stub, provider="openai", **llm_cfg):
    gw = gateway(stub.config(provider, **llm_cfg))
    import_demo_orders(gw)
    return gw


def say(gw, user, text=None, **kw):
    r = gw.send(user, text, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def texts(body):
    return " ".join(r["text"] for r in body["replies"])


def names(gw, cid):
    """Template names of the agent's replies, in order (from the transcript)."""
    tr = gw.conversation(cid).json()["transcript"]
    return [e.get("template") for e in tr if e.get("dir") == "out"]


def audit(redis, kind=None):
    out = []
    for _, f in redis.xrange("rd:audit"):
        if kind is None or f["kind"] == kind:
            out.append({**f, "data": json.loads(f["data"]) if "data" in f else None})
    return out


def rail_calls(redis):
    return int(redis.get("rd:sandbox:calls") or 0)


def metric(gw, name, labels=""):
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", gw.get("/metrics").text, re.M)
    return float(m.group(1)) if m else None


# ------------------------------------------------------------- understanding

def test_the_models_understanding_drives_the_dialog_and_the_review_card(gateway, redis_server, llm):
    """The built-in layer does not know "in pieces"; the model does. Its
    summary and next action reach the review card, marked unverified; the
    card number never leaves."""
    gw = start(gateway, llm)
    redis = redis_server.client
    llm.understand(intent="refund_request", language="en", reason="damaged",
                   summary="Mug from an order arrived in pieces; customer wants money back.",
                   next_action="Ask for the order number and a photo.")
    body = say(gw, "sam", f"the thing is in pieces!! paid with {CARD}")
    assert names(gw, "test:sam") == ["ask_order"], texts(body)

    reqs = llm.wait_for(1)
    assert reqs[0]["provider"] == "openai" and reqs[0]["problems"] == []
    assert reqs[0]["tool"] == "report_understanding"
    assert "4111" not in reqs[0]["raw"].decode(), "card numbers are redacted before they leave"
    msg = reqs[0]["user_json"]
    assert msg["state"] == "idle" and "[redacted]" in msg["message"]

    # the next message: the order, too expensive for the robot → a ticket
    llm.understand(intent="other", language="en", order_id="1003")
    say(gw, "sam", "order 1003")
    # each turn the model sums up the conversation so far
    llm.understand(intent="other", language="en", email="jordan@example.com",
                   summary="Customer says order 1003 arrived broken.",
                   next_action="Approve if the photo shows damage.")
    body = say(gw, "sam", "jordan@example.com")
    assert "T-0001" in texts(body), texts(body)
    reqs = llm.wait_for(3)
    # the conversation so far goes with it (customer and agent turns)
    hist = reqs[2]["user_json"]["history"]
    assert [h["from"] for h in hist][:2] == ["customer", "assistant"]
    assert all("4111" not in h["text"] for h in hist)
    ticket = redis.hgetall("rd:ticket:T-0001")
    assert ticket["reason"] == "policy"
    assert "Model summary (unverified): Customer says order 1003 arrived broken." in ticket[
        "suggested_action"], ticket
    assert ticket["suggested_action"].startswith("Check the order and the claim")
    assert rail_calls(redis) == 0

    assert metric(gw, "redress_llm_requests_total", '{outcome="ok"}') == 3
    assert metric(gw, "redress_llm_tokens_total", '{kind="prompt"}') == 360
    assert metric(gw, "redress_llm_tokens_total", '{kind="completion"}') == 120
    assert metric(gw, "redress_llm_latency_seconds_count") == 3


def test_anthropic_messages_format(gateway, redis_server, llm):
    gw = start(gateway, llm, provider="anthropic")
    llm.understand(intent="refund_request", language="pt", order_id="8421", reason="damaged")
    body = say(gw, "marina", "oi, o pedido 8421 veio todo zoado, quero meu dinheiro")
    assert names(gw, "test:marina") == ["ask_email"]
    assert "8421" in texts(body) and "e-mail" in texts(body)
    req = llm.wait_for(1)[0]
    assert req["provider"] == "anthropic" and req["problems"] == [], req["problems"]
    assert req["json"]["tool_choice"] == {"type": "tool", "name": "report_understanding"}
    state = json.loads(redis_server.client.hget("rd:conv:{test:marina}", "state"))
    assert state["reason"] == "damaged" and state["order_id"] == "8421"


# ------------------------------------------------------------- attempts

def test_an_injected_tool_call_moves_nothing_and_is_audited(gateway, redis_server, llm):
    """The model answers with a tool of its own: refund 500 to another order,
    to an account. Dropped, audited, and the deterministic flow goes on."""
    gw = start(gateway, llm)
    redis = redis_server.client
    llm.tool_call("refund_order", {"order_id": "1003", "amount": 50000,
                                   "destination": "acct 12345678"})
    body = say(gw, "alex", "Hi, I want a refund for order 1001")
    assert names(gw, "test:alex") == ["ask_email"]          # the built-in understanding
    assert "1001" in texts(body)
    attempts = audit(redis, "llm_attempt")
    assert len(attempts) == 1 and "refund_order" in attempts[0]["data"]["what"], attempts

    # an answer in our schema that names a payout field is an attempt too
    llm.understand(intent="yes", language="en", refund_to="acct 12345678")
    body = say(gw, "alex", "alex@example.com")
    assert "$49.00" in texts(body) and "1001" in texts(body)  # the policy's amount, the customer's order
    assert len(audit(redis, "llm_attempt")) == 2
    assert rail_calls(redis) == 0
    assert metric(gw, "redress_llm_requests_total", '{outcome="attempt"}') == 2
    assert not redis.exists("rd:order:1003:refunds")


def test_an_order_the_customer_did_not_name_or_an_amount_above_the_order_is_dropped(
        gateway, redis_server, llm):
    gw = start(gateway, llm)
    redis = redis_server.client
    # another order than the one written
    llm.understand(intent="refund_request", language="en", order_id="1003")
    say(gw, "alex", "Hi, I want a refund for order 1001")
    state = json.loads(redis.hget("rd:conv:{test:alex}", "state"))
    assert state["order_id"] == "1001"
    a = audit(redis, "llm_attempt")
    assert len(a) == 1 and a[0]["data"]["order_id"] == "1003"
    assert a[0]["data"]["what"] == "order id the customer did not write"

    # 500.00 on an order of 49.00: above what the policy could ever allow
    llm.understand(intent="refund_request", language="en", email="alex@example.com",
                   amount="500.00", currency="USD")
    body = say(gw, "alex", "alex@example.com, refund me")
    assert "$49.00" in texts(body) and "$500" not in texts(body)
    a = audit(redis, "llm_attempt")
    assert len(a) == 2 and a[1]["data"]["what"].startswith("amount above"), a
    assert a[1]["data"]["amount"] == 50000

    # "yes" from the model alone does not confirm: the question is asked again
    llm.understand(intent="yes", language="en")
    body = say(gw, "alex", "hmm whatever works for you I guess 🤷")
    assert names(gw, "test:alex")[-1] == "confirm_again", texts(body)
    assert rail_calls(redis) == 0
    # the customer's own yes does
    llm.understand(intent="yes", language="en")
    body = say(gw, "alex", "yes")
    assert "$49.00" in texts(body) and rail_calls(redis) == 1


# ------------------------------------------------------------- fallbacks

@pytest.mark.parametrize("script,outcome", [
    ({"raw": '{"choices": [{"message": {"tool_calls": [{"function": {"name": '
             '"report_understanding", "arguments": "{\\"intent\\": \\"refu'}, "invalid"),
    ({"raw": "<html>502 Bad Gateway</html>"}, "invalid"),
    ({"status": 429, "retry_after": 1}, "rate_limited"),
    ({"status": 500}, "error"),
    ({"status": 503}, "error"),
], ids=["truncated-json", "html", "429", "500", "503"])
def test_a_failing_model_falls_back_to_the_built_in_understanding(gateway, redis_server, llm,
                                                                  script, outcome):
    gw = start(gateway, llm)
    llm.fail(**script)
    t0 = time.monotonic()
    body = say(gw, "alex", "Hi, I want a refund for order 1001")
    assert time.monotonic() - t0 < 3
    assert names(gw, "test:alex") == ["ask_email"] and "1001" in texts(body)
    assert metric(gw, "redress_llm_requests_total", f'{{outcome="{outcome}"}}') == 1
    assert audit(redis_server.client, "llm_attempt") == []


def test_a_model_that_does_not_answer_in_time_is_not_waited_for(gateway, redis_server, llm):
    gw = start(gateway, llm, timeout_ms=500)
    llm.fail(status=200, raw="{}", delay=5)    # would answer after 5 s
    t0 = time.monotonic()
    body = say(gw, "alex", "Hi, I want a refund for order 1001")
    took = time.monotonic() - t0
    assert took < 2.5, f"the customer waited {took:.1f} s"
    assert names(gw, "test:alex") == ["ask_email"] and "1001" in texts(body)
    assert metric(gw, "redress_llm_requests_total", '{outcome="timeout"}') == 1
    # a dead model (nothing scripted: 503) changes nothing either
    body = say(gw, "alex", "alex@example.com")
    assert "$49.00" in texts(body)


# ------------------------------------------------------------- phrasing

def test_a_phrasing_that_changes_the_amount_is_rejected(gateway, redis_server, llm):
    gw = start(gateway, llm, phrase_replies="true")
    redis = redis_server.client
    llm.understand(intent="refund_request", language="en", order_id="1001")
    llm.phrase(["Happy to help with order {order}! What's the email on it?"])
    body = say(gw, "alex", "Hi, I want a refund for order 1001")
    assert texts(body) == "Happy to help with order 1001! What's the email on it?"
    req = llm.wait_for(2)[1]
    assert req["tool"] == "phrase_replies" and req["problems"] == []
    skeleton = req["user_json"]["replies"][0]
    assert "{order}" in skeleton and "1001" not in skeleton, "the model sees slots, not values"

    llm.understand(intent="other", language="en", email="alex@example.com")
    llm.phrase(["Great news: I can refund $500.00 for order {order} to your {rail}. Go ahead?"])
    body = say(gw, "alex", "alex@example.com")
    reply = body["replies"][0]
    assert "$49.00" in reply["text"] and "500" not in reply["text"]
    assert reply["text"].startswith("I can refund $49.00 for order 1001")   # the template's own text
    assert [b["id"] for b in reply["buttons"]] == ["confirm_yes", "confirm_no"]
    a = audit(redis, "llm_attempt")
    assert len(a) == 1 and a[0]["data"]["what"] == "phrasing of confirm_refund", a
    assert metric(gw, "redress_llm_requests_total", '{outcome="rejected"}') == 1
    assert rail_calls(redis) == 0


def test_no_phrasing_when_the_model_failed_this_turn(gateway, redis_server, llm):
    gw = start(gateway, llm, phrase_replies="true")
    llm.fail(status=500)
    llm.phrase(["never used {order}"])
    body = say(gw, "alex", "Hi, I want a refund for order 1001")
    assert "never used" not in texts(body)
    assert llm.pending() == 1 and len(llm.requests()) == 1


def test_enabled_without_a_model_stops_start_up(gateway):
    gw = gateway({"llm": {"enabled": "true", "provider": "anthropic"}}, start=False)
    with pytest.raises(GatewayError) as e:
        gw.start(timeout=5)
    assert "[llm] model: required when the LLM is enabled" in str(e.value)
