"""Dialog behaviour beyond the happy path, and the process lifecycle."""
import signal
import threading

import pytest

from conftest import import_demo_orders, run_cli, wait_for
from test_refund_flow import buttons, rail_calls, say, texts


@pytest.fixture
def gw(gateway):
    g = gateway()
    import_demo_orders(g)
    return g


def test_talk_to_a_human_opens_a_ticket_from_the_middle_of_a_flow(gw, redis_server):
    redis = redis_server.client
    say(gw, "ana", "I want a refund for order 1001")
    body = say(gw, "ana", "actually, can I talk to a human please?")
    assert "T-0001" in texts(body)
    assert redis.hgetall("rd:ticket:T-0001")["reason"] == "customer_request"
    assert gw.conversation("test:ana").json()["state"]["state"] == "escalated"


def test_nonsense_gets_a_helpful_fallback_and_changes_nothing(gw, redis_server):
    body = say(gw, "zed", "qwfp zxcv")
    assert "order" in texts(body).lower()
    assert buttons(body) == []
    assert gw.conversation("test:zed").json()["state"]["state"] == "idle"


def test_a_new_request_in_the_middle_replaces_the_offer(gw, redis_server):
    say(gw, "alex", "refund for order 1001")
    offer = say(gw, "alex", "alex@example.com")
    assert "1001" in texts(offer) and buttons(offer)
    # before answering, Alex names another order: it is verified afresh (it
    # is Noah's, so it is not found) and the first offer is gone
    other = say(gw, "alex", "sorry, I meant order 1011")
    assert buttons(other) == []
    assert "24.99" not in texts(other)
    state = gw.conversation("test:alex").json()["state"]
    assert state["state"] == "await_order" and state["offer_key"] == ""
    say(gw, "alex", "yes")
    assert rail_calls(redis_server.client) == 0


def test_saying_no_refunds_nothing(gw, redis_server):
    say(gw, "alex", "refund for order 1001")
    say(gw, "alex", "alex@example.com")
    body = say(gw, "alex", "no")
    assert buttons(body) == []
    assert rail_calls(redis_server.client) == 0
    assert gw.conversation("test:alex").json()["state"]["state"] == "idle"


def test_refund_status_after_a_refund(gw, redis_server):
    say(gw, "alex", "refund for order 1001")
    say(gw, "alex", "alex@example.com")
    say(gw, "alex", button="confirm_yes")
    body = say(gw, "alex", "where is my refund?")
    assert "$49.00" in texts(body) and "NC-0001" in texts(body)


def test_a_second_refund_of_the_same_order_is_denied(gw, redis_server):
    redis = redis_server.client
    say(gw, "alex", "refund for order 1001")
    say(gw, "alex", "alex@example.com")
    say(gw, "alex", button="confirm_yes")
    # the identity stays verified in this conversation; the order is spent
    again = say(gw, "alex", "I want a refund for order 1001 again")
    assert buttons(again) == []
    assert "already" in texts(again).lower()
    assert int(redis.get("rd:sandbox:refunds")) == 1


def test_sigterm_drains_and_exits_zero(gw, redis_server):
    redis = redis_server.client
    results = []

    def ask():
        results.append(gw.send("alex", "refund for order 1001", message_id="m-term-1"))

    t = threading.Thread(target=ask)
    t.start()
    wait_for(lambda: redis.exists("rd:dedupe:test:m-term-1"), 5, what="the message to be stored")
    assert gw.kill(signal.SIGTERM) == 0
    t.join(10)
    assert results and results[0].status_code in (200, 202)
    # nothing acknowledged was lost: answered now, or on the next start
    if not redis.exists("rd:done:test:m-term-1"):
        gw.restart()
        wait_for(lambda: redis.exists("rd:done:test:m-term-1"), 10, what="processing after restart")
    assert redis.xlen("rd:outbox") == 1


def test_missing_template_stops_start_up(gateway, tmp_path):
    import shutil
    from conftest import REPO
    tdir = tmp_path / "templates"
    shutil.copytree(REPO / "templates", tdir)
    (tdir / "es" / "refunded.txt").unlink()
    gw = gateway({"templates": {"dir": str(tdir)}}, start=False)
    r = run_cli("serve", config=gw)
    assert r.returncode != 0
    assert "es/refunded.txt" in r.stderr


def test_a_resend_while_the_original_is_in_flight_gets_the_same_answer(gateway, redis_server):
    redis = redis_server.client
    gw = gateway()
    import_demo_orders(gw)
    redis.set("rd:lock:{test:alex}", "held-by-test", px=30000)  # the agent cannot finish yet
    results = {}

    def send(name):
        results[name] = gw.send("alex", "refund for order 1001", message_id="m-twice")

    first = threading.Thread(target=send, args=("first",))
    first.start()
    wait_for(lambda: redis.exists("rd:dedupe:test:m-twice"), 5, what="the first copy stored")
    second = threading.Thread(target=send, args=("second",))
    second.start()
    wait_for(lambda: redis.xpending("rd:inbound", "agents")["pending"] == 1, 5,
             what="the worker to hold the message")
    redis.delete("rd:lock:{test:alex}")
    first.join(10)
    second.join(10)
    a, b = results["first"], results["second"]
    assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
    assert a.json()["replies"] == b.json()["replies"]
    assert redis.xlen("rd:inbound") == 1 and redis.xlen("rd:outbox") == 1


def test_two_conversations_confirming_the_same_refund_pay_once(gw, redis_server):
    """Alex opens two chats on the same order; both get the offer; the first
    yes refunds, the second is told the truth (already refunded) at once."""
    redis = redis_server.client
    for user in ("alex", "alex-again"):
        say(gw, user, "refund for order 1001")
        offer = say(gw, user, "alex@example.com")
        assert buttons(offer) == ["confirm_yes", "confirm_no"]
    first = say(gw, "alex", button="confirm_yes")
    assert "NC-0001" in texts(first)
    second = say(gw, "alex-again", button="confirm_yes")
    assert "already" in texts(second).lower(), texts(second)
    assert int(redis.get("rd:sandbox:refunds")) == 1
    assert redis.xpending("rd:inbound", "agents")["pending"] == 0
    assert not redis.exists("rd:cn:NC-0002")
