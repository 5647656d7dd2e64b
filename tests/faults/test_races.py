"""Races: many requests for the same money at the same moment, from several
channels and two gateway processes on one Redis. Whatever wins, a refund is
paid once, the daily cap holds to the minor unit, and one click decides a
ticket."""
import collections
import json
import random
import threading

from conftest import import_demo_orders, wait_for
from rail_stubs import RAIL_ORDERS
from test_rails import CUSTOMERS, say
from test_slack import (BOSS, HIGH_CAPS, LEAD, escalate_on_test_channel, outs, review_click,
                        slack_overrides, wait_card)

from .helpers import (credit_notes, offer_wait, refund_orders, wa_id_of, wa_rails_gateway,
                      wa_step, wait_settled)
from .load import Load

ORDER = "2001"                     # $49.00 on the Stripe stub, alex2@example.com


def audit_kinds(redis):
    return collections.Counter(f["kind"] for _, f in redis.xrange("rd:audit"))


def run_all(fns):
    """Call every fn at once (each in its own thread, released together)."""
    gate = threading.Barrier(len(fns))
    errors = []

    def go(fn):
        try:
            gate.wait(10)
            fn()
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=go, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


def test_100_concurrent_refunds_of_one_order_pay_once(rails, rails_gateway, graph, redis_server):
    redis, stripe = redis_server.client, rails.stripe
    order = next(o for o in RAIL_ORDERS if o["id"] == ORDER)
    gws = [wa_rails_gateway(rails_gateway, graph, [order]) for _ in range(2)]
    email = CUSTOMERS[ORDER][1]
    users = [f"race{i:02d}" for i in range(99)]
    # 99 test-channel conversations (alternating gateways) and the owner on
    # WhatsApp each get the offer for the same $49.00 …
    for i, u in enumerate(users):
        gw = gws[i % 2]
        say(gw, u, f"Hi, I want a refund for order {ORDER}")
        offer = say(gw, u, email)
        assert "$49.00" in " ".join(r["text"] for r in offer["replies"]), offer
    wa = wa_id_of(order)
    ask = wa_step(wa, f"Hi, I want a refund for order {ORDER}")
    assert gws[1].post(ask.path, ask.body, headers=ask.headers).status_code == 200
    offer_wait(graph, wa, 20)()
    # … and all 100 say yes at once
    yes_wa = wa_step(wa, button="confirm_yes")
    fns = [lambda u=u, i=i: say(gws[i % 2], u, button="confirm_yes", ok=(200, 202))
           for i, u in enumerate(users)]
    fns.append(lambda: gws[0].post(yes_wa.path, yes_wa.body, headers=yes_wa.headers))
    run_all(fns)
    wait_settled(redis, 60)

    creates = stripe.creates()
    assert len(stripe.refunds()) == 1, stripe.summary()
    assert len({c["idempotency_key"] for c in creates}) == 1, stripe.summary()
    notes = credit_notes(redis)
    assert len(notes) == 1 and notes[0]["amount"] == "4900", notes
    assert int(redis.hget(f"rd:order:{ORDER}", "refunded")) == 4900
    kinds = audit_kinds(redis)
    assert kinds["refund"] == 1 and kinds["credit_note"] == 1, kinds
    day = [int(redis.get(k)) for k in redis.scan_iter("rd:mandate:day:USD:*")]
    assert day == [4900], day
    told = sum(1 for u in users for t in outs(gws[0], f"test:{u}") if "NC-0001" in t)
    told += sum(1 for r in graph.sends(ok=True, to=wa) if "NC-0001" in (json.dumps(r["json"])))
    assert told == 1, f"{told} customers were told of the one credit note"
    print(f"\nFAULTS race-same-order: requests=100, gateways=2, channels=test+whatsapp, "
          f"rail_calls={len(creates)}, refunds_paid=1, credit_notes=1, told=1")


N_SMALL = 1000
CAP = 30000                        # USD 300.00 a day


