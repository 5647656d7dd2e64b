"""Redis stopped in the middle of a load of signed WhatsApp webhooks, then
started again on the same AOF (appendfsync always): /readyz says 503 at
once, webhooks and the test channel get 503 (the platform retries) instead of
a 200 that would then be lost, the gateway reconnects by itself, and after
the restart every acknowledged message is there and processed."""
import time

from conftest import wait_for

from .helpers import (chat_script, chat_users, inbound_ids, sends_by_user, unprocessed,
                      wa_rails_gateway, wa_step, wait_settled)
from .load import Load

N_CHAT, PER_CHAT = 40, 20             # 800 greetings from 40 customers


def test_redis_down_mid_load_503s_then_reconnects_and_loses_nothing(rails_gateway, graph,
                                                                    redis_server):
    redis = redis_server.client
    gw = wa_rails_gateway(rails_gateway, graph, [])
    users = chat_users(N_CHAT)
    load = Load(gw.url, [chat_script(u, PER_CHAT) for u in users], threads=16,
                deadline_s=180).start()
    load.wait_acked(250, timeout=60)

    redis_server.stop()                                   # SIGTERM: Redis is gone
    down_at = time.monotonic()
    acked_at_stop = load.snapshot()["acked"]
    wait_for(lambda: gw.get("/readyz", timeout=2).status_code == 503, 2,
             what="/readyz 503 with Redis down")
    readyz_503_after = time.monotonic() - down_at

    # a platform's webhook and a test-channel message: 503, answered at once
    probe = wa_step(users[0], "hello while redis is down")
    t0 = time.monotonic()
    r = gw.post(probe.path, probe.body, headers=probe.headers, timeout=5)
    webhook_answer_s = time.monotonic() - t0
    assert r.status_code == 503, (r.status_code, r.text)
    r = gw.send("someone", "hello", timeout=5)
    assert r.status_code == 503, (r.status_code, r.text)

    # the load keeps retrying; every answer in the outage is a 503, not a hang
    wait_for(lambda: sum(s.statuses.count(503) for s in load.steps()) >= 50, 20,
             what="the load's retries answered 503")
    answers = [x for s in load.steps() for x in s.statuses]
    assert not [x for x in answers if isinstance(x, str)], \
        f"connection errors or timeouts while Redis was down: {set(answers)}"

    redis_server.start()                                  # same port, same AOF
    up_at = time.monotonic()
    wait_for(lambda: gw.get("/readyz", timeout=2).status_code == 200, 15,
             what="/readyz 200 again without a gateway restart")
    reconnect_s = time.monotonic() - up_at
    assert gw.running(), "the gateway exited while Redis was down"

    assert not load.join(), "messages never acknowledged"
    wait_settled(redis, 120)
    steps = load.steps()
    acked = [s.key for s in steps]
    stored = inbound_ids(redis)
    missing = [k for k in acked if stored[k] != 1]
    assert not missing, f"{len(missing)} acknowledged messages missing or doubled"
    lost = unprocessed(redis, "whatsapp", acked)
    assert not lost, f"{len(lost)} acknowledged messages never processed"
    assert stored[probe.key] == 0, "the message answered 503 was stored"
    sent = sends_by_user(graph)
    short = [u for u in users if len(sent[u]) < PER_CHAT]
    assert not short, f"customers missing replies: {short[:5]}"
    dup = sum(len(sent[u]) - PER_CHAT for u in users)
    # a reply Graph took while Redis could not record it is sent again: at
    # most one per sender thread
    assert dup <= 1, f"{dup} replies sent twice"
    events = [e.get("event") for e in gw.log_events()]
    assert "redis_down" in events and events.count("redis_up") >= 2, "no reconnect logged"
    n503 = sum(s.statuses.count(503) for s in steps)
    print(f"\nFAULTS redis-down: messages={len(steps)}, acked_before_stop={acked_at_stop}, "
          f"readyz_503_after_s={readyz_503_after:.2f}, webhook_503_in_s={webhook_answer_s:.3f}, "
          f"answered_503={n503}, reconnected_after_s={reconnect_s:.2f}, lost=0, "
          f"duplicated_replies={dup}")
