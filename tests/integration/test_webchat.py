"""The web chat channel over its WebSocket (protocol redress.webchat.v1):
real gateway processes, a real redis-server, the demo orders, and a client
that speaks the widget's frames (python3-websockets' asyncio client, driven
synchronously here: every call is bounded).

    hello → welcome{session, history}; message/button → ack{id}, typing,
    reply{id, text, buttons}; error{code: too_large|rate_limited|bad_frame|no_hello}
"""
import asyncio
import json
import os
import re
import secrets
import signal
import time

import pytest
import websockets
from websockets.exceptions import InvalidHandshake

from conftest import REPO, import_demo_orders, wait_for

PROTOCOL = "redress.webchat.v1"
SHOP_ORIGIN = "https://shop.example"          # a shop that embeds the widget
SITE_URL = "https://support.shop.example"     # the gateway's own [site] public_url
ASSETS = REPO / "channels" / "webchat"
STEP = 10                                     # seconds: the bound of every wait
TOKEN = re.compile(r"[0-9a-f]{32}")


def chat_config(**webchat):
    """Overrides for a gateway with the web chat on; webchat keys as kwargs."""
    wc = {"enabled": "true", "allowed_origins": SHOP_ORIGIN, "assets_dir": str(ASSETS)}
    wc.update({k: str(v) for k, v in webchat.items()})
    return {"webchat": wc, "site": {"public_url": SITE_URL}}


@pytest.fixture
def gw(gateway):
    g = gateway(chat_config())
    import_demo_orders(g)
    return g


# --------------------------------------------------------------------------- the client

class Chat:
    """One web chat socket. Frames that arrive while waiting for another are
    kept (self.backlog) for later expect() calls; self.log has every frame
    received, in order, for ordering assertions."""

    def __init__(self, gw, origin=SHOP_ORIGIN, subprotocols=(PROTOCOL,), timeout=STEP):
        self.loop = asyncio.new_event_loop()
        self.backlog, self.log = [], []
        url = f"ws://127.0.0.1:{gw.port}/webchat/ws"

        async def open_():
            return await websockets.connect(url, subprotocols=list(subprotocols), origin=origin,
                                            open_timeout=timeout, ping_interval=None,
                                            close_timeout=2, max_size=1 << 20)
        try:
            self.ws = self._run(open_(), timeout + 1)
        except BaseException:
            self.loop.close()
            raise

    def _run(self, coro, timeout):
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if not self.loop.is_closed():
            try:
                self._run(self.ws.close(), 5)
            except Exception:  # noqa: BLE001 - closing a socket the server dropped
                pass
            self.loop.close()

    # -- frames out

    def send(self, frame):
        """frame: dict (sent as JSON) or str (sent as is)."""
        data = frame if isinstance(frame, str) else json.dumps(frame)
        self._run(self.ws.send(data), STEP)

    def hello(self, session=None, locale="pt-BR"):
        """Say hello and return the welcome."""
        frame = {"type": "hello", "locale": locale}
        if session is not None:
            frame["session"] = session
        self.send(frame)
        return self.expect("welcome")

    def message(self, text, mid=None):
        """Send a message; returns its client id (random unless given)."""
        mid = mid or "m-" + secrets.token_hex(8)
        self.send({"type": "message", "id": mid, "text": text})
        return mid

    def button(self, button, mid=None):
        mid = mid or "b-" + secrets.token_hex(8)
        self.send({"type": "button", "id": mid, "button": button})
        return mid

    # -- frames in

    def _recv(self, timeout):
        raw = self._run(self.ws.recv(), timeout)
        frame = json.loads(raw)
        assert isinstance(frame, dict) and "type" in frame, f"not a frame: {raw!r}"
        self.log.append(frame)
        return frame

    def expect(self, ftype, pred=None, timeout=STEP):
        """The next frame of type ftype (matching pred): from the backlog, or
        received within timeout. Other frames go to the backlog."""
        match = lambda f: f["type"] == ftype and (pred is None or pred(f))  # noqa: E731
        for i, f in enumerate(self.backlog):
            if match(f):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {ftype!r} frame in {timeout} s; got {self.backlog}")
            try:
                f = self._recv(left)
            except asyncio.TimeoutError:
                continue
            if match(f):
                return f
            self.backlog.append(f)

    def ack(self, mid, timeout=STEP):
        return self.expect("ack", lambda f: f.get("id") == mid, timeout)

    def replies_until(self, done, timeout=STEP):
        """Collect reply frames until done(replies) is true."""
        replies = []
        deadline = time.monotonic() + timeout
        while not done(replies):
            replies.append(self.expect("reply", timeout=max(0.01, deadline - time.monotonic())))
        return replies

    def quiet(self, seconds):
        """Every frame that arrives within `seconds` (bounded listen), also kept in the backlog."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self._recv(left))
            except asyncio.TimeoutError:
                break
        self.backlog += got
        return got


# --------------------------------------------------------------------------- helpers

def webchat_messages(redis):
    """The web chat messages in rd:inbound (normalized message JSON), oldest first."""
    msgs = [json.loads(f["m"]) for _, f in redis.xrange("rd:inbound") if "m" in f]
    return [m for m in msgs if m.get("channel") == "webchat"]


def conversation_id(redis):
    """The conversation of the newest web chat message."""
    msgs = webchat_messages(redis)
    assert msgs, "no web chat message in rd:inbound"
    return msgs[-1]["conversation_id"]


def transcript(gw, cid):
    r = gw.conversation(cid)
    assert r.status_code == 200, r.text
    return r.json()["transcript"]


def refunds_created(redis):
    return int(redis.get("rd:sandbox:refunds") or 0)


def messages_out(gw, channel="webchat"):
    """redress_messages_out_total{channel=…} of one gateway process."""
    text = gw.get("/metrics").text
    m = re.search(r'^redress_messages_out_total\{channel="%s"\} (\d+)' % channel, text, re.M)
    return int(m.group(1)) if m else 0


def local_ports_of(pid):
    """Local TCP ports of process pid's sockets (Linux /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            with open(table) as f:
                for line in list(f)[1:]:
                    cols = line.split()
                    if cols[9] in inodes:
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def blocked_clients_of(redis, pid):
    """process pid's Redis connections blocked in a command (BLOCK), per CLIENT LIST."""
    ports = local_ports_of(pid)
    return [c for c in redis.client_list()
            if int(c["addr"].rsplit(":", 1)[1]) in ports and "b" in c["flags"]]


