"""The pipeline's streams do not grow for ever: entries of rd:inbound and
rd:outbox that every consumer group has handled are trimmed once older than
[gateway] stream_retention_s (gateway/trim.h); what the customer and the
support lead read (transcript, conversation API, audit) is kept apart and
stays."""
import json

from conftest import wait_for


def test_handled_entries_are_trimmed_after_the_retention(gateway, redis_server):
    redis = redis_server.client
    # small macro nodes, so that XTRIM MINID ~ trims at this scale
    redis.config_set("stream-node-max-entries", 2)
    gw = gateway({"gateway": {"stream_retention_s": 1}})
    for i in range(6):
        r = gw.send("keeper", f"hello {i}", message_id=f"keep-{i}")
        assert r.status_code == 200 and r.json()["replies"], r.text
    assert redis.xlen("rd:inbound") >= 6 and redis.xlen("rd:outbox") >= 6
    audit = redis.xlen("rd:audit")
    wait_for(lambda: redis.xlen("rd:inbound") <= 1 and redis.xlen("rd:outbox") <= 1, 10,
             what="handled entries trimmed")
    assert [e for e in gw.log_events() if e.get("event") == "trimmed"]
    # the customer's history is not the pipeline's streams
    log = [e for e in map(json.loads, redis.lrange("rd:tr:{test:keeper}", 0, -1)) if e.get("dir") == "in"]
    assert [f["message_id"] for f in log] == [f"keep-{i}" for i in range(6)]
    assert gw.conversation("test:keeper").status_code == 200
    assert redis.xlen("rd:audit") == audit
    # and the pipeline goes on
    r = gw.send("keeper", "one more", message_id="keep-6")
    assert r.status_code == 200 and r.json()["replies"]


def test_nothing_is_trimmed_within_the_retention(gateway, redis_server):
    redis = redis_server.client
    redis.config_set("stream-node-max-entries", 2)
    gw = gateway()  # the default: a day
    for i in range(6):
        assert gw.send("holder", f"hi {i}", message_id=f"hold-{i}").status_code == 200
    # worker 0 trims when it starts and then every minute: give it a pass
    wait_for(lambda: redis.xinfo_groups("rd:inbound")[0]["pending"] == 0, 5, what="acked")
    gw.restart()
    assert gw.send("holder", "again", message_id="hold-6").status_code == 200
    assert redis.xlen("rd:inbound") == 7
    assert not [e for e in gw.log_events() if e.get("event") == "trimmed"]
