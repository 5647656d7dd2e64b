"""A conversation's transcript (agent/transcript.h): a capped Redis list of
JSON entries, small in Redis, read back by the conversation API, the web
chat's history and the LLM; transcripts older builds kept in a stream are
still read, before the list."""
import json

from conftest import wait_for


def entries(redis, cid):
    return [json.loads(e) for e in redis.lrange(f"rd:tr:{{{cid}}}", 0, -1)]


def test_a_turn_is_one_list_entry_per_line_with_ids(gateway, redis_server):
    redis = redis_server.client
    gw = gateway()
    r = gw.send("tr-ana", "I want a refund for order 1001", message_id="tr-1")
    assert r.status_code == 200, r.text
    replies = [x["text"] for x in r.json()["replies"]]
    stored = entries(redis, "test:tr-ana")
    assert [(e["id"], e["dir"]) for e in stored] == \
        [("tr-1", "in")] + [(f"tr-1.{i}", "out") for i in range(1, len(replies) + 1)]
    assert stored[0]["text"] == "I want a refund for order 1001" and stored[0]["kind"] == "text"
    assert [e["text"] for e in stored[1:]] == replies
    assert all(e["template"] for e in stored[1:]) and all(e["ts"].isdigit() for e in stored)
    # the API gives the same entries; no stream is written any more
    c = gw.conversation("test:tr-ana")
    assert c.status_code == 200, c.text
    api = c.json()["transcript"]
    assert api == stored
    assert redis.exists("rd:log:{test:tr-ana}") == 0
    # ~4.7 KB as a stream (Redis preallocates 4 KiB for a stream's first node)
    assert redis.memory_usage("rd:tr:{test:tr-ana}") < 1024


def test_the_transcript_keeps_the_last_500(gateway, redis_server):
    redis = redis_server.client
    key = "rd:tr:{test:tr-long}"
    redis.rpush(key, *[json.dumps({"id": f"old-{i}", "dir": "in", "text": f"old {i}", "ts": "1"})
                       for i in range(499)])
    gw = gateway()
    r = gw.send("tr-long", "hello", message_id="tr-last")
    assert r.status_code == 200, r.text
    got = entries(redis, "test:tr-long")
    assert len(got) == 500
    n_new = 1 + len(r.json()["replies"])
    assert got[0]["id"] == f"old-{n_new - 1}"   # the oldest went
    assert got[-n_new]["id"] == "tr-last"
    assert [e["id"] for e in gw.conversation("test:tr-long").json()["transcript"]] == \
        [e["id"] for e in got]


def test_an_old_stream_transcript_is_read_before_the_list(gateway, redis_server):
    """A conversation begun under a build that kept rd:log:{cid} streams:
    its history stays, in order, before what came since (the conversation
    API, the web chat's welcome and the LLM all read transcript_read)."""
    redis = redis_server.client
    old = "rd:log:{test:tr-old}"
    ids = [redis.xadd(old, {"dir": "in", "message_id": "was-1", "kind": "text",
                            "text": "my order 1001 never came", "ts": "1795000000000"}),
           redis.xadd(old, {"dir": "out", "template": "ask_email", "text": "What email?",
                            "ts": "1795000000001"})]
    gw = gateway()
    r = gw.send("tr-old", "hello again", message_id="now-1")
    assert r.status_code == 200, r.text
    tr = gw.conversation("test:tr-old").json()["transcript"]
    assert [e["id"] for e in tr[:2]] == ids
    assert tr[0]["text"] == "my order 1001 never came" and tr[1]["template"] == "ask_email"
    assert [e["id"] for e in tr[2:]] == [e["id"] for e in entries(redis, "test:tr-old")]
    assert tr[2]["id"] == "now-1"
    assert redis.xlen(old) == 2  # read, never written


def test_a_missing_conversation_is_404_and_redis_down_is_503(gateway, redis_server):
    gw = gateway()
    assert gw.conversation("test:nobody").status_code == 404
    redis_server.stop()
    wait_for(lambda: gw.conversation("test:nobody").status_code == 503, 10, what="503 with Redis down")
