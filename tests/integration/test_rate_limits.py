"""Rate limits (FAULTS.md "Rate limits", agent/limits.h, gateway/iplimit.h).

Per customer ([limits] customer_messages_per_minute, counted in Redis): on
every channel a customer past the budget is still acknowledged and kept in
the transcript, the agent does not act on the excess (no offer, no refund),
the customer is told once, politely, in their language, and another
customer is unaffected. Per address ([limits] ip_requests_per_minute,
in-process): the test channel answers 429 with Retry-After, the web chat an
error frame the widget shows — and the WhatsApp and Slack webhooks, which
bring every customer from one source, are never limited.

Real gateway, real redis-server, the Graph and Slack stubs; every wait is
bounded."""
import pytest
from websockets.exceptions import ConnectionClosed

from conftest import REPO, import_demo_orders, wait_for
from graph_stub import PHONE_NUMBER_ID, button_ids, graph, message_text  # noqa: F401 (fixture)
from slack_stub import BOT_TOKEN, slack  # noqa: F401 (fixture)
from test_refund_flow import buttons, rail_calls, refunds_created, say
from test_slack import SIGNING_SECRET, event_payload, post_event
from test_webchat import Chat, chat_config, webchat_messages
from test_whatsapp import (ACCESS_TOKEN, APP_SECRET, LUCIA, MARINA, VERIFY_TOKEN, new_wamid,
                           payload, post_webhook)

STEP = 10  # s: the bound of every wait


def polite(locale):
    """The rate_limited template as a customer reads it."""
    return (REPO / "templates" / locale / "rate_limited.txt").read_text(encoding="utf-8").strip()


def limits(customer=None, ip=None):
    kv = {}
    if customer is not None:
        kv["customer_messages_per_minute"] = customer
    if ip is not None:
        kv["ip_requests_per_minute"] = ip
    return {"limits": kv}


def transcript(gw, cid):
    r = gw.conversation(cid)
    assert r.status_code == 200, r.text
    return r.json()["transcript"]


def out_templates(gw, cid):
    return [e.get("template") for e in transcript(gw, cid) if e.get("dir") == "out"]


def ins(gw, cid):
    return [e for e in transcript(gw, cid) if e.get("dir") == "in"]


def processed(redis):
    """Every inbound message handled and every reply sent."""
    groups = {g["name"]: g for s in ("rd:inbound", "rd:outbox") for g in redis.xinfo_groups(s)}
    return all(g["pending"] == 0 for g in groups.values()) and \
        groups["agents"]["last-delivered-id"] == redis.xinfo_stream("rd:inbound")["last-generated-id"]


def wa_config(stub, **sections):
    return {"whatsapp": {"enabled": "true", "verify_token": VERIFY_TOKEN, "app_secret": APP_SECRET,
                         "access_token": ACCESS_TOKEN, "phone_number_id": PHONE_NUMBER_ID,
                         "graph_api_base": stub.base_url}, **sections}


def slack_config(stub, **sections):
    return {"slack": {"enabled": "true", "signing_secret": SIGNING_SECRET, "bot_token": BOT_TOKEN,
                      "api_base": stub.api_base, "timeout_ms": 5000}, **sections}


def wa_text(text, wa_id=MARINA):
    """Meta's webhook for one text message from wa_id."""
    body = payload("text.json", WAMID=new_wamid(wa_id))
    body = body.replace(b"Oi, quero reembolso do pedido 8421", text.encode())
    return body.replace(MARINA.encode(), wa_id.encode())


def dm(text, user, channel):
    return event_payload("message_im.json", text=text, user=user, event={"channel": channel})


# ---------------------------------------------------------------- per customer

def test_test_channel_customer_past_the_budget_is_told_once_and_not_acted_on(gateway, redis_server):
    gw = gateway({**limits(customer=2), "test_channel": {"reply_timeout_ms": 1500}})
    import_demo_orders(gw)
    redis = redis_server.client
    say(gw, "alex", "refund for order 1001")
    offer = say(gw, "alex", "alex@example.com")
    assert buttons(offer) == ["confirm_yes", "confirm_no"], offer
    # the third message says yes to the offer: past the budget, nothing is paid
    over = say(gw, "alex", button="confirm_yes")
    assert [r["text"] for r in over["replies"]] == [polite("en")], over
    assert buttons(over) == []
    # the fourth: kept, answered with silence this window (the customer was told)
    r = gw.send("alex", "refund for order 1001 please")
    assert r.status_code == 202 and r.json().get("pending") is True, r.text
    wait_for(lambda: processed(redis), STEP, what="the fourth message handled")
    assert refunds_created(redis) == 0 and rail_calls(redis) == 0
    assert out_templates(gw, "test:alex") == ["ask_email", "confirm_refund", "rate_limited"]
    assert len(ins(gw, "test:alex")) == 4, "every message is kept in the transcript"
    state = gw.conversation("test:alex").json()["state"]
    assert state["state"] == "await_confirm", "the dialog did not move past the budget"
    # another customer is unaffected
    other = say(gw, "sam", "refund for order 1001")
    assert "email" in other["replies"][0]["text"].lower(), other
    assert out_templates(gw, "test:sam") == ["ask_email"]