def test_1000_concurrent_small_refunds_never_pass_the_daily_cap(rails_gateway, graph,
                                                                 redis_server):
    redis = redis_server.client
    rng = random.Random(8)
    amounts = [rng.randrange(101, 1000) for _ in range(N_SMALL)]    # $1.01 … $9.99
    orders = refund_orders(N_SMALL, first_id=5001, provider="sandbox", totals=amounts,
                           phone_prefix="1415888")
    gw = wa_rails_gateway(rails_gateway, graph, orders,
                          gateway={"mandate": {"per_refund_cap": "USD 150.00",
                                               "daily_cap": f"USD {CAP // 100}.00"}})
    asks = Load(gw.url, [[wa_step(wa_id_of(o), f"Hi, I want a refund for order {o['id']}")]
                         for o in orders], threads=16, deadline_s=120).start()
    assert not asks.join()
    graph.wait_until(lambda recs: sum(1 for r in recs if r["kind"] == "send" and r["ok"]
                                      and (r["json"] or {}).get("type") == "interactive")
                     >= N_SMALL, 120, what="every offer sent")
    yes = Load(gw.url, [[wa_step(wa_id_of(o), button="confirm_yes")] for o in orders],
               threads=32, deadline_s=120).start()
    assert not yes.join()
    wait_settled(redis, 150)

    paid = {}
    for k in redis.scan_iter("rd:refund:*"):
        h = redis.hgetall(k)
        if h.get("status") == "succeeded":
            paid[h["order_id"]] = int(h["amount"])
    total = sum(paid.values())
    day = sum(int(redis.get(k)) for k in redis.scan_iter("rd:mandate:day:USD:*"))
    tickets = [redis.hgetall(k) for k in redis.scan_iter("rd:ticket:T-*")]
    over_daily = [t for t in tickets if "over_daily" in json.dumps(t)]
    assert total <= CAP, f"refunded {total} > cap {CAP}"
    assert day == total, f"mandate day total {day} != refunded {total}"
    assert int(redis.get("rd:sandbox:refunds") or 0) == len(paid)
    assert len(paid) + len(over_daily) == N_SMALL, (len(paid), len(over_daily), len(tickets))
    escalated_amounts = [int(t["amount"]) for t in over_daily]
    assert CAP - total < min(escalated_amounts), "a refund that fitted under the cap escalated"
    print(f"\nFAULTS race-daily-cap: requests={N_SMALL}, paid={len(paid)}, sum={total}, "
          f"cap={CAP}, headroom={CAP - total}, escalated={len(over_daily)}, "
          f"smallest_escalated={min(escalated_amounts)}")


def test_two_reviewers_approving_at_once_refund_once(slack, gateway, redis_server):
    redis = redis_server.client
    over = slack_overrides(slack, {"mandate": HIGH_CAPS})
    gws = [gateway(over), gateway(over)]
    import_demo_orders(gws[0])
    escalate_on_test_channel(gws[0])
    card = wait_card(slack)
    run_all([lambda: review_click(gws[0], slack, card, "review_approve", user=LEAD),
             lambda: review_click(gws[1], slack, card, "review_approve", user=BOSS)])
    wait_settled(redis, 30)
    wait_for(lambda: redis.hget("rd:ticket:T-0001", "status") == "approved", 10,
             what="ticket approved")
    assert int(redis.get("rd:sandbox:refunds") or 0) == 1
    assert len(credit_notes(redis)) == 1
    assert redis.hget("rd:ticket:T-0001", "decided_by") in (LEAD, BOSS)
    kinds = audit_kinds(redis)
    assert kinds["refund"] == 1 and kinds["review_decision"] == 1, kinds
    told = [t for t in outs(gws[0], "test:jordan") if "NC-0001" in t]
    assert len(told) == 1, told
    print("\nFAULTS race-two-approvals: clicks=2, gateways=2, refunds_paid=1, credit_notes=1, "
          "decisions=1")
