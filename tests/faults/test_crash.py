"""The gateway killed (kill -9) or stopped (SIGTERM) under load: a few
thousand signed WhatsApp webhooks from ~150 customers, some of them in the
middle of a refund on the Stripe stub. A platform resends what was not
acknowledged (load.py does), so after a restart every acknowledged message
must be processed, and nothing may happen twice in effect: counted at the
Graph stub (replies), the Stripe stub (refunds, per idempotency key), in
Redis (credit notes, audit entries per message)."""
import collections
import json
import signal
import threading
import time

import requests
from conftest import run_cli, wait_for
from test_rails import CARD_ORDER, CUSTOMERS, after_offer, say, wait_out

from .helpers import (audit_by_message, backlog, chat_script, chat_users, credit_notes,
                    inbound_ids, refund_orders, refund_script, sends_by_user, unprocessed,
                    wa_id_of, wa_rails_gateway, wait_settled)
from .load import Load

N_CHAT, PER_CHAT = 70, 20           # 1,400 greetings
N_REFUND = 40                       # + 80 messages: ask, then Yes after the offer
SETTLE_TIMEOUT = 120                # s: the backlog drained after the restart


def report(name, **figures):
    """One line the FAULTS.md figures are copied from (pytest -s shows it)."""
    print(f"\nFAULTS {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


class Loads:
    """The chat customers (24 threads) and the refund customers (one thread
    each: they wait for their offer) as one load."""

    def __init__(self, gw, graph, orders, n_chat=N_CHAT):
        self.refunds = Load(gw.url, [refund_script(graph, o) for o in orders],
                            threads=len(orders), deadline_s=240)
        self.chat = Load(gw.url, [chat_script(u, PER_CHAT) for u in chat_users(n_chat)],
                         threads=24, deadline_s=240)
        self.scripts = self.refunds.scripts + self.chat.scripts

    def start(self):
        self.refunds.start()
        self.chat.start()
        return self

    def wait_acked(self, n, timeout):
        self.chat.wait_acked(n, timeout)

    def snapshot(self):
        a, b = self.refunds.snapshot(), self.chat.snapshot()
        return {k: a[k] + b[k] for k in a}

    def join(self):
        return self.refunds.join() + self.chat.join()

    def steps(self):
        return self.refunds.steps() + self.chat.steps()


def check_nothing_lost_or_doubled(gw, redis, graph, rails, orders, load, name, extra):
    steps = load.steps()
    never = [s.key for s in steps if not s.acked]
    assert not never, f"{len(never)} messages never acknowledged (first: {never[:3]})"
    acked = [s.key for s in steps]
    wait_settled(redis, SETTLE_TIMEOUT)

    # every acknowledged message stored once and processed
    stored = inbound_ids(redis)
    missing = [k for k in acked if stored[k] == 0]
    doubled_in = [k for k in acked if stored[k] > 1]
    lost = unprocessed(redis, "whatsapp", acked)
    assert not missing, f"{len(missing)} acknowledged messages not in rd:inbound"
    assert not doubled_in, f"{len(doubled_in)} messages stored twice"
    assert not lost, f"{len(lost)} acknowledged messages never processed"

    # replies: one greeting per "hello"; offer + refunded + credit note per refund
    sent = sends_by_user(graph)
    want = {u: PER_CHAT for u in chat_users(len(load.chat.scripts))}
    want.update({wa_id_of(o): 3 for o in orders})
    short = {u: (len(sent[u]), n) for u, n in want.items() if len(sent[u]) < n}
    extra_replies = {u: (len(sent[u]), n) for u, n in want.items() if len(sent[u]) > n}
    assert not short, f"customers missing replies (got, want): {dict(list(short.items())[:5])}"
    dup_replies = sum(len(sent[u]) - n for u, n in want.items())

    # refunds: one per order at Stripe, under one key; one credit note each
    creates = rails.stripe.creates()
    refunds = rails.stripe.refunds()
    by_key = collections.Counter(r["idempotency_key"] for r in creates if r["ok"]
                                 and not r["replayed"])
    assert len(refunds) == len(orders), rails.stripe.summary()
    assert all(n == 1 for n in by_key.values()), f"a key created twice: {by_key}"
    notes = credit_notes(redis)
    assert len(notes) == len(orders), notes
    assert len({n["refund_id"] for n in notes}) == len(orders)
    assert sum(int(n["amount"]) for n in notes) == sum(o["total"] for o in orders)

    # audit: each message's entries once (a replayed turn appends nothing new)
    audit = audit_by_message(redis)
    for s in steps:
        kinds = audit[s.key]
        assert kinds["reply"] >= 1, (s.key, kinds)
        assert all(v == 1 for k, v in kinds.items() if k != "reply"), (s.key, kinds)
    yes_msgs = [script[1].key for script in load.scripts[:len(orders)]]
    for k in yes_msgs:
        assert audit[k]["refund"] == 1 and audit[k]["credit_note"] == 1, (k, audit[k])
        assert audit[k]["reply"] == 2, (k, audit[k])
    assert sum(audit[s.key]["reply"] for s in steps) == sum(want.values())
    verify = run_cli("audit", "verify", config=gw)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    report(name, messages=len(steps), acknowledged=len(acked), processed=len(acked) - len(lost),
           lost=len(lost), refunds_paid=len(refunds), credit_notes=len(notes),
           duplicated_refunds=sum(n - 1 for n in by_key.values()),
           duplicated_replies=dup_replies, **extra)
    return dup_replies, extra_replies


def test_kill_9_under_load_loses_nothing_and_does_nothing_twice(rails_gateway, rails, graph,
                                                              redis_server):
    redis = redis_server.client
    orders = refund_orders(N_REFUND)
    gw = wa_rails_gateway(rails_gateway, graph, orders)
    load = Loads(gw, graph, orders).start()
    load.wait_acked(600, timeout=90)

    gw.kill(signal.SIGKILL)
    at_kill = load.snapshot()
    unfinished = backlog(redis)
    assert gw.proc.returncode == -signal.SIGKILL

    time.sleep(0.5)   # the platform keeps retrying against a dead port meanwhile
    gw.start(timeout=15)
    load.join()
    dup_replies, extra = check_nothing_lost_or_doubled(
        gw, redis, graph, rails, orders, load, "kill-9",
        {"http_requests_in_flight_at_kill": at_kill["in_flight"],
         "acked_at_kill": at_kill["acked"], "acked_unprocessed_at_kill": unfinished})
    # A reply Graph accepted just before the kill, but not yet marked sent,
    # is sent again after the restart (WhatsApp has no idempotency key): at
    # most one per sender thread.
    assert dup_replies <= 1, f"replies sent twice: {extra}"


def test_sigterm_under_load_drains_exits_0_and_loses_nothing(rails_gateway, rails, graph,
                                                            redis_server):
    redis = redis_server.client
    orders = refund_orders(N_REFUND)
    gw = wa_rails_gateway(rails_gateway, graph, orders)
    load = Loads(gw, graph, orders, n_chat=36).start()
    load.wait_acked(300, timeout=90)

    at_term = load.snapshot()
    unfinished = backlog(redis)
    t0 = time.monotonic()
    code = gw.kill(signal.SIGTERM, timeout=30)
    drain_s = time.monotonic() - t0
    assert code == 0, f"exit {code} after SIGTERM"

    gw.start(timeout=15)
    load.join()
    dup_replies, extra = check_nothing_lost_or_doubled(
        gw, redis, graph, rails, orders, load, "sigterm",
        {"http_requests_in_flight_at_sigterm": at_term["in_flight"],
         "acked_unprocessed_at_sigterm": unfinished, "exit_code": code,
         "drain_s": round(drain_s, 2)})
    assert dup_replies == 0, f"a drained stop sent replies twice: {extra}"


def consumers(redis):
    """{(stream, group): [consumer names]} of the pipeline's two groups."""
    return {(st, g): [c["name"] for c in redis.xinfo_consumers(st, g)]
            for st, g in (("rd:inbound", "agents"), ("rd:outbox", "senders"))}


def test_a_turn_cut_short_by_kill_9_goes_on_as_soon_as_the_gateway_is_back(rails, rails_gateway,
                                                                           redis_server):
    """kill -9 while a refund turn waits on Stripe, holding its
    conversation's lock. The process that takes its place on the same host
    sees the old one is gone (its pid runs no more), takes over its pending
    entries and releases its locks at once: the customer waits for the
    restart, not for claim_idle_ms (60 s here) and the lock's 30 s. The old
    consumers leave the groups."""
    redis, stripe = redis_server.client, rails.stripe
    gw = rails_gateway({"gateway": {"claim_idle_ms": 60000}})
    user, email, _ = CUSTOMERS[CARD_ORDER]
    say(gw, user, f"Hi, I want a refund for order {CARD_ORDER}")
    say(gw, user, email)
    stripe.hang_next(2)                 # Stripe makes the refund, its answer comes in 2 s

    def press_yes():
        try:
            gw.send(user, None, button="confirm_yes", timeout=10)
        except requests.RequestException:   # the gateway dies under it
            pass

    yes = threading.Thread(target=press_yes)
    yes.start()
    # the turn holds the lock and has reserved the amount: it is on the rail
    wait_for(lambda: redis.exists(f"rd:lock:{{test:{user}}}")
             and next(redis.scan_iter("rd:mandate:resv:*"), None), 10, what="the rail call")
    time.sleep(0.3)
    before = consumers(redis)
    gw.kill(signal.SIGKILL)
    yes.join(15)
    assert redis.get(f"rd:lock:{{test:{user}}}"), "the turn's lock outlives its process"
    time.sleep(2)    # Stripe's answer goes to a dead socket (a retry meanwhile: 409 key in use)

    gw.start(timeout=15)
    t0 = time.monotonic()
    wait_out(gw, CARD_ORDER, lambda t: "NC-0001" in t, 10, "the credit note")
    took = time.monotonic() - t0
    assert took < 10
    creates = stripe.creates()
    assert len({c["idempotency_key"] for c in creates}) == 1, stripe.summary()
    assert len(stripe.refunds()) == 1
    assert len(after_offer(gw, CARD_ORDER)) == 2, "told once: refunded, credit note"
    old = {n for names in before.values() for n in names}
    assert old and not old & {n for names in consumers(redis).values() for n in names}
    gone = [e for e in gw.log_events() if e.get("event") == "consumer_gone"]
    assert gone and any(" 1 rd:inbound entries taken over" in e["msg"] for e in gone), gone
    report("kill-9-mid-turn", credit_note_after_restart_s=round(took, 2),
           consumers_removed=len(old), rail_calls=len(creates))


def test_the_entries_of_a_process_lost_elsewhere_are_taken_over_once_its_mark_expires(
        gateway, redis_server):
    """Two consumers of processes on another host (or in another container:
    their pids mean nothing here) each hold a message, with its
    conversation's lock, and have been silent for over ALIVE_TTL_MS (10 s).
    One still renews its liveness mark rd:alive:<instance>, the other's has
    expired. With claim_idle_ms at 60 s and locks living 60 s, the gateway
    takes over the lost one's message at once and leaves the live one's
    alone."""
    redis = redis_server.client
    gw = gateway({"gateway": {"claim_idle_ms": 60000}})
    assert gw.send("seed", "hello", message_id="seed-1").status_code == 200
    # a running gateway keeps its mark; a clean stop takes it away at once
    marks = list(redis.scan_iter("rd:alive:*"))
    assert len(marks) == 1 and 0 < redis.pttl(marks[0]) <= 10000, marks
    assert gw.kill(signal.SIGTERM) == 0
    assert not list(redis.scan_iter("rd:alive:*"))
    seed = json.loads(next(f["m"] for _, f in redis.xrange("rd:inbound")))
    lost, live = "elsewhere-1-1-4d2-w0", "elsewhere-1-1-4d3-w0"
    for user, consumer in (("cut", lost), ("held", live)):
        m = dict(seed, message_id=f"{user}-1", user=user, conversation_id=f"test:{user}",
                 text="hello")
        redis.xadd("rd:inbound", {"m": json.dumps(m), "c": f"test:{user}",
                                  "s": redis.incr(f"rd:in:seq:{{test:{user}}}")})
        got = redis.xreadgroup("agents", consumer, {"rd:inbound": ">"}, count=1)
        assert json.loads(got[0][1][0][1]["m"])["message_id"] == f"{user}-1"
        redis.set(f"rd:lock:{{test:{user}}}", consumer, px=60000)
    redis.set("rd:alive:elsewhere-1-1-4d3", "1", px=60000)
    time.sleep(10.5)                    # both silent longer than ALIVE_TTL_MS

    gw.start(timeout=15)
    t0 = time.monotonic()
    wait_for(lambda: redis.exists("rd:done:test:cut-1"), 5, what="cut-1 handled")
    took = time.monotonic() - t0
    names = {c["name"]: c for c in redis.xinfo_consumers("rd:inbound", "agents")}
    assert lost not in names
    assert names[live]["pending"] == 1
    assert redis.get("rd:lock:{test:held}") == live
    assert not redis.exists("rd:done:test:held-1")
    report("lost-elsewhere", handled_after_start_s=round(took, 2),
           live_still_pending=names[live]["pending"])
