"""A rail that answers 500, times out, keeps failing or hangs (the Stripe
and Pix stubs): the refund is retried with the same idempotency key and paid
once; after [rails] max_attempts deliveries without an answer a person gets
a ticket and the customer is told; a hung rail never blocks other
conversations (one worker always stays out of rail calls)."""
import threading
import time

import pytest

from test_rails import (CARD_ORDER, CUSTOMERS, PIX_ORDER, after_offer, refund_and_confirm, say,
                        wait_out)


def keys_of(reqs):
    return {r["idempotency_key"] for r in reqs}


def test_rail_500s_then_answers_pays_once_with_one_key(rails, rails_gateway, redis_server):
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    stripe.fail_next(status=500, times=3)
    refund_and_confirm(gw, CARD_ORDER)
    wait_out(gw, CARD_ORDER, lambda t: "NC-0001" in t, 20, "the credit note")
    creates = stripe.creates()
    assert [c["status"] for c in creates] == [500, 500, 500, 200], stripe.summary()
    assert len(keys_of(creates)) == 1 and None not in keys_of(creates)
    assert len(stripe.refunds()) == 1
    key = keys_of(creates).pop()
    assert redis.hget(f"rd:refund:{key}", "status") == "succeeded"
    assert redis.hget(f"rd:mandate:resv:{key}", "state") == "committed"
    assert not redis.exists("rd:cn:NC-0002")
    sent = after_offer(gw, CARD_ORDER)
    assert len(sent) == 2, f"told once, not once per attempt: {sent}"


def test_rail_timeout_is_retried_with_the_same_key_and_pays_once(rails, rails_gateway,
                                                                  redis_server):
    """The provider makes the refund but its answer comes after our 500 ms
    timeout, twice: the retries (same key) meet Stripe's 409 'key in use',
    then the saved answer."""
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway()
    stripe.hang_next(2.5, times=1)
    refund_and_confirm(gw, CARD_ORDER)
    wait_out(gw, CARD_ORDER, lambda t: "NC-0001" in t, 25, "the credit note")
    creates = stripe.creates()
    assert len(creates) >= 2, stripe.summary()
    assert len(keys_of(creates)) == 1, stripe.summary()
    assert len(stripe.refunds()) == 1, stripe.summary()
    key = keys_of(creates).pop()
    assert redis.hget(f"rd:refund:{key}", "status") == "succeeded"
    print(f"\nFAULTS rail-timeout: attempts={len(creates)}, keys=1, refunds_paid=1")


@pytest.mark.parametrize("rail", ["stripe-500", "pix-409"])
def test_a_rail_that_never_answers_goes_to_a_person_after_max_attempts(rails, rails_gateway,
                                                                       redis_server, rail):
    redis = redis_server.client
    gw = rails_gateway({"rails": {"max_attempts": "3"}})
    if rail == "stripe-500":
        stub, order, kind = rails.stripe, CARD_ORDER, "create"
        stub.fail_next(status=500, times=1000)
    else:
        stub, order, kind = rails.pix, PIX_ORDER, "put"
        stub.fail_next(status=409, times=1000, kind="put")
    refund_and_confirm(gw, order)
    # three deliveries, then a ticket and a word to the customer
    told = wait_out(gw, order, lambda t: "T-0001" in t, 30, "the escalation")
    tk = redis.hgetall("rd:ticket:T-0001")
    assert tk["status"] == "open" and tk["order_id"] == order, tk
    assert "rail_unavailable" in str(tk), tk
    calls = stub.requests(kind=kind)
    assert len(calls) == 3, stub.summary()
    if kind == "create":
        assert len(keys_of(calls)) == 1, stub.summary()
    else:
        assert len({r["path"] for r in calls}) == 1, stub.summary()  # the devolução id is the key
    key = next(iter(redis.hgetall("rd:ticket:bykey").keys()), None)
    assert key
    resv = [redis.hgetall(k) for k in redis.scan_iter("rd:mandate:resv:*")]
    assert [r["state"] for r in resv] == ["reserved"], \
        f"the outcome is unknown: the reservation must stay held: {resv}"
    unknown = [e for e in redis.xrange("rd:audit") if e[1]["kind"] == "refund_unknown"]
    assert len(unknown) == 1, unknown
    # nothing retries any more: the message was done with
    time.sleep(2.5)                      # two claim rounds (claim_idle_ms 1 s)
    assert len(stub.requests(kind=kind)) == 3, stub.summary()
    assert sum(1 for t in after_offer(gw, order) if "T-0001" in t) == 1, told
    print(f"\nFAULTS rail-never-answers[{rail}]: attempts={len(calls)}, keys=1, refunds_paid=0, "
          f"ticket=T-0001, reservation=reserved")


def test_a_hung_rail_does_not_block_other_conversations(rails, rails_gateway, redis_server):
    """Stripe holds every answer 20 s; our timeout is 6 s and the test
    channel waits 5 s for a reply. Two customers confirm card refunds (as
    many as there are workers) while twenty others say hello: every hello is
    answered in time."""
    stripe = rails.stripe
    gw = rails_gateway({"rails.stripe": {"timeout_ms": "6000"}})
    stripe.hang_next(20, times=50)
    for order in (CARD_ORDER, "2005"):
        user, email, locale = CUSTOMERS[order]
        say(gw, user, f"Hi, I want a refund for order {order}")
        say(gw, user, email)
    yes = [threading.Thread(target=say, args=(gw, CUSTOMERS[o][0]),
                            kwargs={"button": "confirm_yes", "ok": (200, 202)})
           for o in (CARD_ORDER, "2005")]
    for t in yes:
        t.start()
    stripe.wait_for("create", 1, timeout=10)
    started = time.monotonic()
    slow = []
    for i in range(20):
        t0 = time.monotonic()
        r = gw.send(f"bystander{i}", "hello", timeout=10)
        took = time.monotonic() - t0
        if r.status_code != 200:
            slow.append((i, r.status_code, round(took, 2)))
    hung_for = time.monotonic() - started
    for t in yes:
        t.join(15)
    assert not slow, f"answers that waited for the hung rail: {slow}"
    # the rail was asked once at a time (one slot): the other confirmation waited
    assert len({r["idempotency_key"] for r in stripe.creates()}) <= 2
    print(f"\nFAULTS hung-rail: bystanders=20, answered_in_time=20, rail_hung_s=20, "
          f"checked_for_s={hung_for:.1f}")
