"""A stand-in for Meta's Graph API (WhatsApp Cloud API), for the WhatsApp
channel tests: a threaded HTTP/1.1 server on 127.0.0.1 (free port) that
records every request and answers the way Meta does.

    stub = GraphStub().start()          # or the `graph` fixture below
    stub.base_url                        # "http://127.0.0.1:PORT/v21.0" → [whatsapp] graph_api_base
    stub.fail_next(code=130429)          # the next send gets Meta's 400 "Rate limit hit"
    stub.fail_next(http_status=500)      # … or a 5xx
    stub.outage(http_status=503)         # every request fails until stub.end_outage()
    sent = stub.wait_for_sends(1, timeout=10, ok=True)
    message_text(sent[0])                # what the customer sees, whatever the message type
    stub.reads()                         # read receipts ({"status": "read", "message_id": …})

Routes (everything else is 404 with Graph's error shape):
    POST /{version}/{phone_number_id}/messages
        a send   → 200 {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": "wamid.STUB<n>"}]}
        a read receipt ({"status": "read"}) → 200 {"success": true}

Like Meta, the stub refuses (unless strict=False):
    a wrong or missing "Authorization: Bearer <access_token>"  → 401, code 190
    a body that is not JSON, or breaks the Cloud API's rules     → 400, code 100
      (messaging_product, recipient_type, text ≤ 4096, interactive body ≤ 1024,
       1..3 reply buttons with unique ids ≤ 256 and titles 1..20 chars, template
       name/language, read receipt message_id); every such rule broken is also
       listed in the record's "problems", so a test can say which one.

Every request becomes a record (a dict), in arrival order:
    n        1, 2, … (arrival order)        t        time.monotonic() at arrival
    method, path, query                      headers  {lower-case name: value}
    raw      body bytes                      json     parsed body, or None
    kind     "send" | "read" | "other"       to       the "to" of a send, else None
    status   HTTP status answered            ok       200 <= status < 300
    wamid    id answered for an accepted send, else None
    error_code  Meta's error code answered, else None
    problems list of Cloud API rules the body breaks ([] when none)
    response the JSON answered

Only the standard library: usable from any test module, or by hand.
"""
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlsplit

import pytest

DEFAULT_VERSION = "v21.0"
ACCESS_TOKEN = "EAAGtest-access-token-0123456789"
PHONE_NUMBER_ID = "106540352242922"

# Meta's error catalogue for the codes the tests script: (HTTP status, title, details).
META_ERRORS = {
    1: (500, "An unknown error occurred", "An unknown error occurred."),
    2: (503, "Service temporarily unavailable", "Service temporarily unavailable."),
    100: (400, "Invalid parameter", "Invalid parameter."),
    190: (401, "Invalid OAuth access token - Cannot parse access token",
          "Invalid OAuth access token."),
    80007: (429, "Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit."),
    130429: (400, "Rate limit hit",
             "Cloud API message throughput has been reached."),
    131000: (500, "Something went wrong",
             "Message failed to send due to an unknown error."),
    131026: (400, "Message undeliverable",
             "Unable to deliver message. Reasons can include: the recipient's phone number "
             "is not a WhatsApp phone number."),
    131047: (400, "Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the "
             "customer last replied to this number."),
    131051: (400, "Unsupported message type", "Message type is not currently supported."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this "
             "phone number to the same phone number in a short period of time."),
}
# The code a failure scripted by HTTP status alone carries.
CODE_FOR_STATUS = {429: 80007, 500: 131000, 502: 1, 503: 2, 504: 1}


def meta_error(code, message=None, details=None, fbtrace_id="Ab12CdEfGh3"):
    """Graph's error body: {"error": {"message", "type", "code", "error_data", "fbtrace_id"}}."""
    _, title, default_details = META_ERRORS.get(code, (400, "Error", "Error."))
    return {"error": {
        "message": message or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default_details},
        "fbtrace_id": fbtrace_id,
    }}


def message_text(rec_or_body):
    """What the customer reads in a send (a record or its JSON body): text.body,
    interactive body.text, or the template's body parameters joined by a space.
    None when there is none."""
    body = rec_or_body.get("json") if "kind" in rec_or_body else rec_or_body
    if not isinstance(body, dict):
        return None
    kind = body.get("type", "text")
    try:
        if kind == "text":
            return body["text"]["body"]
        if kind == "interactive":
            return body["interactive"]["body"]["text"]
        if kind == "template":
            return " ".join(p["text"] for c in body["template"].get("components", [])
                            if c.get("type") == "body"
                            for p in c.get("parameters", []) if p.get("type") == "text")
    except (KeyError, TypeError, AttributeError):
        return None
    return None


