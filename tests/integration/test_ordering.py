"""One conversation's messages are handled in the order they were stored,
however many agent workers race for them (gateway/worker.c begin_script:
each inbound entry carries its conversation's number `s`, and a turn starts
only after `s - 1` was handled), a predecessor that never comes holds a
conversation up only briefly (ORDER_WAIT_MS), never for good, and a
conversation that cannot start holds up no other (its entries are parked
while the worker goes on)."""
import json
import threading
import time

from conftest import wait_for

BURST = 12


def stored(redis, user):
    """(message_id, s) of the user's entries in rd:inbound, in stream order
    (s None when an entry has no number)."""
    out = []
    for _, f in redis.xrange("rd:inbound"):
        m = json.loads(f["m"])
        if m["user"] == user:
            out.append((m["message_id"], int(f["s"]) if "s" in f else None))
    return out


def handled(redis, user):
    """message_id of the user's messages in their transcript, in the order
    the agent recorded them (one commit per turn)."""
    return [e["message_id"] for e in map(json.loads, redis.lrange(f"rd:tr:{{test:{user}}}", 0, -1))
            if e.get("dir") == "in"]


def burst(gw, user):
    """BURST messages to one user at once, each from its own thread; every
    one must get its reply."""
    statuses = [None] * BURST

    def send(i):
        statuses[i] = gw.send(user, f"hello {i}", message_id=f"{user}-{i}", timeout=30).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(BURST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * BURST


def test_a_burst_to_one_customer_is_handled_in_stored_order(gateway, redis_server):
    # four workers racing for the same conversations: without the numbering,
    # a burst like this came out of the agent reordered in every try
    gw = gateway({"gateway": {"workers": 4}})
    redis = redis_server.client
    users = [f"burst{u}" for u in range(4)]
    for user in users:
        burst(gw, user)
    for user in users:
        entries = stored(redis, user)
        assert handled(redis, user) == [mid for mid, _ in entries]
        assert [s for _, s in entries] == list(range(1, BURST + 1)), entries
        assert int(redis.get(f"rd:in:done:{{test:{user}}}")) == BURST
        assert 0 < redis.ttl(f"rd:in:seq:{{test:{user}}}") <= 7 * 86400
    assert "order_skipped" not in [e.get("event") for e in gw.log_events()]


def test_a_predecessor_that_never_comes_holds_the_conversation_up_briefly(gateway, redis_server):
    gw = gateway()
    redis = redis_server.client
    user = "gap"
    first = gw.send(user, "hello", message_id="gap-1")
    assert first.status_code == 200 and first.json()["replies"]
    (mid, s), = stored(redis, user)
    # number s + 1 is taken and its entry lost (as if its process died
    # between the two); s + 2 arrives
    assert redis.incr(f"rd:in:seq:{{test:{user}}}") == s + 1
    lost_next = redis.incr(f"rd:in:seq:{{test:{user}}}")
    entry = json.loads(next(f["m"] for _, f in redis.xrange("rd:inbound")
                            if json.loads(f["m"])["message_id"] == mid))
    entry["message_id"] = "gap-3"
    entry["text"] = "are you there?"
    redis.xadd("rd:inbound", {"m": json.dumps(entry), "c": "test:gap", "s": lost_next})
    wait_for(lambda: redis.exists("rd:done:test:gap-3"), 10, what="gap-3 handled")
    skipped = [e for e in gw.log_events() if e.get("event") == "order_skipped"]
    assert len(skipped) == 1 and "gap-3" in skipped[0]["msg"], skipped
    assert int(redis.get("rd:in:done:{test:gap}")) == lost_next
    # the conversation goes on in order, with no further wait
    nxt = gw.send(user, "still there?", message_id="gap-4")
    assert nxt.status_code == 200 and nxt.json()["replies"]
    assert handled(redis, user) == ["gap-1", "gap-3", "gap-4"]
    assert len([e for e in gw.log_events() if e.get("event") == "order_skipped"]) == 1


def test_a_busy_conversation_holds_up_no_other(gateway, redis_server):
    # three conversations locked by a turn whose process died (the lock
    # outlives it: here 4 s, LOCK_TTL_MS in life), more than there are
    # workers: each worker used to wait on one, and nobody else was answered
    gw = gateway({"gateway": {"workers": 2}, "test_channel": {"reply_timeout_ms": 200}})
    redis = redis_server.client
    busy = [f"busy{i}" for i in range(3)]
    for user in busy:
        redis.set(f"rd:lock:{{test:{user}}}", "gone-w0", px=4000)
    t0 = time.monotonic()
    for user in busy:
        for i in (1, 2):
            assert gw.send(user, f"hello {i}", message_id=f"{user}-{i}").status_code == 202
    free = gw.send("free", "hello", message_id="free-1", timeout=10)
    wait_for(lambda: redis.exists("rd:done:test:free-1"), 10, what="free-1 handled")
    assert time.monotonic() - t0 < 3.5, "the free conversation waited for the locked ones"
    assert free.status_code in (200, 202)
    assert not any(redis.exists(f"rd:done:test:{u}-1") for u in busy)
    # once the locks are gone, each waiting message is handled once, in order
    for user in busy:
        wait_for(lambda u=user: redis.exists(f"rd:done:test:{u}-2"), 15, what=f"{user} handled")
        assert handled(redis, user) == [f"{user}-1", f"{user}-2"]
    events = [e.get("event") for e in gw.log_events()]
    assert "order_skipped" not in events and "wait_gave_up" not in events
