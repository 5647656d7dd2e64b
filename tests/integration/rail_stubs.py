"""Stand-ins for the refund rails, for tests/integration/test_rails.py: Stripe
(cards), a Pix PSP on the Banco Central do Brasil "API Pix" standard (with
its OAuth2 token endpoint) and a USDC wallet provider. Three threaded
HTTP/1.1 servers on 127.0.0.1 (free ports, one per provider, as three hosts
would be) that record every request and answer in each provider's format.

    stubs = RailStubs().start()          # or the `rails` fixture below
    stubs.stripe.base_url                 # → [rails.stripe] api_base
    stubs.pix.api_base, stubs.pix.token_url
    stubs.usdc.base_url
    stubs.stripe.fail_next(status=500)                       # next create: 500, not saved under its key
    stubs.stripe.fail_next(code="charge_already_refunded")   # next create: Stripe's 400 (saved: replayed)
    stubs.stripe.hang_next(0.8)          # next create is made, its answer comes 0.8 s later
    stubs.stripe.next_status("pending")  # the next refund created is pending (then send a webhook)
    stubs.pix.next_statuses(["EM_PROCESSAMENTO", "DEVOLVIDO"])   # what the GETs of the next devolução say
    stubs.usdc.policy_violation_next()   # 403 POLICY_VIOLATION
    send_stripe_webhook(gw, stubs.stripe.event("refund.updated", refund))

Every stub has the same scripting and reading API:
    fail_next(status=None, code=None, message=None, times=1, kind=None, saved=None, body=None, after=0)
        the next `times` requests of `kind` (default: the stub's money-moving call) fail.
        after=N lets N matching requests through first. body: bytes/str answered as is.
    hang_next(seconds, times=1, kind=None)
        the request is served normally (the refund IS created) and its answer is held
        `seconds`: the caller's timeout fires while the provider goes ahead.
    requests(kind=None, ok=None)       records (dicts), arrival order
    wait_until(pred, timeout, what)    bounded wait on pred(records); TimeoutError lists them
    wait_for(kind, n, ok=None, timeout=10)
    summary()                          one line per request, for failure messages
    reset()                            forget records and scripted behaviour

Record fields: n, t (monotonic), rail ("stripe"|"pix"|"usdc"), kind, method, path,
query, headers {lower-case: value}, raw (bytes), form {name: last value} and
form_pairs (urlencoded bodies), json (JSON bodies), idempotency_key, status,
ok, response (what was answered: dict or bytes), error_code, replayed (an
idempotent replay), delay (seconds held), problems (the provider's rules the
request breaks; strict stubs answer 400 for them).

Kinds: stripe "create" (POST /v1/refunds), "retrieve" (GET /v1/refunds/{id});
pix "token" (POST /oauth/token), "put" (PUT …/pix/{e2eid}/devolucao/{id}), "get"
(GET of the same); usdc "refund" (POST /v1/payments/refund), "retrieve"
(GET /v1/payments/refund/{refund_id}, or …/refunds/…: not in the contract);
anything else "other" (404 in the provider's error format).

Idempotency, like the real ones:
  Stripe: the first response for an Idempotency-Key is saved (an error that
    happens before execution — scripted 429/5xx by default — is not) and
    replayed for the same key with `Idempotent-Replayed: true`; the same key
    with other parameters → 400 idempotency_error; the same key while the first
    request is still running (hang_next) → 409 idempotency_error
    (code idempotency_key_in_use, `Stripe-Should-Retry: true`).
  Pix: PUT of an existing devolução id with the same valor → that devolução
    (201, created once); another valor → 409.
  USDC: same Idempotency-Key → the same response; other body → 422 IDEMPOTENCY_MISMATCH.

Only the standard library (plus pytest and requests for the fixtures and the
webhook helper): usable from any test module, or by hand.
"""
import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

STRIPE_SECRET_KEY = "sk_test_redress"
STRIPE_WEBHOOK_SECRET = "whsec_redress"
STRIPE_API_VERSION = "2024-06-20"
PIX_CLIENT_ID = "redress-client"
PIX_CLIENT_SECRET = "pix-secret"
PIX_ISPB = "12345678"
USDC_API_KEY = "usdc-key"
USDC_AGENT_ID = "agent-redress"
LINK_SECRET = "link-secret"
ISSUER_NAME = "Loja Exemplo"
ISSUER_TAX_ID = "12.345.678/0001-90"
RAIL_TIMEOUT_MS = 500

# The orders the rail tests use (README "## Orders"), all auto-approved by the
# default policy. 2004 is a second Pix order (token reuse); 2005 a card paid
# with a charge id (ch_…) rather than a PaymentIntent.
RAIL_ORDERS = [
    {"id": "2001", "currency": "USD", "total": 4900, "refunded": 0,
     "customer": {"name": "Alex Moreau", "email": "alex2@example.com", "phone": "+14155550201",
                  "risk_score": 0.02, "chargebacks": 0},
     "items": [{"sku": "MUG-014", "category": "home", "final_sale": False, "price": 2450,
                "quantity": 2}],
     "payment": {"rail": "card", "provider": "stripe", "id": "pi_3NabcDEF"},
     "created_at": "-5d", "delivered_at": "-2d", "delivery_status": "delivered"},
    {"id": "2002", "currency": "BRL", "total": 18600, "refunded": 0,
     "customer": {"name": "Bia Santos", "email": "bia@example.com", "phone": "+5511987650202",
                  "risk_score": 0.03, "chargebacks": 0},
     "items": [{"sku": "TSHIRT-002", "category": "apparel", "final_sale": False, "price": 18600,
                "quantity": 1}],
     "payment": {"rail": "pix", "provider": "pix", "id": "E12345678202611211200abcdefghijk"},
     "created_at": "-3d", "delivered_at": "-1d", "delivery_status": "delivered"},
    {"id": "2003", "currency": "USDC", "total": 2499, "refunded": 0,
     "customer": {"name": "Noah Berg", "email": "noah2@example.com", "phone": "+14155550203",
                  "risk_score": 0.02, "chargebacks": 0},
     "items": [{"sku": "EBOOK-DEV", "category": "books", "final_sale": False, "price": 2499,
                "quantity": 1}],
     "payment": {"rail": "usdc", "provider": "usdc", "id": "pay_usdc_0001"},
     "created_at": "-4d", "delivered_at": "-2d", "delivery_status": "delivered"},
    {"id": "2004", "currency": "BRL", "total": 9900, "refunded": 0,
     "customer": {"name": "Caio Lima", "email": "caio@example.com", "phone": "+5521987650204",
                  "risk_score": 0.04, "chargebacks": 0},
     "items": [{"sku": "CAP-010", "category": "apparel", "final_sale": False, "price": 9900,
                "quantity": 1}],
     "payment": {"rail": "pix", "provider": "pix", "id": "E12345678202611211315lmnopqrstuv"},
     "created_at": "-3d", "delivered_at": "-1d", "delivery_status": "delivered"},
    {"id": "2005", "currency": "USD", "total": 3500, "refunded": 0,
     "customer": {"name": "Dana Kim", "email": "dana@example.com", "phone": "+14155550205",
                  "risk_score": 0.02, "chargebacks": 0},
     "items": [{"sku": "BOOK-7", "category": "books", "final_sale": False, "price": 3500,
                "quantity": 1}],
     "payment": {"rail": "card", "provider": "stripe", "id": "ch_3NxyzCHARGE01"},
     "created_at": "-5d", "delivered_at": "-2d", "delivery_status": "delivered"},
]


