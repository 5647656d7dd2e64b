"""What the fault tests share: WhatsApp webhook bodies for many customers,
orders for them, a gateway with WhatsApp and the rails on the stubs, and the
counts that say whether anything was lost or done twice."""
import collections
import json
import time

from conftest import REPO, wait_for  # tests/integration/conftest.py
from graph_stub import message_text
from .load import Step
from test_whatsapp import PHONE_NUMBER_ID, WEBHOOK, new_wamid, sign, wa_overrides

TEXT_TEMPLATE = json.loads((REPO / "tests" / "data" / "whatsapp" / "text.json").read_text()
                           .replace("{{PHONE_NUMBER_ID}}", PHONE_NUMBER_ID))
BUTTON_TEMPLATE = json.loads((REPO / "tests" / "data" / "whatsapp" / "button_reply.json")
                             .read_text().replace("{{PHONE_NUMBER_ID}}", PHONE_NUMBER_ID))


# --------------------------------------------------------------------------- WhatsApp bodies

def _wa_body(template, wa_id, wamid, fill):
    doc = json.loads(json.dumps(template))
    value = doc["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    value["contacts"][0]["profile"]["name"] = f"Customer {wa_id[-4:]}"
    msg = value["messages"][0]
    msg["from"], msg["id"], msg["timestamp"] = wa_id, wamid, str(int(time.time()))
    fill(msg)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def wa_step(wa_id, text=None, button=None, wait=None):
    """A signed WhatsApp webhook Step with one message from wa_id: text, or a
    reply-button click (button = its id)."""
    wamid = new_wamid(wa_id)
    if button is None:
        body = _wa_body(TEXT_TEMPLATE, wa_id, wamid,
                        lambda m: m.__setitem__("text", {"body": text}))
    else:
        def fill(m):
            m["context"]["id"] = new_wamid("15550783881")
            m["interactive"]["button_reply"] = {"id": button, "title": "Yes"}
        body = _wa_body(BUTTON_TEMPLATE, wa_id, wamid, fill)
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
               "X-Hub-Signature-256": sign(body)}
    return Step(WEBHOOK, body, headers, key=wamid, wait=wait)


def chat_users(n, prefix="4479000"):
    return [f"{prefix}{i:05d}" for i in range(n)]


# --------------------------------------------------------------------------- orders

def refund_orders(n, first_id=3001, total=2500, provider="stripe", currency="USD",
                  phone_prefix="1415777", totals=None):
    """n orders (ids first_id…), each $25.00 by default, paid on `provider`,
    delivered two days ago, each with its own customer whose phone is
    +<phone_prefix><4 digits> (their WhatsApp wa_id without the +)."""
    out = []
    for i in range(n):
        oid = str(first_id + i)
        total = totals[i] if totals else total
        pay = {"stripe": f"pi_fault{oid}", "sandbox": f"pi_sandbox_{oid}"}[provider]
        out.append({
            "id": oid, "currency": currency, "total": total, "refunded": 0,
            "customer": {"name": f"Fault {oid}", "email": f"f{oid}@example.com",
                         "phone": f"+{phone_prefix}{i:04d}", "risk_score": 0.02,
                         "chargebacks": 0},
            "items": [{"sku": f"SKU-{oid}", "category": "home", "final_sale": False,
                       "price": total, "quantity": 1}],
            "payment": {"rail": "card", "provider": provider, "id": pay},
            "created_at": "-5d", "delivered_at": "-2d", "delivery_status": "delivered"})
    return out


def wa_id_of(order):
    return order["customer"]["phone"].lstrip("+")


def wa_rails_gateway(rails_gateway, graph, orders, gateway=None, **whatsapp):
    """A gateway with [whatsapp] on the Graph stub and the rails on their
    stubs, `orders` imported (and registered with the rail stubs). Meta's
    80 messages/s is lifted: the stub takes more, and the load would wait."""
    whatsapp.setdefault("max_messages_per_second", "1000")
    over = wa_overrides(graph, **whatsapp)
    for section, kv in (gateway or {}).items():
        over.setdefault(section, {}).update(kv)
    return rails_gateway(over, orders=orders)


# --------------------------------------------------------------------------- customers

def is_offer(rec):
    body = rec.get("json") or {}
    return body.get("type") == "interactive"


def offer_wait(graph, wa_id, timeout):
    """A Step.wait: until the offer (an interactive send) reached wa_id."""
    def wait():
        graph.wait_until(lambda recs: any(r["kind"] == "send" and r["ok"] and r["to"] == wa_id
                                          and is_offer(r) for r in recs),
                         timeout, what=f"the refund offer to {wa_id}")
    return wait


def refund_script(graph, order, timeout=90):
    """Ask for a refund of order on WhatsApp; after the offer, press Yes."""
    wa = wa_id_of(order)
    return [wa_step(wa, f"Hi, I want a refund for order {order['id']}"),
            wa_step(wa, button="confirm_yes", wait=offer_wait(graph, wa, timeout))]


def chat_script(wa_id, n):
    return [wa_step(wa_id, "hello") for _ in range(n)]


# --------------------------------------------------------------------------- counting

def settled(redis, stream, group):
    groups = {g["name"]: g for g in redis.xinfo_groups(stream)}
    g = groups.get(group)
    if g is None:
        return False
    last = redis.xinfo_stream(stream)["last-generated-id"]
    return g["pending"] == 0 and g["last-delivered-id"] == last


def wait_settled(redis, timeout):
    wait_for(lambda: settled(redis, "rd:inbound", "agents")
             and settled(redis, "rd:outbox", "senders"), timeout,
             what="rd:inbound and rd:outbox processed and acknowledged")


def backlog(redis, stream="rd:inbound", group="agents"):
    """Entries of stream the group has not finished: pending + never read."""
    g = next((g for g in redis.xinfo_groups(stream) if g["name"] == group), None)
    if g is None:
        return redis.xlen(stream)
    return int(g["pending"]) + int(g.get("lag") or 0)


def inbound_ids(redis):
    """Counter of message_id over every entry of rd:inbound."""
    c = collections.Counter()
    for _, f in redis.xrange("rd:inbound"):
        c[json.loads(f["m"])["message_id"]] += 1
    return c


def unprocessed(redis, channel, ids):
    """The ids whose turn was never committed (no rd:done:<channel>:<id>)."""
    pipe = redis.pipeline(transaction=False)
    for i in ids:
        pipe.exists(f"rd:done:{channel}:{i}")
    return [i for i, seen in zip(ids, pipe.execute()) if not seen]


def audit_by_message(redis):
    """{message_id: Counter(kind)} over rd:audit."""
    out = collections.defaultdict(collections.Counter)
    for _, f in redis.xrange("rd:audit"):
        try:
            mid = json.loads(f["data"]).get("message_id", "")
        except ValueError:
            mid = ""
        out[mid][f["kind"]] += 1
    return out


def sends_by_user(graph):
    """{wa_id: [texts of the accepted sends, in order]}."""
    out = collections.defaultdict(list)
    for r in graph.sends(ok=True):
        out[r["to"]].append(message_text(r))
    return out


def credit_notes(redis):
    notes = []
    for k in redis.scan_iter("rd:cn:*", count=1000):
        if k != "rd:cn:byrefund" and redis.type(k) == "hash":
            h = redis.hgetall(k)
            if "refund_id" in h:
                notes.append(h)
    return notes
