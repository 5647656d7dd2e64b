"""A stand-in for a shop's OMS/ERP REST API, for the `http` orders store
tests: a threaded HTTP/1.1 server on 127.0.0.1 (free port) holding the demo
orders (demo/orders.jsonl) in a nested shape of its own, recording every
request.

    oms = OmsStub().start()             # or the `oms` fixture below
    oms.base_url                         # "http://127.0.0.1:PORT" → [orders.http] base_url
    oms.overrides()                      # the gateway config: store, base_url, token, map_* pointers
    oms.mode["1002"] = "500"             # that order answers 500 (also "404", "slow", "refuse")
    oms.requests(method="GET", path="/api/v2/orders/1002")

Routes (anything else: 404 {"error": "not found"}):
    GET  /api/v2/orders/{id}          200 {"order": {...}} (the shape below), 404 when unknown
    POST /api/v2/orders/{id}/refunds  {"refund_id", "amount", "currency"}:
         201 counted; 200 a refund_id already counted (a replay changes nothing);
         409 above what remains; 400 a body that is not that; 404 unknown order
    PATCH is accepted on the refunds route too (writeback_method = PATCH).
Auth: "Authorization: Bearer <token>" or, with basic=(user, password), HTTP
basic; anything else is 401.

The order shape (nothing like ours, on purpose):
    {"order": {"number": "1001", "placed_at": "…Z",
               "money": {"total": {"cents": 4900, "currency": "USD"},
                         "refunded": {"cents": 0}},
               "buyer": {"name": "Alex Doe", "contact": {"email": …, "phone": …},
                         "risk": {"score": 0.02}, "disputes": 0},
               "payment": {"reference": "pi_…", "method": "card", "gateway": "sandbox"},
               "delivery": {"status": "delivered", "at": "…Z" | null},
               "lines": [{"sku": …, "kind": …, "final": false,
                          "unit_price": {"cents": 2450}, "qty": 2}]}}
"""
import base64
import copy
import datetime
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn

import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "oms-test-token-0123456789"
PREFIX = "/api/v2"
MAPPING = {
    "map_id": "/order/number",
    "map_currency": "/order/money/total/currency",
    "map_total": "/order/money/total/cents",
    "map_refunded": "/order/money/refunded/cents",
    "map_email": "/order/buyer/contact/email",
    "map_phone": "/order/buyer/contact/phone",
    "map_name": "/order/buyer/name",
    "map_risk_score": "/order/buyer/risk/score",
    "map_chargebacks": "/order/buyer/disputes",
    "map_payment_id": "/order/payment/reference",
    "map_rail": "/order/payment/method",
    "map_provider": "/order/payment/gateway",
    "map_created_at": "/order/placed_at",
    "map_delivered_at": "/order/delivery/at",
    "map_delivery_status": "/order/delivery/status",
    "map_items": "/order/lines",
    "map_item_sku": "/sku",
    "map_item_category": "/kind",
    "map_item_final_sale": "/final",
    "map_item_price": "/unit_price/cents",
    "map_item_quantity": "/qty",
}


def _when(offset):
    """"-2d" / "-36h" → RFC 3339 UTC; None stays None."""
    if offset is None:
        return None
    m = re.fullmatch(r"-(\d+)([dhm])", offset)
    secs = int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60}[m.group(2)]
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=secs)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def nested(o):
    """One demo order (our JSON) in the OMS's shape."""
    c, p = o["customer"], o["payment"]
    return {"order": {
        "number": o["id"], "placed_at": _when(o["created_at"]),
        "money": {"total": {"cents": o["total"], "currency": o["currency"]},
                  "refunded": {"cents": o["refunded"]}},
        "buyer": {"name": c["name"], "contact": {"email": c["email"], "phone": c["phone"]},
                  "risk": {"score": c["risk_score"]}, "disputes": c["chargebacks"]},
        "payment": {"reference": p["id"], "method": p["rail"], "gateway": p["provider"]},
        "delivery": {"status": o["delivery_status"], "at": _when(o["delivered_at"])},
        "lines": [{"sku": i["sku"], "kind": i["category"], "final": i["final_sale"],
                   "unit_price": {"cents": i["price"]}, "qty": i["quantity"]} for i in o["items"]],
    }}


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        with self.server.stub.lock:
            self.server.stub.conns.add(self.connection)

    def finish(self):
        with self.server.stub.lock:
            self.server.stub.conns.discard(self.connection)
        super().finish()

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        status, body = self.server.stub._answer(self.command, self.path,
                                                {k.lower(): v for k, v in self.headers.items()}, raw)
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = do_PATCH = _handle


