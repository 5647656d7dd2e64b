"""A stand-in for Slack's Web API (https://slack.com/api) and for the
response_url of interactive messages, for the Slack channel tests: a
threaded HTTP/1.1 server on 127.0.0.1 (free port) that records every
request and answers the way Slack does.

    stub = SlackStub().start()              # or the `slack` fixture below
    stub.api_base                            # "http://127.0.0.1:PORT/api" → [slack] api_base
    stub.response_url("approve-1")           # "http://127.0.0.1:PORT/actions/approve-1"
    stub.fail_next(error="ratelimited", http_status=429, retry_after=1)
    stub.fail_next(error="channel_not_found")          # 200 {"ok": false, …}: final
    stub.fail_next(http_status=503)                    # a 5xx
    posts = stub.wait_for("chat.postMessage", 2, timeout=10, ok=True,
                          pred=lambda r: r["channel"] == "C0REVIEW")
    stub.wait_for("response_url", 1, pred=lambda r: r["name"] == "approve-1")
    stub.check()                             # AssertionError listing every rule a call broke

Routes (anything else: 404 {"ok": false, "error": "unknown_method"}):
    POST /api/chat.postMessage  → 200 {"ok": true, "channel", "ts": "<unique>", "message": {…}}
    POST /api/chat.update       → 200 {"ok": true, "channel", "ts" (echoed), "text", "message"}
                                  (unknown channel + ts → {"ok": false,
                                   "error": "message_not_found"})
    POST /api/chat.postEphemeral→ 200 {"ok": true, "message_ts"}
    GET|POST /api/auth.test     → the bot's identity (team T0SHOP, user U0REDRESS, bot B0REDRESS)
    GET|POST /api/users.info    → a user (locale from stub.users, "en-US" by default)
    GET|POST /api/conversations.info → a channel (is_im for D…, is_channel for C…)
    POST /actions/<name>        → the response_url: 200 "ok" (text/html, as hooks.slack.com)

Like Slack, the Web API refuses (unless strict=False), with HTTP 200 and
{"ok": false, "error": …}:
    no Authorization                         → not_authed
    not "Bearer <bot_token>"                 → invalid_auth
    a chat.* call whose body is not a JSON object with Content-Type
      application/json                       → invalid_arguments (Slack takes form posts
                                               too; the contract here is JSON)
    no channel                               → channel_not_found
    neither text nor blocks                  → no_text
    Block Kit the Slack API would reject     → invalid_blocks (with "errors")
    (ts / thread_ts not like "1700000000.000100" → invalid_arguments)
Every such rule broken is also listed in the record's "problems". A missing
"charset=utf-8" in the Content-Type is only a warning, as with Slack
("missing_charset" in the answer and the record's "warnings").

Every request becomes a record (a dict), in arrival order:
    n        1, 2, … (arrival order)          t        time.monotonic() at arrival
    method   HTTP method                       path, query, headers {lower-case: value}
    raw      body bytes                        json     parsed JSON body, or None
    args     the call's arguments: JSON body, form body or query (first values)
    kind     "api" | "response_url" | "other"
    api      Web API method ("chat.postMessage"), "response_url", or None
    name     for a response_url POST: <name> of /actions/<name>; else None
    channel, text, thread_ts, blocks           from args (None when absent)
    ts       the ts answered by postMessage / echoed by chat.update, else None
    status   HTTP status answered              ok       2xx and (for the Web API) "ok": true
    error    Slack's error string answered, else None
    retry_after  the Retry-After answered (s), else None
    problems rules of the Web API the request breaks ([] when none)
    warnings Slack's warnings for it           response what was answered (dict or bytes)

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

BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
TEAM_ID = "T0SHOP"
TEAM_NAME = "Demo Shop"
BOT_USER_ID = "U0REDRESS"
BOT_ID = "B0REDRESS"
APP_ID = "A0REDRESS"
API_PATH = "/api"
ACTIONS_PATH = "/actions"

TS_RE = re.compile(r"\d{10}\.\d{6}")
WRITE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
READ_METHODS = ("auth.test", "users.info", "conversations.info")

# Block Kit limits (https://api.slack.com/reference/block-kit)
MAX_BLOCKS = 50
MAX_TEXT = 40000
BLOCK_TYPES = ("section", "actions", "context", "divider", "header", "image",
               "rich_text", "input", "file", "video")
TEXT_TYPES = ("plain_text", "mrkdwn")

# What a failure scripted by HTTP status alone says.
ERROR_FOR_STATUS = {429: "ratelimited", 500: "internal_error", 502: "internal_error",
                    503: "service_unavailable", 504: "request_timeout"}


# --------------------------------------------------------------------------- reading records

def _body_of(rec_or_body):
    if isinstance(rec_or_body, dict) and "kind" in rec_or_body and "args" in rec_or_body:
        return rec_or_body.get("args") or {}
    return rec_or_body if isinstance(rec_or_body, dict) else {}


def message_text(rec_or_body):
    """The top-level "text" of a call (a record or its arguments), or None."""
    t = _body_of(rec_or_body).get("text")
    return t if isinstance(t, str) else None


def block_list(rec_or_body):
    """The blocks of a call as a list ([] when none). Slack also takes blocks
    as a JSON string (form posts): that is decoded."""
    b = _body_of(rec_or_body).get("blocks")
    if isinstance(b, str):
        try:
            b = json.loads(b)
        except ValueError:
            return []
    return b if isinstance(b, list) else []


def buttons(rec_or_body):
    """Every button element of every actions block (and section accessory), in order."""
    out = []
    for blk in block_list(rec_or_body):
        if not isinstance(blk, dict):
            continue
        if blk.get("type") == "actions":
            out += [e for e in blk.get("elements") or [] if isinstance(e, dict)
                    and e.get("type") == "button"]
        acc = blk.get("accessory")
        if isinstance(acc, dict) and acc.get("type") == "button":
            out.append(acc)
    return out


def button_ids(rec_or_body):
    """The action_id of every button, in order ([] when none)."""
    return [b.get("action_id") for b in buttons(rec_or_body)]


def _strings(node, out):
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, list):
        for x in node:
            _strings(x, out)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k in ("type", "style", "action_id", "block_id", "emoji", "verbatim"):
                continue
            _strings(v, out)


def block_text(rec_or_body):
    """Everything a person reads in the blocks (texts, fields, button titles,
    confirm dialogs, values), joined by new lines."""
    out = []
    _strings(block_list(rec_or_body), out)
    return "\n".join(out)


def all_text(rec_or_body):
    """The top-level text and block_text() together."""
    return "\n".join(x for x in (message_text(rec_or_body) or "", block_text(rec_or_body)) if x)


# --------------------------------------------------------------------------- Block Kit rules

def _text_object_problems(obj, where, max_len, types=TEXT_TYPES):
    if not isinstance(obj, dict):
        return [f"{where}: not a text object"]
    p = []
    if obj.get("type") not in types:
        p.append(f"{where}: text type {obj.get('type')!r} (allowed: {', '.join(types)})")
    t = obj.get("text")
    if not isinstance(t, str) or not 1 <= len(t) <= max_len:
        p.append(f"{where}: text must be 1..{max_len} characters"
                 f" (is {len(t) if isinstance(t, str) else type(t).__name__})")
    return p


def _confirm_problems(c, where):
    if not isinstance(c, dict):
        return [f"{where}: confirm is not an object"]
    p = _text_object_problems(c.get("title"), f"{where}.title", 100, ("plain_text",))
    p += _text_object_problems(c.get("text"), f"{where}.text", 300)
    p += _text_object_problems(c.get("confirm"), f"{where}.confirm", 30, ("plain_text",))
    p += _text_object_problems(c.get("deny"), f"{where}.deny", 30, ("plain_text",))
    if "style" in c and c["style"] not in ("primary", "danger"):
        p.append(f"{where}: confirm style {c['style']!r}")
    return p


def _element_problems(e, where, action_ids):
    if not isinstance(e, dict):
        return [f"{where}: element is not an object"]
    p = []
    kind = e.get("type")
    if kind == "button":
        p += _text_object_problems(e.get("text"), f"{where}.text", 75, ("plain_text",))
        aid = e.get("action_id")
        if "action_id" in e:
            if not isinstance(aid, str) or not 1 <= len(aid) <= 255:
                p.append(f"{where}: action_id must be 1..255 characters")
            elif aid in action_ids:
                p.append(f"{where}: action_id {aid!r} is not unique in the message")
            else:
                action_ids.add(aid)
        if "value" in e and (not isinstance(e["value"], str) or not 1 <= len(e["value"]) <= 2000):
            p.append(f"{where}: value must be 1..2000 characters")
        if "url" in e and (not isinstance(e["url"], str) or len(e["url"]) > 3000):
            p.append(f"{where}: url must be a string of at most 3000 characters")
        if "style" in e and e["style"] not in ("primary", "danger"):
            p.append(f"{where}: style {e['style']!r} (primary or danger, or leave it out)")
        if "confirm" in e:
            p += _confirm_problems(e["confirm"], f"{where}.confirm")
    elif kind == "image":
        if not isinstance(e.get("image_url"), str) or not isinstance(e.get("alt_text"), str):
            p.append(f"{where}: image needs image_url and alt_text")
    elif kind in TEXT_TYPES:
        p += _text_object_problems(e, where, 3000)
    elif kind in ("static_select", "overflow", "datepicker", "checkboxes", "radio_buttons",
                  "users_select", "conversations_select", "channels_select", "timepicker",
                  "multi_static_select", "plain_text_input"):
        pass
    else:
        p.append(f"{where}: unknown element type {kind!r}")
    return p


def block_kit_problems(blocks):
    """The Block Kit rules `blocks` breaks, as short strings ([] when none)."""
    if blocks is None:
        return []
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks is not JSON"]
    if not isinstance(blocks, list):
        return ["blocks is not an array"]
    p = []
    if len(blocks) > MAX_BLOCKS:
        p.append(f"{len(blocks)} blocks (at most {MAX_BLOCKS})")
    block_ids, action_ids = set(), set()
    for i, b in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(b, dict):
            p.append(f"{where}: not an object")
            continue
        kind = b.get("type")
        if kind not in BLOCK_TYPES:
            p.append(f"{where}: unknown block type {kind!r}")
            continue
        if "block_id" in b:
            bid = b["block_id"]
            if not isinstance(bid, str) or not 1 <= len(bid) <= 255:
                p.append(f"{where}: block_id must be 1..255 characters")
            elif bid in block_ids:
                p.append(f"{where}: block_id {bid!r} is not unique")
            else:
                block_ids.add(bid)
        if kind == "section":
            if "text" not in b and "fields" not in b:
                p.append(f"{where}: a section needs text or fields")
            if "text" in b:
                p += _text_object_problems(b["text"], f"{where}.text", 3000)
            if "fields" in b:
                f = b["fields"]
                if not isinstance(f, list) or not 1 <= len(f) <= 10:
                    p.append(f"{where}: fields must be 1..10 text objects")
                else:
                    for j, fo in enumerate(f):
                        p += _text_object_problems(fo, f"{where}.fields[{j}]", 2000)
            if "accessory" in b:
                p += _element_problems(b["accessory"], f"{where}.accessory", action_ids)
        elif kind == "header":
            p += _text_object_problems(b.get("text"), f"{where}.text", 150, ("plain_text",))
        elif kind == "context":
            els = b.get("elements")
            if not isinstance(els, list) or not 1 <= len(els) <= 10:
                p.append(f"{where}: context elements must be 1..10")
            else:
                for j, e in enumerate(els):
                    if not isinstance(e, dict) or e.get("type") not in TEXT_TYPES + ("image",):
                        p.append(f"{where}.elements[{j}]: context takes text or image elements")
                    else:
                        p += _element_problems(e, f"{where}.elements[{j}]", action_ids)
        elif kind == "actions":
            els = b.get("elements")
            if not isinstance(els, list) or not 1 <= len(els) <= 25:
                p.append(f"{where}: actions elements must be 1..25")
            else:
                for j, e in enumerate(els):
                    if isinstance(e, dict) and e.get("type") in TEXT_TYPES + ("image",):
                        p.append(f"{where}.elements[{j}]: {e.get('type')} in an actions block")
                    else:
                        p += _element_problems(e, f"{where}.elements[{j}]", action_ids)
    return p


def web_api_problems(api, args, headers, raw, http_method, bot_token):
    """Every rule of the Web API (and of this project's contract) a call breaks."""
    p = []
    auth = headers.get("authorization")
    if auth is None:
        p.append("no Authorization header")
    elif bot_token is not None and auth != f"Bearer {bot_token}":
        p.append(f"Authorization is {auth[:24]!r}…, not 'Bearer <bot_token>'")
    ctype = headers.get("content-type", "")
    if api in WRITE_METHODS or (http_method == "POST" and raw):
        if http_method != "POST":
            p.append(f"{api} must be a POST")
        if not ctype.startswith("application/json"):
            p.append(f"Content-Type {ctype!r}, not application/json")
        if not isinstance(args, dict) or args.get("__json__") is not True:
            p.append("body is not a JSON object")
    if api in WRITE_METHODS and isinstance(args, dict):
        ch = args.get("channel")
        if not isinstance(ch, str) or not ch:
            p.append("no channel")
        text, blocks = args.get("text"), args.get("blocks")
        if text is not None and not isinstance(text, str):
            p.append("text is not a string")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            p.append(f"text longer than {MAX_TEXT} characters")
        if not (isinstance(text, str) and text.strip()) and not blocks:
            p.append("neither text nor blocks")
        p += block_kit_problems(blocks)
        tts = args.get("thread_ts")
        if tts is not None and not (isinstance(tts, str) and TS_RE.fullmatch(tts)):
            p.append(f"thread_ts {tts!r} is not a message ts like 1700000000.000100")
        if api == "chat.update":
            ts = args.get("ts")
            if not (isinstance(ts, str) and TS_RE.fullmatch(ts)):
                p.append(f"ts {ts!r} is not a message ts like 1700000000.000100")
        if api == "chat.postEphemeral" and not args.get("user"):
            p.append("chat.postEphemeral without a user")
    return p


# --------------------------------------------------------------------------- server

class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY each answer
    # waits for the client's delayed ACK (40 ms), which caps a load test at ~25/s
    disable_nagle_algorithm = True
    timeout = 30          # an idle keep-alive connection is dropped after this
    server_version = "slack-stub"
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
        self.send_header("Content-Type", extra.get("content_type",
                                                   "application/json; charset=utf-8"))
        for k, v in extra.get("headers", {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class SlackStub:
    """See the module docstring."""

    def __init__(self, bot_token=BOT_TOKEN, strict=True):
        self.bot_token = bot_token               # None: any Authorization is accepted
        self.strict = strict
        self.users = {}                          # user id → extra fields for users.info
        self._cond = threading.Condition()
        self._records = []
        self._failures = []                      # scripted failures, first first
        self._messages = {}                      # (channel, ts) → what the channel shows now
        self._conns = set()
        self._seq = 0
        self._ts_seq = 0
        self._ts_base = int(time.time())
        self._server = None
        self._thread = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="slack-stub", daemon=True)
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
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self):
        """Value for [slack] api_base: http://127.0.0.1:PORT/api (no trailing slash)."""
        return self.base_url + API_PATH

    def response_url(self, name):
        """A response_url for a block_actions payload; POSTs to it are recorded
        with kind "response_url" and name `name`."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"response_url name {name!r}: letters, digits, . _ - only")
        return f"{self.base_url}{ACTIONS_PATH}/{name}"

    def _track(self, conn, add):
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    # ------------------------------------------------------------ scripting

    def fail_next(self, error=None, http_status=None, retry_after=None, times=1,
                  on="chat.postMessage", after=0, body=None, channel=None):
        """Answer the next `times` calls of Web API method `on` ("any" for every
        method; "response_url" for response_url POSTs) with a failure.

        error: Slack's error string ("ratelimited", "channel_not_found", …);
          http_status defaults to 200, as Slack answers most errors
          ({"ok": false, "error": error}).
        http_status: 429 or 5xx; alone it picks an error too (429 →
          ratelimited, 500 → internal_error, 503 → service_unavailable).
        retry_after: seconds, sent as a Retry-After header (429 defaults to 1).
        body: bytes/str answered as is (an HTML 503 from a proxy).
        after: let that many matching calls through first.
        channel: only calls to this channel match."""
        if error is None and http_status is None and body is None:
            raise ValueError("fail_next needs an error, an http_status or a body")
        if http_status is None:
            http_status = 200
        if error is None and body is None:
            error = ERROR_FOR_STATUS.get(http_status, "internal_error" if http_status >= 500
                                         else "invalid_request")
        if http_status == 429 and retry_after is None:
            retry_after = 1
        with self._cond:
            for i in range(times):
                self._failures.append({"error": error, "http_status": http_status,
                                       "retry_after": retry_after, "on": on, "body": body,
                                       "channel": channel, "skip": after if i == 0 else 0})

    def pending_failures(self):
        """Scripted failures not used yet."""
        with self._cond:
            return len(self._failures)

    def reset(self):
        """Forget records, messages and scripted failures (ts numbering goes on)."""
        with self._cond:
            self._records.clear()
            self._failures.clear()
            self._messages.clear()

    # ------------------------------------------------------------ answering

    def _new_ts(self):
        self._ts_seq += 1
        return f"{self._ts_base}.{self._ts_seq * 100:06d}"

    @staticmethod
    def _parse_args(method, url, headers, raw, rec):
        """JSON body, form body or query → dict (JSON ones carry __json__)."""
        ctype = headers.get("content-type", "")
        if raw:
            if ctype.startswith("application/x-www-form-urlencoded"):
                try:
                    form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
                except UnicodeDecodeError:
                    rec["problems"].append("form body is not UTF-8")
                    return {}
                return {k: v[0] for k, v in form.items()}
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                rec["problems"].append("body is not UTF-8 JSON")
                return {}
            rec["json"] = body
            if not isinstance(body, dict):
                return {}
            return {**body, "__json__": True}
        return {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}

    def _answer(self, method, target, headers, raw):
        url = urlsplit(target)
        hdrs = {k.lower(): v for k, v in headers.items()}
        rec = {"method": method, "path": url.path, "query": parse_qs(url.query),
               "headers": hdrs, "raw": raw, "json": None, "args": {}, "kind": "other",
               "api": None, "name": None, "channel": None, "text": None, "thread_ts": None,
               "blocks": None, "ts": None, "status": None, "ok": False, "error": None,
               "retry_after": None, "problems": [], "warnings": [], "response": None,
               "t": time.monotonic()}
        if url.path.startswith(API_PATH + "/"):
            rec["kind"], rec["api"] = "api", url.path[len(API_PATH) + 1:]
        elif url.path.startswith(ACTIONS_PATH + "/") and method == "POST":
            rec["kind"], rec["api"] = "response_url", "response_url"
            rec["name"] = url.path[len(ACTIONS_PATH) + 1:]
        args = self._parse_args(method, url, hdrs, raw, rec)
        if rec["kind"] == "response_url":
            if rec["json"] is None:
                rec["problems"].append("response_url body is not JSON")
            elif not hdrs.get("content-type", "").startswith("application/json"):
                rec["problems"].append(f"Content-Type {hdrs.get('content-type')!r}, "
                                       "not application/json")
        if isinstance(args, dict):
            for k in ("channel", "text", "thread_ts", "blocks"):
                rec[k] = args.get(k)
        if rec["kind"] == "api":
            rec["problems"] += web_api_problems(rec["api"], args, hdrs, raw, method,
                                                self.bot_token)
            ctype = hdrs.get("content-type", "")
            if raw and ctype.startswith("application/json") and "charset" not in ctype.lower():
                rec["warnings"].append("missing_charset")
        rec["args"] = {k: v for k, v in args.items() if k != "__json__"} \
            if isinstance(args, dict) else {}

        with self._cond:
            self._seq += 1
            rec["n"] = self._seq
            status, payload, extra = self._decide(rec)
            rec["status"], rec["response"] = status, payload
            if rec["kind"] == "api":
                rec["ok"] = 200 <= status < 300 and isinstance(payload, dict) \
                    and payload.get("ok") is True
                if isinstance(payload, dict) and payload.get("ok") is False:
                    rec["error"] = payload.get("error")
            else:
                rec["ok"] = 200 <= status < 300
            if rec["warnings"] and isinstance(payload, dict) and payload.get("ok"):
                payload["warning"] = ",".join(rec["warnings"])
                payload["response_metadata"] = {"warnings": list(rec["warnings"])}
            self._records.append(rec)
            self._cond.notify_all()
        return status, payload, extra

    def _scripted(self, rec):
        """The scripted failure this call consumes, or None. Lock held."""
        for f in self._failures:
            if f["on"] not in ("any", rec["api"]):
                continue
            if f["on"] == "any" and rec["kind"] != "api":
                continue
            if f["channel"] is not None and f["channel"] != rec["channel"]:
                continue
            if f["skip"] > 0:
                f["skip"] -= 1
                return None
            self._failures.remove(f)
            return f
        return None

    def _decide(self, rec):
        """Called with the lock held. Returns (status, payload, extra)."""
        if rec["kind"] == "other":
            return 404, {"ok": False, "error": "unknown_method"}, {}
        api, args = rec["api"], rec["args"]

        if rec["kind"] == "response_url":
            f = self._scripted(rec)
            if f is not None:
                return self._failure(rec, f)
            return 200, b"ok", {"content_type": "text/html"}

        if api not in WRITE_METHODS + READ_METHODS:
            return 404, {"ok": False, "error": "unknown_method"}, {}
        auth = rec["headers"].get("authorization")
        if auth is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if self.bot_token is not None and auth != f"Bearer {self.bot_token}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        f = self._scripted(rec)
        if f is not None:
            return self._failure(rec, f)
        if self.strict and rec["problems"]:
            probs = rec["problems"]
            if any(p.startswith("blocks") for p in probs):
                return 200, {"ok": False, "error": "invalid_blocks", "errors": probs,
                             "response_metadata": {"messages": [f"[ERROR] {p}" for p in probs]}}, {}
            if "no channel" in probs:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            if "neither text nor blocks" in probs:
                return 200, {"ok": False, "error": "no_text"}, {}
            return 200, {"ok": False, "error": "invalid_arguments",
                         "response_metadata": {"messages": [f"[ERROR] {p}" for p in probs]}}, {}
        return 200, getattr(self, "_api_" + api.replace(".", "_"))(rec, args), {}

    @staticmethod
    def _failure(rec, f):
        extra = {}
        if f["retry_after"] is not None:
            extra["headers"] = {"Retry-After": str(f["retry_after"])}
            rec["retry_after"] = f["retry_after"]
        if f["body"] is not None:
            data = f["body"].encode() if isinstance(f["body"], str) else f["body"]
            extra["content_type"] = "text/html"
            return f["http_status"], data, extra
        rec["error"] = f["error"]
        return f["http_status"], {"ok": False, "error": f["error"]}, extra

    def _bot_message(self, args, ts):
        """The "message" Slack answers with: posted as our bot user."""
        msg = {"type": "message", "text": args.get("text") or "", "user": BOT_USER_ID,
               "bot_id": BOT_ID, "app_id": APP_ID, "ts": ts, "team": TEAM_ID,
               "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "redress",
                               "team_id": TEAM_ID, "deleted": False}}
        if args.get("blocks"):
            msg["blocks"] = block_list(args)
        if args.get("thread_ts"):
            msg["thread_ts"] = args["thread_ts"]
        return msg

    @staticmethod
    def _dm_channel(ch):
        """Slack opens the DM when chat.postMessage gets a user id: U0ALEX → D0ALEX."""
        return "D" + ch[1:] if ch.startswith(("U", "W")) else ch

    def _api_chat_postMessage(self, rec, args):
        ch = self._dm_channel(args["channel"])
        ts = self._new_ts()
        rec["ts"] = ts
        msg = self._bot_message(args, ts)
        self._messages[(ch, ts)] = {"channel": ch, "ts": ts, "text": args.get("text"),
                                    "blocks": block_list(args), "thread_ts": args.get("thread_ts"),
                                    "posted_by": rec["n"], "updated_by": []}
        return {"ok": True, "channel": ch, "ts": ts, "message": msg}

    def _api_chat_update(self, rec, args):
        ch, ts = args["channel"], args["ts"]
        m = self._messages.get((ch, ts))
        if m is None:
            return {"ok": False, "error": "message_not_found"}
        rec["ts"] = ts
        if "text" in args:
            m["text"] = args.get("text")
        if "blocks" in args:
            m["blocks"] = block_list(args)
        m["updated_by"].append(rec["n"])
        msg = self._bot_message({"text": m["text"], "blocks": m["blocks"]}, ts)
        return {"ok": True, "channel": ch, "ts": ts, "text": m["text"] or "", "message": msg}

    def _api_chat_postEphemeral(self, rec, args):
        return {"ok": True, "message_ts": self._new_ts()}

    @staticmethod
    def _api_auth_test(rec, args):
        return {"ok": True, "url": "https://demo-shop.slack.com/", "team": TEAM_NAME,
                "user": "redress", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": BOT_ID, "is_enterprise_install": False}

    def _api_users_info(self, rec, args):
        uid = args.get("user")
        if not uid:
            return {"ok": False, "error": "user_not_found"}
        user = {"id": uid, "team_id": TEAM_ID, "name": uid.lower(), "deleted": False,
                "real_name": uid, "tz": "America/Los_Angeles", "locale": "en-US",
                "is_bot": uid == BOT_USER_ID, "profile": {"real_name": uid, "display_name": uid}}
        user.update(self.users.get(uid, {}))
        return {"ok": True, "user": user}

    @staticmethod
    def _api_conversations_info(rec, args):
        ch = args.get("channel")
        if not ch:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": ch, "name": ch.lower(),
                                        "is_channel": ch.startswith("C"),
                                        "is_group": ch.startswith("G"),
                                        "is_im": ch.startswith("D"),
                                        "is_private": not ch.startswith("C"),
                                        "is_member": True}}

    # ------------------------------------------------------------ reading

    def requests(self):
        """Every request so far (a copy of the list, records shared), in order."""
        with self._cond:
            return list(self._records)

    @staticmethod
    def _select(records, method, ok=None, pred=None):
        out = []
        for r in records:
            if method not in ("any", r["api"]):
                continue
            if ok is not None and r["ok"] != ok:
                continue
            if pred is not None:
                try:
                    if not pred(r):
                        continue
                except (KeyError, TypeError, AttributeError, IndexError):
                    continue
            out.append(r)
        return out

    def calls(self, method="any", ok=None, pred=None):
        """Records of one Web API method ("chat.postMessage"), "response_url", or
        "any"; ok=True/False: only those that succeeded/failed; pred(rec) filters."""
        return self._select(self.requests(), method, ok, pred)

    def posts(self, channel=None, ok=None):
        """chat.postMessage calls (to one channel)."""
        return self.calls("chat.postMessage", ok,
                          None if channel is None else lambda r: r["channel"] == channel)

    def updates(self, channel=None, ts=None, ok=None):
        """chat.update calls (of one message)."""
        return self.calls("chat.update", ok, lambda r: (channel is None or r["channel"] == channel)
                          and (ts is None or r["args"].get("ts") == ts))

    def responses(self, name=None):
        """POSTs to a response_url (of one name)."""
        return self.calls("response_url", None,
                          None if name is None else lambda r: r["name"] == name)

    def message(self, channel, ts):
        """What the channel shows now for a message the stub posted (after every
        chat.update): {"channel", "ts", "text", "blocks", "thread_ts", "posted_by",
        "updated_by": [record numbers]}, or None."""
        with self._cond:
            m = self._messages.get((channel, ts))
            return None if m is None else {**m, "updated_by": list(m["updated_by"])}

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
                    raise TimeoutError(f"slack stub: {what} not true after {timeout} s; "
                                       f"received:\n{self.summary()}")
                self._cond.wait(min(left, 0.5))

    def wait_for(self, method, n=1, timeout=10, pred=None, ok=None):
        """Wait until at least n records of `method` (as calls()) match; return
        all that match, in order."""
        def enough(recs):
            s = self._select(recs, method, ok, pred)
            return s if len(s) >= n else None
        return self.wait_until(enough, timeout,
                               what=f"{n} {method} call(s) (ok={ok}"
                                    f"{', with a predicate' if pred else ''})")

    def problems(self):
        """[(record number, api, problem)] for every Web API or response_url call
        that broke a rule."""
        return [(r["n"], r["api"], p) for r in self.requests()
                if r["kind"] in ("api", "response_url") for p in r["problems"]]

    def check(self):
        """AssertionError listing every broken rule (authorization, JSON body,
        Block Kit, ts shapes); also every request to an unknown path or
        Web API method (one the stub does not model)."""
        bad = [f"  #{n} {api}: {p}" for n, api, p in self.problems()]
        bad += [f"  #{r['n']} {r['method']} {r['path']}: unknown path or Web API method"
                for r in self.requests() if r["kind"] == "other"
                or (r["kind"] == "api" and r["error"] == "unknown_method")]
        if bad:
            raise AssertionError("slack stub: calls broke the Web API's rules:\n"
                                 + "\n".join(bad) + "\nreceived:\n" + self.summary())

    def summary(self):
        """One line per request, for failure messages."""
        with self._cond:
            recs = list(self._records)
        if not recs:
            return "  (nothing)"
        lines = []
        for r in recs:
            if r["kind"] == "api":
                a = r["args"]
                what = f"{r['api']} channel={a.get('channel')}"
                if a.get("thread_ts"):
                    what += f" thread_ts={a['thread_ts']}"
                if r["api"] == "chat.update":
                    what += f" ts={a.get('ts')}"
                if r["ts"] and r["api"] == "chat.postMessage":
                    what += f" → ts {r['ts']}"
                ids = button_ids(r)
                what += f" {(a.get('text') or '')[:120]!r}" + (f" buttons {ids}" if ids else "")
            elif r["kind"] == "response_url":
                a = r["args"]
                what = (f"response_url {r['name']} {a.get('response_type')}"
                        f" {(a.get('text') or '')[:120]!r}")
            else:
                what = f"{r['method']} {r['path']}"
            extra = f" error {r['error']}" if r["error"] else ""
            extra += f" retry-after {r['retry_after']}" if r["retry_after"] is not None else ""
            probs = f" problems {r['problems']}" if r["problems"] else ""
            lines.append(f"  #{r['n']} → {r['status']}{extra}: {what}{probs}")
        return "\n".join(lines)


@pytest.fixture
def slack():
    """A started SlackStub (BOT_TOKEN), stopped afterwards."""
    stub = SlackStub().start()
    try:
        yield stub
    finally:
        stub.stop()