def _now_rfc3339():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rand(n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _minor_to_decimal(minor, exponent=2):
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


# --------------------------------------------------------------------------- HTTP plumbing

class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY each answer
    # waits for the client's delayed ACK (40 ms), which caps a load test at ~25/s
    disable_nagle_algorithm = True
    timeout = 30          # an idle keep-alive connection is dropped after this
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
        stub = self.server.stub
        self.server_version = stub.server_name
        raw = self._body()
        rec, status, payload, headers, delay, after = stub._answer(self.command, self.path,
                                                                  self.headers, raw)
        try:
            if delay:
                stub._stopping.wait(delay)   # bounded; stop() cuts it short
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            rec["client_gone"] = True
            self.close_connection = True
        finally:
            if after:
                stub._locked(after)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class _Stub:
    """What the three stubs share: lifecycle, records, scripted failures and hangs."""

    rail = "?"
    server_name = "rail-stub"
    main_kind = None          # the money-moving call: default kind for fail_next/hang_next
    strict = True

    def __init__(self):
        self._cond = threading.Condition()
        self._records = []
        self._failures = []
        self._hangs = []
        self._conns = set()
        self._seq = 0
        self._server = None
        self._thread = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{self.rail}-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()              # wake held (hanging) answers
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

    def _track(self, conn, add):
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    def _locked(self, fn):
        with self._cond:
            fn()
            self._cond.notify_all()

    # ------------------------------------------------------------ scripting

    def fail_next(self, status=None, code=None, message=None, times=1, kind=None, saved=None,
                  body=None, after=0, **extra):
        """The next `times` requests of `kind` fail (see the module docstring).
        status/code: the provider's error (each stub fills in the other and the
        body). saved: whether the answer is stored under the idempotency key, so
        a retry with the same key replays it (default: 4xx yes, 429/5xx no)."""
        kind = kind or self.main_kind
        status, code, message = self._error_defaults(status, code, message)
        if saved is None:
            saved = 400 <= status < 500 and status != 429
        with self._cond:
            for i in range(times):
                self._failures.append({"kind": kind, "status": status, "code": code,
                                       "message": message, "saved": saved, "body": body,
                                       "skip": after if i == 0 else 0, "extra": extra})

    def hang_next(self, seconds, times=1, kind=None):
        """Serve the next `times` requests of `kind` normally but hold their
        answer `seconds` (bounded; stop() cuts it short)."""
        with self._cond:
            for _ in range(times):
                self._hangs.append({"kind": kind or self.main_kind, "seconds": float(seconds)})

    def pending_scripts(self):
        """Scripted failures and hangs not used yet."""
        with self._cond:
            return len(self._failures) + len(self._hangs)

    def reset(self):
        with self._cond:
            self._records.clear()
            self._failures.clear()
            self._hangs.clear()

    def _error_defaults(self, status, code, message):
        if status is None and code is None:
            raise ValueError("fail_next needs a status or a code")
        return status or 400, code, message

    # ------------------------------------------------------------ answering

    def _answer(self, method, target, headers, raw):
        url = urlsplit(target)
        hdrs = {k.lower(): v for k, v in headers.items()}
        rec = {"rail": self.rail, "method": method, "path": url.path,
               "query": parse_qs(url.query), "headers": hdrs, "raw": raw, "form": None,
               "form_pairs": None, "json": None, "kind": "other",
               "idempotency_key": hdrs.get("idempotency-key"), "status": None, "ok": False,
               "response": None, "error_code": None, "replayed": False, "delay": 0.0,
               "problems": [], "client_gone": False, "t": time.monotonic()}
        ctype = hdrs.get("content-type", "")
        if raw:
            if ctype.startswith("application/x-www-form-urlencoded"):
                try:
                    pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                      strict_parsing=True)
                    rec["form_pairs"] = pairs
                    rec["form"] = dict(pairs)
                except (UnicodeDecodeError, ValueError):
                    rec["problems"].append("body is not a valid urlencoded form")
            else:
                try:
                    rec["json"] = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    if ctype.startswith("application/json"):
                        rec["problems"].append("body is not UTF-8 JSON")
        after = None
        with self._cond:
            self._seq += 1
            rec["n"] = self._seq
            rec["kind"] = self._classify(rec)
            status, payload, extra_headers, after = self._decide(rec)
            hang = next((h for h in self._hangs if h["kind"] == rec["kind"]), None)
            if hang is not None and 200 <= status < 300:
                self._hangs.remove(hang)
                rec["delay"] = hang["seconds"]
            rec["status"], rec["response"] = status, payload
            rec["ok"] = 200 <= status < 300
            self._records.append(rec)
            self._cond.notify_all()
        headers_out = {"Content-Type": "application/json"}
        headers_out.update(extra_headers or {})
        return rec, status, payload, headers_out, rec["delay"], after

    def _scripted_failure(self, rec):
        """Called with the lock held: the scripted failure for rec, or None."""
        f = next((f for f in self._failures if f["kind"] in ("any", rec["kind"])), None)
        if f is None:
            return None
        if f["skip"] > 0:
            f["skip"] -= 1
            return None
        self._failures.remove(f)
        return f

    def _classify(self, rec):
        raise NotImplementedError

    def _decide(self, rec):
        """Called with the lock held → (status, payload, headers, after)."""
        raise NotImplementedError

    # ------------------------------------------------------------ reading

    def requests(self, kind=None, ok=None):
        """Records so far (a copy of the list; records shared), arrival order."""
        with self._cond:
            return [r for r in self._records if (kind is None or r["kind"] == kind)
                    and (ok is None or r["ok"] == ok)]

    def wait_until(self, predicate, timeout=10, what="condition"):
        """Wait (bounded) until predicate(records) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self._records))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.rail} stub: {what} not true after {timeout} s; "
                                       f"received:\n{self.summary()}")
                self._cond.wait(min(left, 0.5))

    def wait_for(self, kind, n=1, ok=None, timeout=10):
        """Wait until at least n requests of kind (ok filter as requests()) arrived."""
        def enough(recs):
            sel = [r for r in recs if r["kind"] == kind and (ok is None or r["ok"] == ok)]
            return sel if len(sel) >= n else None
        return self.wait_until(enough, timeout, what=f"{n} {kind} request(s) (ok={ok})")

    def summary(self):
        with self._cond:
            recs = list(self._records)
        if not recs:
            return "  (nothing)"
        lines = []
        for r in recs:
            body = r["form"] if r["form"] is not None else r["json"]
            extra = []
            if r["idempotency_key"]:
                extra.append(f"key={r['idempotency_key']}")
            if r["error_code"]:
                extra.append(f"error={r['error_code']}")
            if r["replayed"]:
                extra.append("replayed")
            if r["delay"]:
                extra.append(f"held {r['delay']}s")
            if r["problems"]:
                extra.append(f"problems={r['problems']}")
            lines.append(f"  #{r['n']} {r['method']} {r['path']} [{r['kind']}] → {r['status']} "
                         f"{' '.join(extra)} {json.dumps(body, default=str)[:200]}")
        return "\n".join(lines)


def _bearer(rec):
    auth = rec["headers"].get("authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


# --------------------------------------------------------------------------- Stripe

STRIPE_ERRORS = {
    # code: (HTTP status, type, message template)
    "charge_already_refunded": (400, "invalid_request_error",
                                "Charge {charge} has already been refunded."),
    "amount_too_large": (400, "invalid_request_error",
                         "Refund amount ({amount}) is greater than unrefunded amount on charge "
                         "({left})"),
    "charge_disputed": (400, "invalid_request_error",
                        "Charge {charge} has been charged back; cannot issue a refund."),
    "resource_missing": (400, "invalid_request_error", "No such payment_intent: '{pi}'"),
    "parameter_missing": (400, "invalid_request_error", "Missing required param: {param}."),
    "parameter_invalid_integer": (400, "invalid_request_error",
                                  "Invalid integer: {value}"),
    "rate_limit": (429, "invalid_request_error",
                   "Request rate limit exceeded. Learn more about rate limits here "
                   "https://stripe.com/docs/rate-limits."),
    "idempotency_key_in_use": (409, "idempotency_error",
                               "There is currently another in-progress request using this "
                               "Idempotent Key (that probably means you submitted twice, and the "
                               "other request is still going through): {key}. Please try again "
                               "later."),
}


def stripe_error(code=None, message=None, status=None, etype=None, param=None, **fmt):
    """Stripe's error body {"error": {type, code, message, doc_url, param?}}; status for
    the defaults when code is None (5xx → api_error)."""
    st, t, template = STRIPE_ERRORS.get(code, (status or 400, "invalid_request_error", "{code}"))
    if code is None and (status or 0) >= 500:
        t, template = "api_error", "An unknown error occurred"
    try:
        text = message or template.format(code=code, **fmt)
    except (KeyError, IndexError):
        text = message or template
    err = {"type": etype or t, "message": text,
           "request_log_url": "https://dashboard.stripe.com/test/logs/req_stub"}
    if code:
        err["code"] = code
        err["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        err["param"] = param
    return {"error": err}


class StripeStub(_Stub):
    """Stripe's refunds API (POST/GET /v1/refunds) with its idempotency layer.

    add_payment(id, amount, currency="usd", refunded=0, disputed=False) registers
    a PaymentIntent (pi_…) or a charge (ch_…); a refund of anything else gets
    resource_missing. Refunds (pending ones too) count against what is left, so
    amount_too_large / charge_already_refunded happen as at Stripe."""

    rail = "stripe"
    server_name = "stripe-stub"
    main_kind = "create"

    def __init__(self, secret_key=STRIPE_SECRET_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET,
                 strict=True):
        super().__init__()
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.strict = strict
        self.default_status = "succeeded"
        self._next_statuses = []
        self._payments = {}          # pi_ or ch_ id → dict
        self._refunds = {}           # re_ id → refund object (current state)
        self._order = []             # re_ ids in creation order
        self._idem = {}              # key → {"params", "status", "body"}
        self._inflight = set()       # keys whose first request is still running (held)
        self._n = 0

    # -- scripting

    def add_payment(self, payment_id, amount, currency="usd", refunded=0, disputed=False):
        charge = payment_id if payment_id.startswith("ch_") else \
            "ch_" + hashlib.sha256(payment_id.encode()).hexdigest()[:24]
        with self._cond:
            self._payments[payment_id] = {"id": payment_id, "amount": int(amount),
                                          "currency": currency.lower(), "refunded": int(refunded),
                                          "disputed": disputed, "charge": charge,
                                          "payment_intent": payment_id
                                          if payment_id.startswith("pi_") else None}

    def next_status(self, status, times=1):
        """The next `times` refunds created get this status ("pending", "failed", …)."""
        with self._cond:
            self._next_statuses += [status] * times

    def set_status(self, refund_id, status, failure_reason=None):
        """Change a refund as Stripe would later (then send the event); returns a copy."""
        with self._cond:
            r = self._refunds[refund_id]
            r["status"] = status
            if status == "failed":
                r["failure_reason"] = failure_reason or "expired_or_canceled_card"
                r["failure_balance_transaction"] = "txn_fail_" + refund_id[3:]
                self._payments_for(r)["refunded"] -= r["amount"]
            return copy.deepcopy(r)

    def _error_defaults(self, status, code, message):
        if status is None and code is None:
            raise ValueError("fail_next needs a status or a code")
        if code is not None and status is None:
            status = STRIPE_ERRORS.get(code, (400,))[0]
        if code is None and status == 429:
            code = "rate_limit"
        return status, code, message

    # -- reading

    def refunds(self):
        """Refunds created (copies, current state), creation order."""
        with self._cond:
            return [copy.deepcopy(self._refunds[i]) for i in self._order]

    def refund(self, refund_id):
        with self._cond:
            return copy.deepcopy(self._refunds[refund_id])

    def refund_for_key(self, key):
        """The refund created under an Idempotency-Key, or None."""
        with self._cond:
            for i in self._order:
                if self._refunds[i]["_key"] == key:
                    return copy.deepcopy(self._refunds[i])
        return None

    def creates(self, ok=None):
        return self.requests("create", ok)

    # -- events and webhooks

    def event(self, etype, obj, previous_attributes=None):
        """A Stripe event (dict) around obj (a refund or a charge)."""
        data = {"object": _public(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {"id": "evt_" + _rand(24), "object": "event", "api_version": STRIPE_API_VERSION,
                "created": int(time.time()), "data": data, "livemode": False,
                "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                "type": etype}

    def charge_refunded_event(self, refund):
        """charge.refunded whose charge lists refund in refunds.data (as with refunds
        expanded: API versions since 2022-11-15 leave them out by default)."""
        refund = _public(refund)
        with self._cond:
            p = self._payments_for(refund)
            charge = {"id": p["charge"], "object": "charge", "amount": p["amount"],
                      "amount_captured": p["amount"], "amount_refunded": p["refunded"],
                      "currency": p["currency"], "captured": True, "paid": True,
                      "payment_intent": p["payment_intent"],
                      "refunded": p["refunded"] >= p["amount"], "status": "succeeded",
                      "refunds": {"object": "list", "data": [refund], "has_more": False,
                                  "total_count": 1, "url": f"/v1/charges/{p['charge']}/refunds"}}
        return self.event("charge.refunded", charge)

    # -- answering

    def _classify(self, rec):
        if rec["method"] == "POST" and rec["path"] == "/v1/refunds":
            return "create"
        if rec["method"] == "GET" and re.fullmatch(r"/v1/refunds/[^/]+", rec["path"]):
            return "retrieve"
        return "other"

    def _payments_for(self, refund):
        pid = refund.get("payment_intent") or refund.get("charge")
        if pid in self._payments:
            return self._payments[pid]
        return next(p for p in self._payments.values() if p["charge"] == refund.get("charge"))

    def _auth_ok(self, rec):
        auth = rec["headers"].get("authorization", "")
        if auth == f"Bearer {self.secret_key}":
            return True
        if auth.startswith("Basic "):   # Stripe takes the key as the basic-auth user too
            try:
                user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return False
            return user == self.secret_key
        return False

    def _err(self, rec, status, body, extra_headers=None):
        rec["error_code"] = (body.get("error") or {}).get("code") or \
            (body.get("error") or {}).get("type")
        h = {"Request-Id": "req_" + _rand(14), "Stripe-Version": STRIPE_API_VERSION}
        h.update(extra_headers or {})
        return status, body, h, None

    def _decide(self, rec):
        if rec["kind"] == "other":
            return self._err(rec, 404, stripe_error(
                message=f"Unrecognized request URL ({rec['method']}: {rec['path']}). "
                        "Please see https://stripe.com/docs or we can help at "
                        "https://support.stripe.com/.", status=404))
        if not self._auth_ok(rec):
            auth = rec["headers"].get("authorization")
            msg = ("You did not provide an API key." if not auth else
                   f"Invalid API Key provided: {auth.split(' ', 1)[-1][:12]}****")
            return self._err(rec, 401, stripe_error(message=msg, status=401))
        if rec["kind"] == "retrieve":
            rid = rec["path"].rsplit("/", 1)[1]
            if rid not in self._refunds:
                return self._err(rec, 404, stripe_error(
                    "resource_missing", f"No such refund: '{rid}'", param="id"))
            return 200, _public(self._refunds[rid]), {"Request-Id": "req_" + _rand(14)}, None
        return self._create(rec)

    def _create(self, rec):
        key = rec["idempotency_key"]
        form = rec["form"] or {}
        if rec["form"] is None:
            rec["problems"].append(
                f"Content-Type {rec['headers'].get('content-type')!r}: Stripe takes "
                "application/x-www-form-urlencoded")
        if not key:
            rec["problems"].append("no Idempotency-Key header")
        params = sorted(rec["form_pairs"] or [])
        # the idempotency layer comes first: replays, conflicts, mismatches
        if key and key in self._inflight:
            return self._err(rec, 409, stripe_error("idempotency_key_in_use", key=key),
                             {"Stripe-Should-Retry": "true"})
        if key and key in self._idem:
            saved = self._idem[key]
            if saved["params"] != params:
                rec["problems"].append("Idempotency-Key reused with other parameters")
                return self._err(rec, 400, stripe_error(
                    None, "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                    etype="idempotency_error"))
            rec["replayed"] = True
            if saved["status"] >= 400:
                rec["error_code"] = (saved["body"].get("error") or {}).get("code")
            return saved["status"], copy.deepcopy(saved["body"]), {
                "Idempotent-Replayed": "true", "Idempotency-Key": key,
                "Original-Request": saved["request_id"], "Request-Id": "req_" + _rand(14)}, None
        request_id = "req_" + _rand(14)

        def save(status, body):
            if key:
                self._idem[key] = {"params": params, "status": status,
                                   "body": copy.deepcopy(body), "request_id": request_id}

        f = self._scripted_failure(rec)
        if f is not None:
            if f["body"] is not None:
                data = f["body"].encode() if isinstance(f["body"], str) else f["body"]
                rec["error_code"] = f["status"]
                return f["status"], data, {"Content-Type": "text/html"}, None
            pid = form.get("payment_intent") or form.get("charge") or ""
            p = self._payments.get(pid, {})
            body = stripe_error(f["code"], f["message"], status=f["status"],
                                charge=p.get("charge", pid), pi=pid, amount=form.get("amount"),
                                left="", key=key)
            if f["saved"]:
                save(f["status"], body)
            h = {"Stripe-Should-Retry": "true"} if f["status"] >= 500 or f["status"] == 429 \
                else {}
            return self._err(rec, f["status"], body, h)

        problems = self._refund_problems(form)
        rec["problems"] += problems
        if self.strict and rec["problems"]:
            body = stripe_error("parameter_invalid", "; ".join(rec["problems"]))
            return self._err(rec, 400, body)
        pid = form.get("payment_intent") or form.get("charge")
        p = self._payments.get(pid)
        if p is None:
            param = "payment_intent" if "payment_intent" in form else "charge"
            body = stripe_error("resource_missing", f"No such {param}: '{pid}'", param=param)
            save(400, body)
            return self._err(rec, 400, body)
        amount = int(form.get("amount") or p["amount"] - p["refunded"])
        code = None
        if p["disputed"]:
            code = "charge_disputed"
        elif p["refunded"] >= p["amount"]:
            code = "charge_already_refunded"
        elif amount > p["amount"] - p["refunded"]:
            code = "amount_too_large"
        if code:
            body = stripe_error(code, charge=p["charge"], amount=_minor_to_decimal(amount),
                                left=_minor_to_decimal(p["amount"] - p["refunded"]),
                                param="amount" if code == "amount_too_large" else None)
            save(400, body)
            return self._err(rec, 400, body)
        self._n += 1
        rid = f"re_3Nstub{self._n:04d}{_rand(14)}"
        status = self._next_statuses.pop(0) if self._next_statuses else self.default_status
        metadata = {m.group(1): v for k, v in (rec["form_pairs"] or [])
                    if (m := re.fullmatch(r"metadata\[(.+)\]", k))}
        refund = {"id": rid, "object": "refund", "amount": amount,
                  "balance_transaction": "txn_" + _rand(24), "charge": p["charge"],
                  "created": int(time.time()), "currency": p["currency"],
                  "destination_details": {"card": {"reference_status": "pending",
                                                   "reference_type": "acquirer_reference_number",
                                                   "type": "refund"}, "type": "card"},
                  "metadata": metadata, "payment_intent": p["payment_intent"],
                  "reason": form.get("reason"), "receipt_number": None,
                  "source_transfer_reversal": None, "status": status,
                  "transfer_reversal": None, "_key": key}
        if status == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
        else:
            p["refunded"] += amount
        self._refunds[rid] = refund
        self._order.append(rid)
        body = _public(refund)
        save(200, body)
        after = None
        if key:
            self._inflight.add(key)
            after = lambda: self._inflight.discard(key)   # noqa: E731 - answered (or gave up)
        return 200, body, {"Request-Id": request_id, "Idempotency-Key": key or "",
                           "Stripe-Version": STRIPE_API_VERSION}, after

    @staticmethod
    def _refund_problems(form):
        p = []
        has_pi, has_ch = "payment_intent" in form, "charge" in form
        if has_pi == has_ch:
            p.append("give exactly one of payment_intent and charge")
        if has_pi and not form["payment_intent"].startswith("pi_"):
            p.append(f"payment_intent {form['payment_intent']!r} is not a pi_ id")
        if has_ch and not form["charge"].startswith("ch_"):
            p.append(f"charge {form['charge']!r} is not a ch_ id")
        if "amount" in form and not re.fullmatch(r"[1-9][0-9]*", form["amount"]):
            p.append(f"amount {form['amount']!r} is not a positive integer (minor units)")
        if "reason" in form and form["reason"] not in ("duplicate", "fraudulent",
                                                       "requested_by_customer"):
            p.append(f"reason {form['reason']!r} is not duplicate, fraudulent or "
                     "requested_by_customer")
        meta = [k for k in form if k.startswith("metadata[")]
        if len(meta) > 50:
            p.append("more than 50 metadata keys")
        for k in meta:
            name = k[len("metadata["):-1]
            if not k.endswith("]") or not name or len(name) > 40:
                p.append(f"bad metadata key {k!r}")
            elif len(form[k]) > 500:
                p.append(f"metadata {name!r} longer than 500 characters")
        unknown = [k for k in form if not k.startswith("metadata[") and k not in (
            "payment_intent", "charge", "amount", "reason", "refund_application_fee",
            "reverse_transfer", "instructions_email", "origin", "currency", "customer")
            and not k.startswith("expand[")]
        if unknown:
            p.append(f"unknown parameters {unknown}")
        return p


def _public(obj):
    """A copy without the stub's private (_-prefixed) fields."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def stripe_signature(payload, secret=STRIPE_WEBHOOK_SECRET, timestamp=None):
    """The Stripe-Signature header for payload (bytes): t=<unix>,v1=<hex HMAC-SHA256
    (secret, "<t>.<payload>")>."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def send_stripe_webhook(gw, event, secret=STRIPE_WEBHOOK_SECRET, timestamp=None,
                        signature=None, omit_signature=False, body=None, timeout=10):
    """POST event (dict, or bytes sent as is) to gw's /webhooks/stripe, signed like
    Stripe. signature: a Stripe-Signature value to send instead (tests of bad
    ones); body: bytes to send instead of what was signed (tampering).
    Returns the requests.Response."""
    payload = event if isinstance(event, bytes) else json.dumps(event, indent=2).encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    if not omit_signature:
        headers["Stripe-Signature"] = signature or stripe_signature(payload, secret, timestamp)
    return gw.http.post(gw.url + "/webhooks/stripe", data=body if body is not None else payload,
                        headers=headers, timeout=timeout)


# --------------------------------------------------------------------------- Pix

PIX_PROBLEMS = {
    # name: (HTTP status, title)
    "RequisicaoInvalida": (400, "Requisição inválida."),
    "DevolucaoOperacaoInvalida": (400, "Devolução inválida."),
    "DevolucaoNaoEncontrada": (404, "Devolução não encontrada."),
    "PixNaoEncontrado": (404, "Pix não encontrado."),
    "AcessoNegado": (403, "Acesso Negado."),
    "NaoAutorizado": (401, "Não autorizado."),
    "ErroInternoDoServidor": (500, "Erro interno do servidor."),
    "ServicoIndisponivel": (503, "Serviço indisponível."),
    "LimiteExcedido": (429, "Limite de requisições excedido."),
}
PIX_PROBLEM_BASE = "https://pix.bcb.gov.br/api/v2/error/"
_PIX_STATUS_FOR = {400: "RequisicaoInvalida", 401: "NaoAutorizado", 403: "AcessoNegado",
                   404: "DevolucaoNaoEncontrada", 409: "DevolucaoOperacaoInvalida",
                   429: "LimiteExcedido", 500: "ErroInternoDoServidor",
                   502: "ServicoIndisponivel", 503: "ServicoIndisponivel",
                   504: "ServicoIndisponivel"}
PIX_STATUSES = ("EM_PROCESSAMENTO", "DEVOLVIDO", "NAO_REALIZADO")
PIX_SCOPE = "cob.write cob.read pix.write pix.read webhook.write webhook.read"


def pix_problem(name, detail=None, status=None, violacoes=None):
    """The API Pix error body (RFC 7807 problem+json)."""
    st, title = PIX_PROBLEMS.get(name, (status or 400, name))
    body = {"type": PIX_PROBLEM_BASE + name, "title": title, "status": status or st,
            "detail": detail or title}
    if violacoes:
        body["violacoes"] = violacoes
    return body


class PixStub(_Stub):
    """A payer's PSP on the API Pix standard: OAuth2 client credentials at
    /oauth/token, devoluções at {api_base}/pix/{e2eid}/devolucao/{id}
    (api_base = base_url + "/api/v2").

    add_payment(e2eid, valor="186.00") registers a received Pix; devoluções of
    anything else get 404 PixNaoEncontrado, above what is left 400
    DevolucaoOperacaoInvalida. A devolução is EM_PROCESSAMENTO when created;
    each GET of it takes the next status of its sequence (the last one stays):
    next_statuses([...]) scripts the next devolução created, default_statuses
    the others (default ["DEVOLVIDO"]: the first poll finds it done);
    set_status(e2eid, id, status) moves one by hand."""

    rail = "pix"
    server_name = "pix-psp-stub"
    main_kind = "put"
    API_PREFIX = "/api/v2"

    def __init__(self, client_id=PIX_CLIENT_ID, client_secret=PIX_CLIENT_SECRET, strict=True,
                 ispb=PIX_ISPB):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.strict = strict
        self.ispb = ispb
        self.token_expires_in = 3600
        self.default_statuses = ["DEVOLVIDO"]
        self.put_status = "EM_PROCESSAMENTO"
        self._next_statuses = []
        self._tokens = {}            # access token → expiry (monotonic)
        self._payments = {}          # e2eid → {"valor": Decimal, "devolvido": Decimal}
        self._devs = {}              # (e2eid, id) → devolução (with private fields)
        self._order = []

    @property
    def api_base(self):
        """→ [rails.pix] api_base"""
        return self.base_url + self.API_PREFIX

    @property
    def token_url(self):
        """→ [rails.pix] token_url"""
        return self.base_url + "/oauth/token"

    # -- scripting

    def add_payment(self, e2eid, valor):
        with self._cond:
            self._payments[e2eid] = {"valor": Decimal(valor), "devolvido": Decimal("0.00")}

    def next_statuses(self, statuses):
        """What the GETs of the next devolução created answer, in turn (the last stays)."""
        bad = [s for s in statuses if s not in PIX_STATUSES]
        if bad or not statuses:
            raise ValueError(f"statuses must be some of {PIX_STATUSES}, not {statuses}")
        with self._cond:
            self._next_statuses.append(list(statuses))

    def set_status(self, e2eid, dev_id, status, motivo=None):
        """Move a devolução now (the next GET answers it, and the ones after)."""
        with self._cond:
            d = self._devs[(e2eid, dev_id)]
            d["_seq"] = [status]
            d["_motivo"] = motivo
            self._apply(d, status)
            self._cond.notify_all()
            return _public(d)

    def expire_tokens(self):
        """Every access token issued so far stops working (401 on use)."""
        with self._cond:
            for t in self._tokens:
                self._tokens[t] = 0.0

    def _error_defaults(self, status, code, message):
        if status is None and code is None:
            raise ValueError("fail_next needs a status or a code (problem name)")
        if status is None:
            status = PIX_PROBLEMS.get(code, (400,))[0]
        if code is None:
            code = _PIX_STATUS_FOR.get(status, "ErroInternoDoServidor" if status >= 500
                                       else "RequisicaoInvalida")
        return status, code, message

    # -- reading

    def devolucoes(self):
        """Devoluções created (copies), creation order; each has e2eid added."""
        with self._cond:
            return [dict(_public(self._devs[k]), e2eid=k[0]) for k in self._order]

    def token_requests(self, ok=None):
        return self.requests("token", ok)

    def tokens(self):
        with self._cond:
            return list(self._tokens)

    # -- answering

    def _classify(self, rec):
        if rec["path"] == "/oauth/token":
            return "token" if rec["method"] == "POST" else "other"
        m = re.fullmatch(re.escape(self.API_PREFIX) + r"/pix/([^/]+)/devolucao/([^/]+)",
                         rec["path"])
        if m:
            rec["e2eid"], rec["devolucao_id"] = m.group(1), m.group(2)
            return {"PUT": "put", "GET": "get"}.get(rec["method"], "other")
        return "other"

    def _problem(self, rec, name, detail=None, status=None, violacoes=None):
        body = pix_problem(name, detail, status, violacoes)
        rec["error_code"] = name
        return body["status"], body, {"Content-Type": "application/problem+json"}, None

    def _scripted(self, rec):
        f = self._scripted_failure(rec)
        if f is None:
            return None
        if f["body"] is not None:
            data = f["body"].encode() if isinstance(f["body"], str) else f["body"]
            rec["error_code"] = f["status"]
            return f["status"], data, {"Content-Type": "text/html"}, None
        if rec["kind"] == "token":
            rec["error_code"] = f["code"]
            return f["status"], {"error": f["code"] if f["status"] < 500 else "server_error",
                                 "error_description": f["message"] or "scripted failure"}, {}, None
        return self._problem(rec, f["code"], f["message"], f["status"])

    def _decide(self, rec):
        if rec["kind"] == "other":
            return self._problem(rec, "RequisicaoInvalida",
                                 f"Recurso {rec['method']} {rec['path']} não existe.", 404)
        if rec["kind"] == "token":
            return self._token(rec)
        tok = _bearer(rec)
        if tok is None or self._tokens.get(tok, 0.0) <= time.monotonic():
            rec["error_code"] = "invalid_token"
            rec["problems"].append("missing, unknown or expired access token")
            body = pix_problem("NaoAutorizado", "Token de acesso ausente, inválido ou expirado.")
            return 401, body, {"Content-Type": "application/problem+json",
                               "WWW-Authenticate": 'Bearer error="invalid_token"'}, None
        scripted = self._scripted(rec)
        if scripted is not None:
            return scripted
        if rec["kind"] == "put":
            return self._put(rec)
        return self._get(rec)

    def _token(self, rec):
        auth = rec["headers"].get("authorization", "")
        user = pw = None
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        form = rec["form"] or {}
        if rec["form"] is None:
            rec["problems"].append("token request is not application/x-www-form-urlencoded")
        if user is None and "client_id" in form:   # client_secret_post: allowed by RFC 6749
            user, pw = form.get("client_id"), form.get("client_secret")
            rec["problems"].append("client credentials in the body, not HTTP basic auth")
        scripted = self._scripted(rec)
        if scripted is not None:
            return scripted
        if (user, pw) != (self.client_id, self.client_secret):
            rec["error_code"] = "invalid_client"
            return 401, {"error": "invalid_client",
                         "error_description": "Client authentication failed"}, \
                {"WWW-Authenticate": 'Basic realm="pix"'}, None
        if form.get("grant_type") != "client_credentials":
            rec["error_code"] = "unsupported_grant_type"
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "grant_type must be client_credentials"}, {}, None
        token = "pixtok_" + _rand(40)
        self._tokens[token] = time.monotonic() + self.token_expires_in
        return 200, {"access_token": token, "token_type": "Bearer",
                     "expires_in": self.token_expires_in, "scope": PIX_SCOPE}, \
            {"Cache-Control": "no-store", "Pragma": "no-cache"}, None

    def _apply(self, d, status):
        d["status"] = status
        d["horario"].pop("liquidacao", None)
        d.pop("motivo", None)
        if status == "DEVOLVIDO":
            d["horario"]["liquidacao"] = _now_rfc3339()
        elif status == "NAO_REALIZADO":
            d["motivo"] = d.get("_motivo") or "Conta transacional do pagador encerrada."
            if not d["_returned"]:
                self._payments[d["_e2eid"]]["devolvido"] -= Decimal(d["valor"])
                d["_returned"] = True

    def _put(self, rec):
        e2eid, dev_id = rec["e2eid"], rec["devolucao_id"]
        body = rec["json"]
        ctype = rec["headers"].get("content-type", "")
        if not ctype.startswith("application/json"):
            rec["problems"].append(f"Content-Type {ctype!r}, not application/json")
        viol = []
        if not re.fullmatch(r"[a-zA-Z0-9]{1,35}", dev_id):
            viol.append({"razao": "id não respeita o esquema [a-zA-Z0-9]{1,35}",
                         "propriedade": "id", "valor": dev_id})
        if not re.fullmatch(r"E[0-9]{8}[0-9]{12}[a-zA-Z0-9]{11}", e2eid):
            viol.append({"razao": "e2eid inválido", "propriedade": "e2eid", "valor": e2eid})
        if not isinstance(body, dict):
            viol.append({"razao": "corpo JSON ausente ou inválido", "propriedade": "body"})
            body = {}
        valor = body.get("valor")
        if not isinstance(valor, str) or not re.fullmatch(r"\d{1,10}\.\d{2}", valor):
            viol.append({"razao": "valor deve seguir \\d{1,10}\\.\\d{2} (uma string)",
                         "propriedade": "valor", "valor": json.dumps(valor)})
        natureza = body.get("natureza", "ORIGINAL")
        if natureza not in ("ORIGINAL", "RETIRADA"):
            viol.append({"razao": "natureza deve ser ORIGINAL ou RETIRADA",
                         "propriedade": "natureza", "valor": str(natureza)})
        descricao = body.get("descricao")
        if descricao is not None and (not isinstance(descricao, str) or len(descricao) > 140):
            viol.append({"razao": "descricao tem no máximo 140 caracteres",
                         "propriedade": "descricao"})
        unknown = sorted(set(body) - {"valor", "natureza", "descricao"})
        if unknown:
            viol.append({"razao": f"campos desconhecidos {unknown}", "propriedade": "body"})
        if viol:
            rec["problems"] += [v["razao"] for v in viol]
            return self._problem(rec, "RequisicaoInvalida",
                                 "A requisição não respeita o schema.", violacoes=viol)
        pay = self._payments.get(e2eid)
        if pay is None:
            return self._problem(rec, "PixNaoEncontrado", f"Pix {e2eid} não encontrado.")
        existing = self._devs.get((e2eid, dev_id))
        if existing is not None:
            if existing["valor"] != valor:
                rec["problems"].append("devolução id reused with another valor")
                return self._problem(rec, "DevolucaoOperacaoInvalida",
                                     f"Devolução {dev_id} já existe com outro valor.", 409)
            rec["replayed"] = True
            return 201, _public(existing), {"Location": rec["path"]}, None
        left = pay["valor"] - pay["devolvido"]
        if Decimal(valor) <= 0 or Decimal(valor) > left:
            return self._problem(rec, "DevolucaoOperacaoInvalida",
                                 f"Valor {valor} maior que o disponível para devolução "
                                 f"({left:.2f}).")
        pay["devolvido"] += Decimal(valor)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M")
        d = {"id": dev_id, "rtrId": f"D{self.ispb}{stamp}{_rand(11)}", "valor": valor,
             "natureza": natureza, "horario": {"solicitacao": _now_rfc3339()},
             "status": self.put_status,
             "_seq": self._next_statuses.pop(0) if self._next_statuses
             else list(self.default_statuses),
             "_e2eid": e2eid, "_motivo": None, "_returned": False}
        if descricao is not None:
            d["descricao"] = descricao
        self._devs[(e2eid, dev_id)] = d
        self._order.append((e2eid, dev_id))
        return 201, _public(d), {"Location": rec["path"]}, None

    def _get(self, rec):
        d = self._devs.get((rec["e2eid"], rec["devolucao_id"]))
        if d is None:
            return self._problem(rec, "DevolucaoNaoEncontrada",
                                 f"Devolução {rec['devolucao_id']} não encontrada.")
        if d["_seq"]:
            status = d["_seq"].pop(0) if len(d["_seq"]) > 1 else d["_seq"][0]
            if status != d["status"] or status == "DEVOLVIDO" and "liquidacao" not in d["horario"]:
                self._apply(d, status)
        return 200, _public(d), {}, None


# --------------------------------------------------------------------------- USDC

USDC_ERRORS = {
    "POLICY_VIOLATION": (403, "Refund exceeds the agent's daily limit"),
    "INSUFFICIENT_FUNDS": (422, "Treasury wallet balance is too low for this refund"),
    "PAYMENT_NOT_FOUND": (404, "No such payment"),
    "AMOUNT_EXCEEDS_PAYMENT": (422, "Refund amount exceeds the unrefunded amount"),
    "INVALID_REQUEST": (400, "Invalid request"),
    "IDEMPOTENCY_MISMATCH": (422, "Idempotency-Key reused with a different request body"),
    "UNAUTHORIZED": (401, "Invalid API key"),
    "RATE_LIMITED": (429, "Too many requests"),
    "INTERNAL": (500, "Internal error"),
    "UNAVAILABLE": (503, "Service unavailable"),
}


def usdc_error(code, message=None):
    return {"error": {"code": code, "message": message or USDC_ERRORS.get(code, (0, code))[1]}}


class UsdcStub(_Stub):
    """A wallet provider's REST API: POST /v1/payments/refund (Bearer api key,
    Idempotency-Key, JSON) → 200 {refund_id, payment_id, amount, token, tx_hash,
    status, reason}. add_payment(payment_id, amount="24.99") registers a payment;
    next_status("pending") scripts the next refund's status (default confirmed);
    policy_violation_next() answers the next refund with 403 POLICY_VIOLATION."""

    rail = "usdc"
    server_name = "usdc-stub"
    main_kind = "refund"

    def __init__(self, api_key=USDC_API_KEY, agent_id=USDC_AGENT_ID, strict=True):
        super().__init__()
        self.api_key = api_key
        self.agent_id = agent_id
        self.strict = strict
        self.default_status = "confirmed"
        self._next_statuses = []
        self._payments = {}
        self._refunds = {}
        self._order = []
        self._idem = {}
        self._n = 0

    def add_payment(self, payment_id, amount):
        with self._cond:
            self._payments[payment_id] = {"amount": Decimal(amount), "refunded": Decimal(0)}

    def next_status(self, status, times=1):
        with self._cond:
            self._next_statuses += [status] * times

    def set_status(self, refund_id, status):
        with self._cond:
            self._refunds[refund_id]["status"] = status
            return _public(self._refunds[refund_id])

    def policy_violation_next(self, message="Refund exceeds the agent's daily limit", times=1):
        self.fail_next(status=403, code="POLICY_VIOLATION", message=message, times=times,
                       saved=True)

    def _error_defaults(self, status, code, message):
        if status is None and code is None:
            raise ValueError("fail_next needs a status or a code")
        if status is None:
            status = USDC_ERRORS.get(code, (400,))[0]
        if code is None:
            code = {401: "UNAUTHORIZED", 403: "POLICY_VIOLATION", 404: "PAYMENT_NOT_FOUND",
                    429: "RATE_LIMITED"}.get(status, "INTERNAL" if status >= 500
                                             else "INVALID_REQUEST")
        return status, code, message

    def refunds(self):
        with self._cond:
            return [_public(self._refunds[i]) for i in self._order]

    def _classify(self, rec):
        if rec["method"] == "POST" and rec["path"] == "/v1/payments/refund":
            return "refund"
        if rec["method"] == "GET" and re.fullmatch(r"/v1/payments/refunds?/[^/]+", rec["path"]):
            return "retrieve"
        return "other"

    def _err(self, rec, status, code, message=None):
        rec["error_code"] = code
        return status, usdc_error(code, message), {}, None

    def _decide(self, rec):
        if rec["kind"] == "other":
            return self._err(rec, 404, "NOT_FOUND", f"No route {rec['method']} {rec['path']}")
        if _bearer(rec) != self.api_key:
            return self._err(rec, 401, "UNAUTHORIZED")
        if rec["kind"] == "retrieve":
            rid = rec["path"].rsplit("/", 1)[1]
            if rid not in self._refunds:
                return self._err(rec, 404, "REFUND_NOT_FOUND", f"No such refund {rid}")
            return 200, _public(self._refunds[rid]), {}, None
        key = rec["idempotency_key"]
        body = rec["json"] if isinstance(rec["json"], dict) else None
        if key and key in self._idem:
            saved = self._idem[key]
            if saved["body"] != body:
                rec["problems"].append("Idempotency-Key reused with another body")
                return self._err(rec, 422, "IDEMPOTENCY_MISMATCH")
            rec["replayed"] = True
            if saved["status"] >= 400:
                rec["error_code"] = saved["payload"]["error"]["code"]
            return saved["status"], copy.deepcopy(saved["payload"]), \
                {"Idempotent-Replayed": "true"}, None

        def save(status, payload):
            if key:
                self._idem[key] = {"body": copy.deepcopy(body), "status": status,
                                   "payload": copy.deepcopy(payload)}

        f = self._scripted_failure(rec)
        if f is not None:
            if f["body"] is not None:
                data = f["body"].encode() if isinstance(f["body"], str) else f["body"]
                rec["error_code"] = f["status"]
                return f["status"], data, {"Content-Type": "text/html"}, None
            payload = usdc_error(f["code"], f["message"])
            if f["saved"]:
                save(f["status"], payload)
            rec["error_code"] = f["code"]
            return f["status"], payload, {}, None
        if not key:
            rec["problems"].append("no Idempotency-Key header")
        ctype = rec["headers"].get("content-type", "")
        if not ctype.startswith("application/json"):
            rec["problems"].append(f"Content-Type {ctype!r}, not application/json")
        if body is None:
            rec["problems"].append("body is not a JSON object")
            body_ = {}
        else:
            body_ = body
        if body_.get("agent_id") != self.agent_id:
            rec["problems"].append(f"agent_id {body_.get('agent_id')!r}, not {self.agent_id!r}")
        amount = body_.get("amount")
        if not isinstance(amount, str) or not re.fullmatch(r"(0|[1-9][0-9]*)\.[0-9]{1,6}", amount):
            rec["problems"].append(f"amount {amount!r} must be a decimal string (≤ 6 decimals)")
        if not isinstance(body_.get("payment_id"), str):
            rec["problems"].append("payment_id missing")
        if "reason" in body_ and not isinstance(body_["reason"], str):
            rec["problems"].append("reason must be a string")
        if self.strict and rec["problems"]:
            return self._err(rec, 400, "INVALID_REQUEST", "; ".join(rec["problems"]))
        pay = self._payments.get(body_["payment_id"])
        if pay is None:
            payload = usdc_error("PAYMENT_NOT_FOUND", f"No such payment {body_['payment_id']}")
            save(404, payload)
            rec["error_code"] = "PAYMENT_NOT_FOUND"
            return 404, payload, {}, None
        try:
            amt = Decimal(amount)
        except InvalidOperation:
            amt = Decimal(-1)
        if amt <= 0 or amt > pay["amount"] - pay["refunded"]:
            payload = usdc_error("AMOUNT_EXCEEDS_PAYMENT")
            save(422, payload)
            rec["error_code"] = "AMOUNT_EXCEEDS_PAYMENT"
            return 422, payload, {}, None
        pay["refunded"] += amt
        self._n += 1
        rid = f"usdcrf_{self._n:06d}_{_rand(8).lower()}"
        status = self._next_statuses.pop(0) if self._next_statuses else self.default_status
        refund = {"refund_id": rid, "payment_id": body_["payment_id"], "amount": amount,
                  "token": "USDC", "chain": "base",
                  "tx_hash": "0x" + hashlib.sha256(rid.encode()).hexdigest(),
                  "status": status, "reason": body_.get("reason"),
                  "created_at": _now_rfc3339(), "_key": key}
        self._refunds[rid] = refund
        self._order.append(rid)
        payload = _public(refund)
        save(200, payload)
        return 200, payload, {}, None


# --------------------------------------------------------------------------- together

class RailStubs:
    """The three stubs, started and stopped together."""

    def __init__(self):
        self.stripe = StripeStub()
        self.pix = PixStub()
        self.usdc = UsdcStub()

    def start(self):
        for s in (self.stripe, self.pix, self.usdc):
            s.start()
        return self

    def stop(self):
        for s in (self.stripe, self.pix, self.usdc):
            s.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def register(self, orders):
        """Make each order's payment known to its provider's stub."""
        for o in orders:
            p = o["payment"]
            if p["provider"] == "stripe":
                self.stripe.add_payment(p["id"], o["total"], o["currency"].lower(),
                                        refunded=o.get("refunded", 0))
            elif p["provider"] == "pix":
                self.pix.add_payment(p["id"], _minor_to_decimal(o["total"]))
            elif p["provider"] == "usdc":
                self.usdc.add_payment(p["id"], _minor_to_decimal(o["total"]))

    def config(self, public_url, timeout_ms=RAIL_TIMEOUT_MS, poll_interval_s=1):
        """The gateway config sections that point the rails at these stubs."""
        return {
            "rails": {"enabled": "sandbox, stripe, pix, usdc"},
            "rails.stripe": {"api_base": self.stripe.base_url, "secret_key": STRIPE_SECRET_KEY,
                             "webhook_secret": STRIPE_WEBHOOK_SECRET, "timeout_ms": timeout_ms},
            "rails.pix": {"api_base": self.pix.api_base, "token_url": self.pix.token_url,
                          "client_id": PIX_CLIENT_ID, "client_secret": PIX_CLIENT_SECRET,
                          "timeout_ms": timeout_ms, "poll_interval_s": poll_interval_s},
            "rails.usdc": {"api_base": self.usdc.base_url, "api_key": USDC_API_KEY,
                           "agent_id": USDC_AGENT_ID, "timeout_ms": timeout_ms},
            "site": {"public_url": public_url},
            "issuer": {"name": ISSUER_NAME, "tax_id": ISSUER_TAX_ID,
                       "link_secret": LINK_SECRET},
        }

    def summary(self):
        return "\n".join(f"{s.rail}:\n{s.summary()}" for s in (self.stripe, self.pix, self.usdc))


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def rails():
    """Started RailStubs (stripe, pix, usdc), stopped afterwards. What they
    received is printed at teardown (pytest shows it when the test failed)."""
    stubs = RailStubs().start()
    try:
        yield stubs
    finally:
        print(f"\n--- rail stubs received:\n{stubs.summary()}")
        stubs.stop()


@pytest.fixture
def rails_gateway(gateway, rails, tmp_path):
    """Factory: rails_gateway(overrides=None, env=None, orders=RAIL_ORDERS,
    extra_orders=(), start=True) → a Gateway whose rails point at the `rails`
    stubs ([rails] enabled = sandbox, stripe, pix, usdc; timeouts 500 ms; Pix
    polled every second; [site] public_url = the gateway's own URL; [issuer]
    Loja Exemplo with link_secret), the orders imported and their payments
    registered with the stubs."""
    from conftest import merge_config, render_config, run_cli  # noqa: WPS433 - tests dir on path

    made = []

    def make(overrides=None, env=None, orders=None, extra_orders=(), start=True):
        gw = gateway(None, env, start=False)
        gw.config = merge_config(gw.config, rails.config(gw.url))
        gw.config = merge_config(gw.config, overrides or {})
        gw.config_path.write_text(render_config(gw.config))
        all_orders = list(RAIL_ORDERS if orders is None else orders) + list(extra_orders)
        path = tmp_path / f"rail_orders_{len(made) + 1}.jsonl"
        path.write_text("".join(json.dumps(o) + "\n" for o in all_orders))
        proc = run_cli("orders", "import", path, config=gw)
        assert proc.returncode == 0, f"orders import failed ({proc.returncode}):\n{proc.stderr}"
        rails.register(all_orders)
        made.append(gw)
        return gw.start() if start else gw

    return make