def test_whatsapp_customer_past_the_budget_gets_one_polite_reply_and_meta_always_200(
        gateway, graph, redis_server):  # noqa: F811
    gw = gateway(wa_config(graph, **limits(customer=2)))
    import_demo_orders(gw)
    redis = redis_server.client
    texts = ["Oi, quero reembolso do pedido 8421", "oi", "quero reembolso do pedido 8421", "sim"]
    for i, text in enumerate(texts):
        r = post_webhook(gw, wa_text(text))
        assert r.status_code == 200, (text, r.status_code, r.text)
        if i < 3:  # in order: each answered before the next
            graph.wait_for_sends(i + 1, timeout=STEP, ok=True, to=MARINA)
    assert post_webhook(gw, wa_text("Hola, quiero un reembolso del pedido 1012", LUCIA)).status_code == 200
    graph.wait_for_sends(1, timeout=STEP, ok=True, to=LUCIA)
    wait_for(lambda: processed(redis), STEP, what="every message handled")
    to_marina = graph.sends(to=MARINA)
    assert len(to_marina) == 3, [message_text(s) for s in to_marina]
    assert message_text(to_marina[2]) == polite("pt-BR"), message_text(to_marina[2])
    outs = out_templates(gw, f"whatsapp:{MARINA}")
    assert outs[0] == "confirm_refund" and outs[2:] == ["rate_limited"], outs
    assert outs.count("confirm_refund") == 1, "the new request past the budget got no offer"
    assert len(ins(gw, f"whatsapp:{MARINA}")) == 4
    assert refunds_created(redis) == 0
    # Lucía, another customer on the same webhook, is answered as usual
    assert button_ids(graph.sends(to=LUCIA)[0]), "Lucía gets her offer"


def test_slack_user_past_the_budget_gets_one_polite_reply(gateway, slack, redis_server):  # noqa: F811
    gw = gateway(slack_config(slack, **limits(customer=2)))
    import_demo_orders(gw)
    redis = redis_server.client
    in_dm = lambda ch: lambda rec: rec["channel"] == ch  # noqa: E731
    for i, text in enumerate(["refund for order 1001", "hello", "refund for order 1001", "hi"]):
        assert post_event(gw, dm(text, "U0ALEX", "D0ALEX")).status_code == 200
        if i < 3:
            slack.wait_for("chat.postMessage", i + 1, timeout=STEP, ok=True, pred=in_dm("D0ALEX"))
    assert post_event(gw, dm("refund for order 1001", "U0JORDAN", "D0JORDAN")).status_code == 200
    slack.wait_for("chat.postMessage", 1, timeout=STEP, ok=True, pred=in_dm("D0JORDAN"))
    wait_for(lambda: processed(redis), STEP, what="every message handled")
    to_alex = slack.calls("chat.postMessage", pred=in_dm("D0ALEX"))
    assert len(to_alex) == 3, [r["args"].get("text") for r in to_alex]
    assert to_alex[2]["args"]["text"] == polite("en"), to_alex[2]["args"]
    assert [r["args"].get("text") for r in slack.calls("chat.postMessage", pred=in_dm("D0JORDAN"))] \
        != [polite("en")]
    assert len(ins(gw, "slack:T0SHOP:D0ALEX")) == 4


