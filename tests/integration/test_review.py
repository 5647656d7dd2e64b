"""Review tickets without any review channel: expiry by the sweeper."""
import json
import time

from conftest import import_demo_orders, wait_for
from test_refund_flow import say, texts


def escalate_jordan(gw):
    say(gw, "jordan", "I'd like my money back for order #1003")
    body = say(gw, "jordan", "jordan@example.com")
    assert "T-0001" in texts(body)


def test_an_expired_ticket_is_closed_and_the_customer_told(gateway, redis_server):
    redis = redis_server.client
    gw = gateway({"review": {"ttl_days": "7", "sweep_interval_s": "1"}})
    import_demo_orders(gw)
    escalate_jordan(gw)
    say(gw, "marina", "Oi, quero reembolso do pedido 8421")  # a second, fresh conversation
    assert redis.zscore("rd:tickets:open", "T-0001") is not None
    # the ticket was opened eight days ago
    eight_days_ago = int(time.time()) - 8 * 86400
    redis.hset("rd:ticket:T-0001", "created_at", eight_days_ago)
    redis.zadd("rd:tickets:open", {"T-0001": eight_days_ago})

    wait_for(lambda: redis.hget("rd:ticket:T-0001", "status") == "expired", 10,
             what="the sweeper to expire the ticket")
    assert redis.zscore("rd:tickets:open", "T-0001") is None
    transcript = gw.conversation("test:jordan").json()["transcript"]
    assert transcript[-1]["dir"] == "out" and transcript[-1]["template"] == "review_expired"
    assert "1003" in transcript[-1]["text"]
    expiries = [json.loads(f["data"]) for _, f in redis.xrange("rd:audit")
                if f["kind"] == "review_expired"]
    assert len(expiries) == 1 and expiries[0]["ticket"] == "T-0001"
    assert int(redis.get("rd:sandbox:calls") or 0) == 0
    # swept once, not on every pass
    time.sleep(2.5)
    assert len([1 for _, f in redis.xrange("rd:audit") if f["kind"] == "review_expired"]) == 1


def test_a_fresh_ticket_is_left_alone(gateway, redis_server):
    redis = redis_server.client
    gw = gateway({"review": {"ttl_days": "7", "sweep_interval_s": "1"}})
    import_demo_orders(gw)
    escalate_jordan(gw)
    time.sleep(2.5)  # a couple of sweeps
    assert redis.hget("rd:ticket:T-0001", "status") == "open"