class OmsStub:
    def __init__(self, token=TOKEN, basic=None, slow_s=3.0):
        self.token, self.basic, self.slow_s = token, basic, slow_s
        self.orders = {}
        for line in (REPO / "demo" / "orders.jsonl").read_text().splitlines():
            o = json.loads(line)
            self.orders[o["id"]] = nested(o)
        self.refunds = {}       # refund_id → {"order", "amount", "currency"}
        self.mode = {}          # order id → "500" | "404" | "slow" | "refuse"
        self.records = []
        self.conns = set()      # open client connections (keep-alive), closed by stop()
        self.lock = threading.Lock()
        self.server = None
        self.port = None

    # -- lifecycle

    def start(self):
        self.server = _Server(("127.0.0.1", self.port or 0), _Handler)
        self.server.stub = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Close the listening socket and every open connection: the OMS is
        down (start() again: same port)."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            conns, self.conns = list(self.conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def overrides(self, **http):
        """Gateway config for this stub: [orders] store = http and the mapping."""
        section = {"base_url": self.base_url, "lookup_path": PREFIX + "/orders/{id}",
                   "writeback_path": PREFIX + "/orders/{id}/refunds", **MAPPING}
        if self.basic:
            section.update(username=self.basic[0], password=self.basic[1])
        else:
            section["bearer_token"] = self.token
        section.update(http)
        return {"orders": {"store": "http"}, "orders.http": section,
                "test_channel": {"reply_timeout_ms": 15000}}

    # -- answers

    def _authorized(self, headers):
        auth = headers.get("authorization", "")
        if self.basic:
            want = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            return auth == f"Basic {want}"
        return auth == f"Bearer {self.token}"

    def _answer(self, method, path, headers, raw):
        rec = {"t": time.monotonic(), "method": method, "path": path, "headers": headers,
               "raw": raw, "json": None}
        try:
            rec["json"] = json.loads(raw) if raw else None
        except ValueError:
            pass
        status, body = self._decide(rec)
        rec["status"] = status
        with self.lock:
            self.records.append(rec)
        return status, body

    def _decide(self, rec):
        if not self._authorized(rec["headers"]):
            return 401, {"error": "unauthorized"}
        m = re.fullmatch(re.escape(PREFIX) + r"/orders/([^/?]+)(/refunds)?", rec["path"])
        if not m:
            return 404, {"error": "not found"}
        oid = m.group(1)
        mode = self.mode.get(oid)
        if mode == "500":
            return 500, {"error": "internal"}
        if mode == "slow":
            time.sleep(self.slow_s)
        with self.lock:
            order = self.orders.get(oid)
            if mode == "404" or order is None:
                return 404, {"error": "no such order"}
            if not m.group(2):
                return (200, copy.deepcopy(order)) if rec["method"] == "GET" else (405, {})
            if rec["method"] not in ("POST", "PATCH"):
                return 405, {"error": "method"}
            b = rec["json"]
            if (not isinstance(b, dict) or set(b) != {"refund_id", "amount", "currency"}
                    or not isinstance(b["amount"], int) or b["amount"] <= 0):
                return 400, {"error": "bad refund"}
            if b["refund_id"] in self.refunds:
                return 200, {"refund": self.refunds[b["refund_id"]], "replay": True}
            money = order["order"]["money"]
            if mode == "refuse" or b["amount"] > money["total"]["cents"] - money["refunded"]["cents"]:
                return 409, {"error": "refund above the remaining amount"}
            if b["currency"] != money["total"]["currency"]:
                return 400, {"error": "currency"}
            money["refunded"]["cents"] += b["amount"]
            self.refunds[b["refund_id"]] = {"order": oid, "amount": b["amount"],
                                            "currency": b["currency"]}
            return 201, {"refund": self.refunds[b["refund_id"]]}

    # -- what happened

    def requests(self, method=None, path=None):
        with self.lock:
            return [r for r in self.records
                    if (method is None or r["method"] == method) and (path is None or r["path"] == path)]

    def refunded(self, oid):
        with self.lock:
            return self.orders[oid]["order"]["money"]["refunded"]["cents"]


@pytest.fixture
def oms():
    stub = OmsStub().start()
    yield stub
    stub.stop()