def test_web_chat_session_budget_survives_a_reconnect(gateway, redis_server):
    gw = gateway({**chat_config(), **limits(customer=2)})
    import_demo_orders(gw)
    redis = redis_server.client
    with Chat(gw) as chat:
        token = chat.hello(locale="es")["session"]
        mids = [chat.message(t) for t in ("Hola, quiero un reembolso del pedido 1012", "gracias",
                                          "quiero un reembolso del pedido 1012", "hola?")]
        for mid in mids:
            chat.ack(mid)  # every one stored
        replies = chat.replies_until(lambda rs: len(rs) >= 3)
        assert replies[2]["text"] == polite("es"), replies
        assert not [f for f in chat.quiet(1.0) if f["type"] == "reply"], "the fourth gets no answer"
    with Chat(gw) as again:  # the same session: the same budget
        again.hello(session=token, locale="es")
        again.ack(again.message("sigo aquí"))
        assert not [f for f in again.quiet(1.0) if f["type"] == "reply"]
    wait_for(lambda: processed(redis), STEP, what="every message handled")
    assert len(webchat_messages(redis)) == 5
    cid = webchat_messages(redis)[0]["conversation_id"]
    assert out_templates(gw, cid).count("rate_limited") == 1
    with Chat(gw) as other:  # a new session is another customer
        other.hello(locale="es")
        other.ack(other.message("Hola, quiero un reembolso del pedido 1012"))
        assert other.expect("reply")["text"] != polite("es")


def test_zero_turns_the_customer_budget_off(gateway, redis_server):
    gw = gateway(limits(customer=0))
    import_demo_orders(gw)
    for i in range(6):
        body = say(gw, "alex", "hello")
        assert body["replies"][0]["text"] != polite("en"), (i, body)
    assert not redis_server.client.keys("rd:limit:*")


# ---------------------------------------------------------------- per address

def test_test_channel_answers_429_with_retry_after_past_the_address_budget(gateway, redis_server):
    gw = gateway(limits(ip=3))
    import_demo_orders(gw)
    redis = redis_server.client
    assert gw.send("ana", "hello").status_code == 200
    assert gw.send("bob", "hello", key="wrong").status_code == 401  # counted too
    assert gw.send("cid", "hello").status_code == 200
    before = redis.xlen("rd:inbound")
    r = gw.send("dan", "hello")
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 60, r.headers
    assert "too many requests" in r.json()["error"] and "please wait" in r.json()["error"], r.text
    assert redis.xlen("rd:inbound") == before, "nothing stored"
    assert gw.get("/healthz").status_code == 200, "other endpoints are not limited"


def test_web_chat_address_budget_errors_then_refuses_sockets(gateway, redis_server):
    gw = gateway({**chat_config(), **limits(ip=4)})
    redis = redis_server.client
    with Chat(gw) as chat:                       # 1: the connect
        chat.hello()                             # 2
        chat.ack(chat.message("hello"))          # 3
        chat.ack(chat.message("hello again"))    # 4
        late = chat.message("and again")         # 5: over
        err = chat.expect("error")
        assert err["code"] == "rate_limited" and "please wait" in err["reason"], err
        assert not [f for f in chat.quiet(0.5) if f["type"] == "ack" and f.get("id") == late]
    assert len(webchat_messages(redis)) == 2
    with Chat(gw) as refused:  # a new socket: told why, then closed (1013 try again later)
        err = refused.expect("error")
        assert err["code"] == "rate_limited", err
        with pytest.raises(ConnectionClosed) as closed:
            refused.quiet(0)  # nothing pending
            refused._run(refused.ws.recv(), STEP)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013, closed.value


def test_platform_webhooks_from_one_address_are_never_limited(gateway, graph, slack, redis_server):  # noqa: F811
    gw = gateway({**wa_config(graph), **slack_config(slack), **limits(ip=1)})
    redis = redis_server.client
    n = 8
    wa_ids = [f"55119000000{i:02d}" for i in range(n)]
    for wa_id in wa_ids:
        r = post_webhook(gw, wa_text("oi", wa_id))
        assert r.status_code == 200, r.text
    for i in range(n):
        r = post_event(gw, dm("hello", f"U0CUST{i}", f"D0CUST{i}"))
        assert r.status_code == 200, r.text
    assert redis.xlen("rd:inbound") == 2 * n, "every customer's message stored"
    for wa_id in wa_ids:
        sent = graph.wait_for_sends(1, timeout=STEP, ok=True, to=wa_id)
        assert message_text(sent[0]) != polite("pt-BR")
    for i in range(n):
        got = slack.wait_for("chat.postMessage", 1, timeout=STEP, ok=True,
                             pred=lambda rec, ch=f"D0CUST{i}": rec["channel"] == ch)
        assert got[0]["args"]["text"] != polite("en")
    # the address budget is on: the test channel from here is past it
    assert gw.send("ana", "hello").status_code == 200
    assert gw.send("ana", "hello").status_code == 429
