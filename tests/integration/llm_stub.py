"""A stand-in for an LLM provider, for the [llm] tests: a threaded HTTP/1.1
server on 127.0.0.1 (free port) that speaks both wire formats redress uses,
records every request and answers what each test scripts.

    stub = LlmStub().start()                 # or the `llm` fixture below
    stub.openai_base                         # "http://127.0.0.1:PORT/v1"  → [llm] base_url (openai)
    stub.anthropic_base                      # "http://127.0.0.1:PORT"     → [llm] base_url (anthropic)
    stub.understand(intent="refund_request", language="en", order_id="1001")
    stub.tool_call("refund_order", {"order_id": "9999", "amount": 50000})
    stub.phrase(["Sure! {amount} for {order}…"])
    stub.fail(status=429, retry_after=None)  # or status=500, or raw="{not json", or delay=3
    reqs = stub.wait_for(1)                   # the records (bounded wait)

Routes:
    POST /v1/chat/completions   OpenAI Chat Completions (also vLLM, llama.cpp, Ollama)
        answer {"id", "object": "chat.completion", "model", "choices": [{"index": 0,
                "message": {"role": "assistant", "content": null, "tool_calls": [{"id",
                "type": "function", "function": {"name", "arguments": "<JSON text>"}}]},
                "finish_reason": "tool_calls"}], "usage": {"prompt_tokens", "completion_tokens"}}
    POST /v1/messages           Anthropic Messages
        answer {"id", "type": "message", "role": "assistant", "model", "content": [{"type":
                "tool_use", "id", "name", "input": {…}}], "stop_reason": "tool_use",
                "usage": {"input_tokens", "output_tokens"}}
Everything else is 404.

Like the providers, the stub refuses (400, or 401 for the key) a request
that breaks the format: the model, messages (system + user, or "system" and
one user message), the forced tool with its JSON schema, temperature,
max_tokens, and the key (Authorization: Bearer, or x-api-key with
anthropic-version: 2023-06-01). Every rule broken is in the record's
"problems".

Scripted answers are used first in, first out, whichever format was asked;
with none left the stub answers 503 (a dead model). Each record:
    n, t (monotonic), path, provider ("openai" | "anthropic" | None), headers
    (lower-case), raw, json, user (the user message text), user_json (it
    parsed, or None), tool (the forced tool name), status, problems, answer
Only the standard library.
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

import pytest

API_KEY = "sk-test-llm-key-0123456789"
MODEL = "stub-model-1"


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "llm-stub"
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

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        status, body, headers, delay = self.server.stub._answer(self.path, self.headers, raw)
        if delay:
            # a slow model: the client gives up first; a closed socket is fine
            if self.server.stub._stopping.wait(delay):
                return
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class LlmStub:
    """See the module docstring."""

    def __init__(self, api_key=API_KEY, model=MODEL):
        self.api_key = api_key
        self.model = model
        self._cond = threading.Condition()
        self._records = []
        self._script = []
        self._conns = set()
        self._seq = 0
        self._stopping = threading.Event()
        self._server = None
        self._thread = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="llm-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._server = None

    def _track(self, conn, add):
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def openai_base(self):
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base(self):
        return f"http://127.0.0.1:{self.port}"

    def config(self, provider="openai", **extra):
        """[llm] overrides for a gateway that talks to this stub."""
        cfg = {"enabled": "true", "provider": provider, "model": self.model,
               "base_url": self.openai_base if provider == "openai" else self.anthropic_base,
               "api_key": self.api_key, "timeout_ms": 2000}
        cfg.update(extra)
        return {"llm": cfg}

    # ------------------------------------------------------------ scripting

    def _push(self, item):
        with self._cond:
            self._script.append(item)
        return self

    def understand(self, delay=0, usage=(120, 40), **fields):
        """Answer report_understanding with these arguments. intent and
        language default to "other" and "en"; other keys as given (even
        ones the schema does not have: the gateway must refuse them)."""
        args = {"intent": "other", "language": "en"}
        args.update(fields)
        return self._push({"tool": "report_understanding", "args": args, "delay": delay,
                           "usage": usage})

    def tool_call(self, name, args, delay=0):
        """Answer with a call of another tool (an injected one)."""
        return self._push({"tool": name, "args": args, "delay": delay, "usage": (100, 20)})

    def phrase(self, replies, delay=0):
        """Answer phrase_replies with these texts."""
        return self._push({"tool": "phrase_replies", "args": {"replies": list(replies)},
                           "delay": delay, "usage": (200, 60)})

    def fail(self, status=500, raw=None, delay=0, retry_after=None):
        """The next request gets status (429, 5xx…) or, with raw, a 200 whose
        body is raw (malformed JSON); delay seconds first (a timeout)."""
        return self._push({"status": status if raw is None else 200, "raw": raw,
                           "delay": delay, "retry_after": retry_after})

    def pending(self):
        with self._cond:
            return len(self._script)

    # ------------------------------------------------------------ answering

    def _check(self, rec):
        p, body, h = rec["problems"], rec["json"], rec["headers"]
        if not isinstance(body, dict):
            return p.append("body is not a JSON object")
        if body.get("model") != self.model:
            p.append(f"model {body.get('model')!r}")
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] <= 0:
            p.append("max_tokens missing or not a positive integer")
        if not isinstance(body.get("temperature"), (int, float)):
            p.append("temperature missing")
        tools = body.get("tools")
        if rec["provider"] == "openai":
            if h.get("authorization") != f"Bearer {self.api_key}":
                p.append("auth")
            msgs = body.get("messages") or []
            if [m.get("role") for m in msgs] != ["system", "user"]:
                p.append(f"messages roles {[m.get('role') for m in msgs]}")
            else:
                rec["user"] = msgs[1].get("content")
            try:
                fn = tools[0]["function"]
                rec["tool"] = fn["name"]
                assert tools[0]["type"] == "function" and fn["parameters"]["type"] == "object"
                tc = body["tool_choice"]
                assert tc["type"] == "function" and tc["function"]["name"] == fn["name"]
            except (KeyError, TypeError, IndexError, AssertionError):
                p.append("tools / tool_choice not a forced function call with a JSON schema")
        else:
            if h.get("x-api-key") != self.api_key:
                p.append("auth")
            if h.get("anthropic-version") != "2023-06-01":
                p.append(f"anthropic-version {h.get('anthropic-version')!r}")
            if not isinstance(body.get("system"), str) or not body["system"]:
                p.append("no system prompt")
            msgs = body.get("messages") or []
            if [m.get("role") for m in msgs] != ["user"]:
                p.append(f"messages roles {[m.get('role') for m in msgs]}")
            else:
                rec["user"] = msgs[0].get("content")
            try:
                rec["tool"] = tools[0]["name"]
                assert tools[0]["input_schema"]["type"] == "object"
                tc = body["tool_choice"]
                assert tc == {"type": "tool", "name": tools[0]["name"]}
            except (KeyError, TypeError, IndexError, AssertionError):
                p.append("tools / tool_choice not a forced tool with an input_schema")
        try:
            rec["user_json"] = json.loads(rec["user"]) if rec["user"] else None
        except ValueError:
            p.append("user message is not JSON")

    def _format(self, provider, item):
        self._seq += 1
        pt, ct = item.get("usage", (0, 0))
        if provider == "openai":
            return {"id": f"chatcmpl-{self._seq}", "object": "chat.completion", "model": self.model,
                    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                        "role": "assistant", "content": None, "tool_calls": [{
                            "id": f"call_{self._seq}", "type": "function",
                            "function": {"name": item["tool"],
                                         "arguments": json.dumps(item["args"])}}]}}],
                    "usage": {"prompt_tokens": pt, "completion_tokens": ct,
                              "total_tokens": pt + ct}}
        return {"id": f"msg_{self._seq}", "type": "message", "role": "assistant",
                "model": self.model, "stop_reason": "tool_use",
                "content": [{"type": "text", "text": "Let me report that."},
                            {"type": "tool_use", "id": f"toolu_{self._seq}", "name": item["tool"],
                             "input": item["args"]}],
                "usage": {"input_tokens": pt, "output_tokens": ct}}

    def _answer(self, path, headers, raw):
        provider = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}.get(path)
        rec = {"path": path, "provider": provider, "raw": raw, "json": None, "user": None,
               "user_json": None, "tool": None, "status": None, "problems": [], "answer": None,
               "headers": {k.lower(): v for k, v in headers.items()}, "t": time.monotonic()}
        try:
            rec["json"] = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
        delay, extra = 0, {}
        with self._cond:
            if provider is None:
                status, body = 404, {"error": {"message": "not found"}}
            else:
                self._check(rec)
                if "auth" in rec["problems"]:
                    status, body = 401, {"error": {"type": "authentication_error"}}
                elif rec["problems"]:
                    status, body = 400, {"error": {"type": "invalid_request_error",
                                                   "message": "; ".join(rec["problems"])}}
                elif not self._script:
                    status, body = 503, {"error": {"type": "overloaded_error"}}
                else:
                    item = self._script.pop(0)
                    delay = item.get("delay", 0)
                    if "tool" in item:
                        status, body = 200, self._format(provider, item)
                    elif item.get("raw") is not None:
                        status, body = 200, item["raw"].encode()
                    else:
                        status = item["status"]
                        body = {"error": {"type": "rate_limit_error" if status == 429
                                          else "api_error", "message": "scripted"}}
                        if item.get("retry_after") is not None:
                            extra["Retry-After"] = str(item["retry_after"])
            self._seq += 1
            rec["n"] = self._seq
            rec["status"], rec["answer"] = status, body
            self._records.append(rec)
            self._cond.notify_all()
        return status, body, extra, delay

    # ------------------------------------------------------------ reading

    def requests(self):
        with self._cond:
            return list(self._records)

    def wait_for(self, n, timeout=10):
        """Wait (bounded) until at least n requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._records) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"llm stub: {n} request(s) not received after {timeout} s; "
                                       f"got {len(self._records)}")
                self._cond.wait(min(left, 0.5))
            return list(self._records)


@pytest.fixture
def llm():
    """A started LlmStub, stopped afterwards."""
    stub = LlmStub().start()
    try:
        yield stub
    finally:
        stub.stop()