def button_ids(rec_or_body):
    """The reply-button ids of an interactive send, [] otherwise."""
    body = rec_or_body.get("json") if "kind" in rec_or_body else rec_or_body
    try:
        return [b["reply"]["id"] for b in body["interactive"]["action"]["buttons"]]
    except (KeyError, TypeError):
        return []


def cloud_api_problems(body, kind):
    """The Cloud API rules `body` breaks, as short strings ([] when none)."""
    p = []
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    if body.get("messaging_product") != "whatsapp":
        p.append(f"messaging_product is {body.get('messaging_product')!r}, not 'whatsapp'")
    if kind == "read":
        if not isinstance(body.get("message_id"), str) or not body.get("message_id"):
            p.append("read receipt without a message_id")
        return p
    if body.get("recipient_type", "individual") != "individual":
        p.append(f"recipient_type is {body.get('recipient_type')!r}")
    if not isinstance(body.get("to"), str) or not body.get("to"):
        p.append("no 'to'")
    kind_ = body.get("type", "text")
    try:
        if kind_ == "text":
            text = body["text"]["body"]
            if not isinstance(text, str) or not 1 <= len(text) <= 4096:
                p.append("text.body must be 1..4096 characters")
        elif kind_ == "interactive":
            it = body["interactive"]
            if it.get("type") != "button":
                p.append(f"interactive.type {it.get('type')!r} (only 'button' is expected)")
            text = it["body"]["text"]
            if not isinstance(text, str) or not 1 <= len(text) <= 1024:
                p.append(f"interactive body.text must be 1..1024 characters (is {len(text)})")
            buttons = it["action"]["buttons"]
            if not 1 <= len(buttons) <= 3:
                p.append(f"{len(buttons)} buttons (1..3 allowed)")
            ids, titles = [], []
            for b in buttons:
                if b.get("type") != "reply":
                    p.append(f"button type {b.get('type')!r}, not 'reply'")
                rid, title = b["reply"]["id"], b["reply"]["title"]
                if not isinstance(rid, str) or not 1 <= len(rid) <= 256:
                    p.append(f"button id {rid!r} must be 1..256 characters")
                if not isinstance(title, str) or not 1 <= len(title) <= 20:
                    p.append(f"button title {title!r} must be 1..20 characters")
                ids.append(rid)
                titles.append(title)
            if len(set(ids)) != len(ids) or len(set(titles)) != len(titles):
                p.append("button ids and titles must be unique")
        elif kind_ == "template":
            t = body["template"]
            if not isinstance(t.get("name"), str) or not t["name"]:
                p.append("template without a name")
            if not isinstance(t["language"].get("code"), str) or not t["language"]["code"]:
                p.append("template without language.code")
            for c in t.get("components", []):
                for prm in c.get("parameters", []):
                    if prm.get("type") == "text":
                        txt = prm.get("text")
                        # Meta refuses new lines, tabs and more than 4 spaces in a row.
                        if not isinstance(txt, str) or not txt:
                            p.append("empty template text parameter")
                        elif re.search(r"[\n\t]| {5,}", txt):
                            p.append(f"template text parameter with a new line/tab/5 spaces: {txt!r}")
        else:
            p.append(f"unexpected message type {kind_!r}")
    except (KeyError, TypeError, AttributeError) as e:
        p.append(f"malformed {kind_} message: missing or wrong {e}")
    return p


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY each answer
    # waits for the client's delayed ACK (40 ms), which caps a load test at ~25/s
    disable_nagle_algorithm = True
    timeout = 30          # an idle keep-alive connection is dropped after this
    server_version = "graph-stub"
    sys_version = ""

    def setup(self):
        super().setup()
        self.server.stub._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.stub._track(self.connection, False)

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        raw = self._body()
        status, payload, extra = self.server.stub._answer(self.command, self.path,
                                                          self.headers, raw)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", extra.get("content_type", "application/json"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class GraphStub:
    """See the module docstring."""

    def __init__(self, version=DEFAULT_VERSION, access_token=ACCESS_TOKEN,
                 phone_number_id=PHONE_NUMBER_ID, strict=True):
        self.version = version
        self.access_token = access_token        # None: any Authorization is accepted
        self.phone_number_id = phone_number_id  # None: any id in the path is accepted
        self.strict = strict
        self._cond = threading.Condition()
        self._records = []
        self._failures = []                      # scripted failures, first first
        self._outage = None                      # (http_status, code) while "down"
        self._conns = set()
        self._wamids = 0
        self._seq = 0
        self._server = None
        self._thread = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="graph-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            conns = list(self._conns)
        for c in conns:  # wake handlers parked on an idle keep-alive connection
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def base_url(self):
        """Value for [whatsapp] graph_api_base: http://127.0.0.1:PORT/v21.0"""
        return f"http://127.0.0.1:{self.port}/{self.version}"

    @property
    def messages_path(self):
        return f"/{self.version}/{self.phone_number_id}/messages"

    def _track(self, conn, add):
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    # ------------------------------------------------------------ scripting

    def fail_next(self, code=None, http_status=None, message=None, details=None,
                  times=1, on="send", body=None, after=0):
        """Answer the next `times` requests of kind `on` ("send", "read" or "any")
        with a failure instead of accepting them. code: Meta's error code (its
        HTTP status defaults to Meta's: 400 for 130429/131047/131056…);
        http_status alone picks a code too (429 → 80007, 5xx → 131000/1/2).
        body: bytes/str answered as is (e.g. an HTML 502 from a proxy).
        after: let that many matching requests through first (fail_next(code=
        130429, after=1) fails the second send from now)."""
        if code is None and http_status is None:
            raise ValueError("fail_next needs a code or an http_status")
        if code is None:
            code = CODE_FOR_STATUS.get(http_status, 1 if http_status >= 500 else 100)
        if http_status is None:
            http_status = META_ERRORS.get(code, (400,))[0]
        if on not in ("send", "read", "any"):
            raise ValueError(f"on must be send, read or any, not {on!r}")
        with self._cond:
            for i in range(times):
                self._failures.append({"code": code, "http_status": http_status,
                                       "message": message, "details": details,
                                       "on": on, "body": body, "skip": after if i == 0 else 0})

    def outage(self, http_status=503, code=None):
        """From now on every request (sends and read receipts) fails with
        http_status (Meta's code for it unless code is given) until
        end_outage(): Graph is down. Refused requests are recorded (ok=False)."""
        if code is None:
            code = CODE_FOR_STATUS.get(http_status, 1 if http_status >= 500 else 100)
        with self._cond:
            self._outage = (http_status, code)

    def end_outage(self):
        """Graph answers normally again."""
        with self._cond:
            self._outage = None

    def pending_failures(self):
        """Scripted failures not used yet."""
        with self._cond:
            return len(self._failures)

    def reset(self):
        """Forget records and scripted failures (wamid numbering goes on)."""
        with self._cond:
            self._records.clear()
            self._failures.clear()

    # ------------------------------------------------------------ answering

    def _answer(self, method, target, headers, raw):
        url = urlsplit(target)
        rec = {"method": method, "path": url.path, "query": parse_qs(url.query),
               "headers": {k.lower(): v for k, v in headers.items()},
               "raw": raw, "json": None, "kind": "other", "to": None, "status": None,
               "ok": False, "wamid": None, "error_code": None, "problems": [],
               "response": None, "t": time.monotonic()}
        try:
            rec["json"] = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            rec["problems"].append("body is not UTF-8 JSON")
        m = re.fullmatch(rf"/{re.escape(self.version)}/([^/]+)/messages", url.path)
        if method == "POST" and m and (self.phone_number_id is None
                                       or m.group(1) == self.phone_number_id):
            body = rec["json"]
            is_read = isinstance(body, dict) and body.get("status") == "read"
            rec["kind"] = "read" if is_read else "send"
            if isinstance(body, dict) and not is_read:
                rec["to"] = body.get("to")
            if rec["json"] is not None or not rec["problems"]:
                rec["problems"] += cloud_api_problems(body, rec["kind"])
            ctype = rec["headers"].get("content-type", "")
            if not ctype.startswith("application/json"):
                rec["problems"].append(f"Content-Type {ctype!r}, not application/json")

        with self._cond:
            self._seq += 1
            rec["n"] = self._seq
            status, payload, extra = self._decide(rec)
            rec["status"], rec["response"] = status, payload
            rec["ok"] = 200 <= status < 300
            self._records.append(rec)
            self._cond.notify_all()
        return status, payload, extra

    def _decide(self, rec):
        """Called with the lock held. Returns (status, payload, extra)."""
        if rec["kind"] == "other":
            code = 100
            rec["error_code"] = code
            return 404, meta_error(code, f"Unsupported {rec['method'].lower()} request. "
                                         f"Object with ID '{rec['path']}' does not exist"), {}
        auth = rec["headers"].get("authorization", "")
        if self.access_token is not None and auth != f"Bearer {self.access_token}":
            rec["error_code"] = 190
            return 401, meta_error(190), {}
        if self._outage is not None:
            rec["error_code"] = self._outage[1]
            return self._outage[0], meta_error(self._outage[1]), {}
        f = next((f for f in self._failures if f["on"] in ("any", rec["kind"])), None)
        if f is not None and f["skip"] > 0:
            f["skip"] -= 1          # scripted with after=: this one goes through
        elif f is not None:
            self._failures.remove(f)
            rec["error_code"] = f["code"]
            if f["body"] is not None:
                data = f["body"].encode() if isinstance(f["body"], str) else f["body"]
                return f["http_status"], data, {"content_type": "text/html"}
            return f["http_status"], meta_error(f["code"], f["message"], f["details"]), {}
        if self.strict and rec["problems"]:
            rec["error_code"] = 100
            return 400, meta_error(100, "(#100) Invalid parameter",
                                   "; ".join(rec["problems"])), {}
        if rec["kind"] == "read":
            return 200, {"success": True}, {}
        self._wamids += 1
        rec["wamid"] = f"wamid.STUB{self._wamids}"
        to = rec["to"]
        payload = {"messaging_product": "whatsapp",
                   "contacts": [{"input": to, "wa_id": to}],
                   "messages": [{"id": rec["wamid"]}]}
        if rec["json"].get("type") == "template":
            payload["messages"][0]["message_status"] = "accepted"
        return 200, payload, {}

    # ------------------------------------------------------------ reading

    def requests(self):
        """Every request so far (copies of the list, records shared), in order."""
        with self._cond:
            return list(self._records)

    @staticmethod
    def _select(records, kind, ok=None, to=None):
        return [r for r in records if r["kind"] == kind
                and (ok is None or r["ok"] == ok) and (to is None or r["to"] == to)]

    def sends(self, ok=None, to=None):
        """Requests that are not read receipts. ok=True: only those accepted;
        ok=False: only those refused; to: only to that wa_id."""
        return self._select(self.requests(), "send", ok, to)

    def reads(self, ok=None):
        """Read receipts ({"status": "read", "message_id": …})."""
        return self._select(self.requests(), "read", ok)

    def read_ids(self):
        """message_id of every accepted read receipt."""
        return [r["json"]["message_id"] for r in self.reads(ok=True)]

    def wait_until(self, predicate, timeout=10, what="condition"):
        """Wait (bounded) until predicate(records) is truthy; return its value.
        TimeoutError lists what the stub received."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self._records))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"graph stub: {what} not true after {timeout} s; "
                                       f"received:\n{self.summary()}")
                self._cond.wait(min(left, 0.5))

    def wait_for_sends(self, n, timeout=10, ok=None, to=None):
        """Wait until at least n sends (filtered like sends()) arrived; return them."""
        return self.wait_until(
            lambda recs: (lambda s: s if len(s) >= n else None)(self._select(recs, "send", ok, to)),
            timeout, what=f"{n} send(s) (ok={ok}, to={to})")

    def wait_for_reads(self, n, timeout=10, ok=True):
        return self.wait_until(
            lambda recs: (lambda s: s if len(s) >= n else None)(self._select(recs, "read", ok)),
            timeout, what=f"{n} read receipt(s)")

    def summary(self):
        """One line per request, for failure messages."""
        with self._cond:
            recs = list(self._records)
        if not recs:
            return "  (nothing)"
        lines = []
        for r in recs:
            body = r["json"]
            what = (f"read {body.get('message_id')}" if r["kind"] == "read"
                    else f"{(body or {}).get('type')} to {r['to']}: {message_text(r)!r}"
                    if r["kind"] == "send" else r["path"])
            extra = f" error {r['error_code']}" if r["error_code"] else ""
            probs = f" problems {r['problems']}" if r["problems"] else ""
            lines.append(f"  #{r['n']} {r['method']} {r['kind']} → {r['status']}{extra}: "
                         f"{what[:160]}{probs}")
        return "\n".join(lines)


@pytest.fixture
def graph():
    """A started GraphStub (ACCESS_TOKEN, PHONE_NUMBER_ID), stopped afterwards."""
    stub = GraphStub().start()
    try:
        yield stub
    finally:
        stub.stop()