def asks_for_email(text):
    return "e-mail" in text.lower() or "email" in text.lower()


# --------------------------------------------------------------------------- assets

def test_widget_and_demo_page_are_served(gw):
    js = gw.get("/webchat/widget.js")
    assert js.status_code == 200
    assert js.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert js.headers["Cache-Control"] == "public, max-age=300"
    assert js.content == (ASSETS / "widget.js").read_bytes()
    page = gw.get("/webchat/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.content == (ASSETS / "index.html").read_bytes()
    for needle in ('"/webchat/widget.js"', '"Loja Exemplo"', '"#0a7"', '"pt-BR"'):
        assert needle in page.text


# --------------------------------------------------------------------------- conversations

def test_full_refund_conversation(gw, redis_server):
    redis = redis_server.client
    with Chat(gw) as chat:
        assert chat.ws.subprotocol == PROTOCOL
        welcome = chat.hello()
        token = welcome["session"]
        assert TOKEN.fullmatch(token), welcome
        assert welcome["history"] == []

        first = chat.message("Oi, quero reembolso do pedido 8421")
        ack = chat.ack(first)
        ask = chat.expect("reply")
        assert chat.log.index(ack) < chat.log.index(ask), "acked before it is answered"
        assert asks_for_email(ask["text"]), ask
        assert ask["id"]

        chat.ack(chat.message("marina@example.com"))
        offer = chat.expect("reply", lambda f: f.get("buttons"))
        assert [b["id"] for b in offer["buttons"]] == ["confirm_yes", "confirm_no"]
        assert all(b["title"] for b in offer["buttons"])
        assert "R$\u00a0186,00" in offer["text"]
        assert refunds_created(redis) == 0, "nothing is paid before the customer says yes"

        chat.ack(chat.button("confirm_yes"))
        done = chat.replies_until(lambda rs: any("NC-0001" in r["text"] for r in rs))
        assert any("R$\u00a0186,00" in r["text"] for r in done), done
        assert len({r["id"] for r in [ask, offer, *done]}) == 2 + len(done), "server ids are unique"

    assert refunds_created(redis) == 1
    assert redis.xlen("rd:inbound") == 3
    cid = conversation_id(redis)
    assert cid.startswith("webchat:") and token not in cid, "the token never names the conversation"
    assert {m["conversation_id"] for m in webchat_messages(redis)} == {cid}
    lines = transcript(gw, cid)
    assert [t["dir"] for t in lines][:2] == ["in", "out"]
    assert any("NC-0001" in t.get("text", "") for t in lines if t["dir"] == "out")
    assert token not in json.dumps(lines)


def test_resume_after_a_reconnect_brings_the_history(gw, redis_server):
    redis = redis_server.client
    with Chat(gw) as a:
        token = a.hello()["session"]
        a.ack(a.message("Oi, quero reembolso do pedido 8421"))
        assert asks_for_email(a.expect("reply")["text"])
    cid = conversation_id(redis)

    with Chat(gw) as b:
        welcome = b.hello(session=token)
        assert welcome["session"] == token
        history = welcome["history"]
        assert [h["dir"] for h in history] == ["in", "out"], history
        assert history[0]["text"] == "Oi, quero reembolso do pedido 8421"
        assert asks_for_email(history[1]["text"])
        # the next reply is produced while no socket is open: hold the
        # conversation until this socket is gone
        redis.set(f"rd:lock:{{{cid}}}", "test-holds-it", px=30000)
        b.ack(b.message("marina@example.com"))
    redis.delete(f"rd:lock:{{{cid}}}")
    wait_for(lambda: len(transcript(gw, cid)) >= 4, STEP, what="the offer, stored")

    with Chat(gw) as c:
        welcome = c.hello(session=token)
        assert welcome["session"] == token
        history = welcome["history"]
        assert [h["dir"] for h in history] == ["in", "out", "in", "out"], history
        assert history[2]["text"] == "marina@example.com"
        assert "R$\u00a0186,00" in history[3]["text"]
        # and the conversation goes on from there
        c.ack(c.button("confirm_yes"))
        c.replies_until(lambda rs: any("NC-0001" in r["text"] for r in rs))
    assert refunds_created(redis) == 1


def test_a_resent_message_id_is_acked_again_and_processed_once(gw, redis_server):
    redis = redis_server.client
    text = "Oi, quero reembolso do pedido 8421"
    with Chat(gw) as a:
        token = a.hello()["session"]
        a.ack(a.message(text, mid="m-resend-1"))
        a.expect("reply")
        a.ack(a.message(text, mid="m-resend-1"))  # the same socket
        assert not [f for f in a.quiet(1.5) if f["type"] == "reply"], "a resend gets no second reply"
    with Chat(gw) as b:  # after a reconnect, as the widget does
        assert b.hello(session=token)["session"] == token
        b.ack(b.message(text, mid="m-resend-1"))
        assert not [f for f in b.quiet(1.5) if f["type"] == "reply"], "a resend gets no second reply"
    assert redis.xlen("rd:inbound") == 1
    assert [t["dir"] for t in transcript(gw, conversation_id(redis))] == ["in", "out"]


@pytest.mark.parametrize("forged", ["0" * 32, "random", "near-miss", "../../../../etc/passwd", ""])
def test_a_forged_session_token_gets_a_new_empty_session(gw, redis_server, forged):
    redis = redis_server.client
    with Chat(gw) as victim:
        real = victim.hello()["session"]
        victim.ack(victim.message("Oi, quero reembolso do pedido 8421"))
        victim.expect("reply")
    victim_cid = conversation_id(redis)
    token = {"random": secrets.token_hex(16),
             "near-miss": real[:-1] + ("0" if real[-1] != "0" else "1")}.get(forged, forged)

    with Chat(gw) as mallory:
        welcome = mallory.hello(session=token)
        assert TOKEN.fullmatch(welcome["session"]), welcome
        assert welcome["session"] not in (token, real)
        assert welcome["history"] == [], "someone else's conversation leaked"
        mallory.ack(mallory.message("qual o status do meu pedido?"))
        mallory.expect("reply")
    assert conversation_id(redis) != victim_cid
    assert len(transcript(gw, victim_cid)) == 2, "the victim's conversation is untouched"


# --------------------------------------------------------------------------- abuse

def test_an_oversized_frame_is_refused_and_the_socket_still_works(gw, redis_server):
    redis = redis_server.client
    with Chat(gw) as chat:
        chat.hello()
        big = chat.message("x" * 5 * 1024)
        err = chat.expect("error")
        assert err["code"] == "too_large", err
        ok = chat.message("Oi, quero reembolso do pedido 8421")
        chat.ack(ok)
        assert asks_for_email(chat.expect("reply")["text"])
        assert not [f for f in chat.log if f["type"] == "ack" and f.get("id") == big]
    assert redis.xlen("rd:inbound") == 1


def test_a_bad_origin_is_refused(gw, redis_server):
    with pytest.raises(InvalidHandshake) as refused:
        Chat(gw, origin="https://evil.example")
    assert getattr(refused.value, "status_code", None) == 403, repr(refused.value)
    with pytest.raises(InvalidHandshake):
        Chat(gw, origin=SHOP_ORIGIN + ".evil.example")  # a prefix is not a match
    # the listed shop, and the gateway's own [site] public_url, are welcome
    for origin in (SHOP_ORIGIN, SITE_URL):
        with Chat(gw, origin=origin) as chat:
            assert TOKEN.fullmatch(chat.hello()["session"])
    assert redis_server.client.xlen("rd:inbound") == 0


# A session's own budget is [limits] customer_messages_per_minute, counted by
# the agent across processes (reconnecting does not buy a fresh minute), and
# an address's is [limits] ip_requests_per_minute: test_rate_limits.py.


def test_frames_before_hello_and_malformed_frames_get_errors(gw, redis_server):
    with Chat(gw) as chat:
        chat.message("Oi, quero reembolso do pedido 8421")
        assert chat.expect("error")["code"] == "no_hello"
        chat.send("this is not json")
        assert chat.expect("error")["code"] == "bad_frame"
        chat.send({"type": "message", "text": "no id"})
        assert chat.expect("error")["code"] in ("bad_frame", "no_hello")
        assert TOKEN.fullmatch(chat.hello()["session"]), "the socket is still usable"
        chat.send({"type": "message", "text": "no id"})
        assert chat.expect("error")["code"] == "bad_frame"
        chat.send("[1, 2, 3]")
        assert chat.expect("error")["code"] == "bad_frame"
        chat.ack(chat.message("Oi, quero reembolso do pedido 8421"))
    assert redis_server.client.xlen("rd:inbound") == 1


# --------------------------------------------------------------------------- two processes

def test_a_reply_worked_and_sent_by_another_process_reaches_the_socket(gateway, redis_server):
    """The socket is on gateway A; the agent's work and the send happen on
    gateway B, deterministically:

    1. a first turn on A tells us the conversation id;
    2. the test holds the conversation lock, sends the e-mail on A and waits
       for the ack and for a worker (of A or B) to hold the message;
    3. SIGSTOP A — its service loop, workers and senders are frozen — and
       wait until none of A's Redis connections is blocked any more (its
       last XREADGROUP ... BLOCK 500 has expired: CLIENT LIST, A's
       connections found by their ports in /proc/<pid>), so no outbox entry
       can be handed to a sender of A;
    4. release the lock: B's worker processes the message (or takes it over
       from A's frozen worker with XAUTOCLAIM after claim_idle_ms), B's
       sender delivers it — B's webchat messages_out counter moves — and
       the push waits in A's pub/sub connection;
    5. SIGCONT A: the offer arrives on A's socket, and A's counter did not move.
    """
    redis = redis_server.client
    a = gateway(chat_config())
    b = gateway(chat_config())
    import_demo_orders(a)
    with Chat(a) as chat:
        chat.hello()
        chat.ack(chat.message("Oi, quero reembolso do pedido 8421"))
        assert asks_for_email(chat.expect("reply")["text"])
        cid = conversation_id(redis)
        a_before, b_before = messages_out(a), messages_out(b)

        lock = f"rd:lock:{{{cid}}}"
        redis.set(lock, "test-holds-it", px=30000)
        chat.ack(chat.message("marina@example.com"))
        wait_for(lambda: redis.xpending("rd:inbound", "agents")["pending"] == 1, STEP,
                 what="a worker to hold the e-mail")
        # A's workers and senders spend their time blocked in XREADGROUP
        wait_for(lambda: blocked_clients_of(redis, a.proc.pid), STEP,
                 what="A's blocking XREADGROUPs to show in CLIENT LIST")
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: not blocked_clients_of(redis, a.proc.pid), STEP,
                     what="A's last blocking XREADGROUPs to expire")
            redis.delete(lock)
            wait_for(lambda: messages_out(b) > b_before, 15, what="B's sender to deliver the offer")
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        offer = chat.expect("reply", lambda f: f.get("buttons"))
        assert "R$\u00a0186,00" in offer["text"]
        assert [x["id"] for x in offer["buttons"]] == ["confirm_yes", "confirm_no"]
        assert messages_out(a) == a_before, "A's senders did not deliver it"
    assert redis.xlen("rd:inbound") == 2
    wait_for(lambda: redis.xpending("rd:inbound", "agents")["pending"] == 0, STEP,
             what="the e-mail to be acked")
    assert [t["dir"] for t in transcript(a, cid)] == ["in", "out", "in", "out"], "processed once"
