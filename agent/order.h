/* order.h — the order as redress sees it, whatever store it comes from.
 *
 * Wire format (JSON, one order a line in demo/orders.jsonl; README "Orders"):
 *   {"id": "8421", "currency": "BRL", "total": 18600, "refunded": 0,
 *    "customer": {"name": "Marina", "email": "marina@example.com",
 *                 "phone": "+5511987654321", "risk_score": 0.05, "chargebacks": 0},
 *    "items": [{"sku": "TSHIRT-001", "category": "apparel", "final_sale": false,
 *               "price": 18600, "quantity": 1}],
 *    "payment": {"rail": "pix", "provider": "sandbox", "id": "E1823..."},
 *    "created_at": "-2d", "delivered_at": "-1d", "delivery_status": "delivered"}
 * Amounts are minor units. Times are RFC 3339 or an offset from "now"
 * ("-2d", "-36h", "-90m", "-30s"). Unknown keys are kept. */
#ifndef RD_ORDER_H
#define RD_ORDER_H

#include <stdint.h>
#include <jansson.h>
#include "common/money.h"
#include "common/rd.h"

#define ORDER_MAX_ITEMS 32
#define ORDER_ID_LEN 64

struct order_item {
	char sku[64];
	char category[64];
	int final_sale;        /* 0/1 */
	int64_t price;         /* minor units, per unit */
	int quantity;
};

struct order {
	char id[ORDER_ID_LEN];
	char currency[MONEY_CUR_LEN];
	int64_t total;          /* minor units paid */
	int64_t refunded;       /* minor units refunded so far (0..total) */
	struct {
		char name[128];
		char email[256];
		char phone[32];     /* E.164 with '+', "" when none */
		double risk_score;  /* 0.0 .. 1.0 (a score, not money) */
		int chargebacks;
	} customer;
	struct order_item items[ORDER_MAX_ITEMS];
	size_t n_items;
	struct {
		char rail[16];      /* how it was paid: "card" | "pix" | "usdc" | … */
		char provider[32];  /* who executes refunds: "sandbox" | "stripe" | … */
		char id[128];       /* the provider's payment id */
	} payment;
	int64_t created_at;     /* seconds since the epoch */
	int64_t delivered_at;   /* seconds since the epoch, 0 when not delivered */
	char delivery_status[32]; /* "delivered" | "in_transit" | "lost" | … */
};

/* Validate an order document and fill *out. Relative times are resolved
 * against now (seconds) and written back into doc as RFC 3339, so the stored
 * document never goes stale. Required: id (string or integer), currency
 * (known code), total (integer ≥ 0), customer (object), items (array),
 * payment {rail, provider, id}, created_at. Optional with defaults: refunded
 * (0), customer.email/phone/name (""), risk_score (0), chargebacks (0),
 * delivered_at (none or null), delivery_status (""). Each item: price
 * (integer ≥ 0) required; sku, category (""), final_sale (false),
 * quantity (1) optional. Amounts and counts must be JSON integers (186.0 is
 * an error); risk_score may be an integer or a real in [0, 1]. Strings are
 * trimmed; email must contain '@' and phone must be E.164 ('+' then 8–15
 * digits) when not empty. On error returns RD_EINVAL (RD_ENOMEM if writing a
 * time back fails), zeroes *out and writes a reason naming the field to err:
 * "total: expected an integer (minor units)", "items[2].price: required",
 * "currency: unknown currency \"XYZ\"". doc is borrowed (modified in place
 * for times, even when a later field fails); unknown keys are left as they are. */
enum rd_err order_from_json(json_t *doc, int64_t now, struct order *out,
			    char *err, size_t errlen) RD_WUR;

/* Parse one JSON Lines line: json_loadb with JSON_REJECT_DUPLICATES, then
 * order_from_json. On success *doc_out (caller decrefs; doc_out may be NULL
 * when not wanted) holds the document with times resolved; on error it is
 * NULL. RD_EPROTO for bad JSON (err gives the column and the reason, never
 * the offending text), else as order_from_json. */
enum rd_err order_parse_line(const char *line, size_t len, int64_t now, struct order *out,
			     json_t **doc_out, char *err, size_t errlen) RD_WUR;

/* Parse a relative offset "-2d" / "-36h" / "-90m" / "-30s" (a leading '+'
 * or none means the future) into seconds. RD_EINVAL otherwise. */
enum rd_err order_parse_offset(const char *s, int64_t *secs) RD_WUR;

/* Identity check: 1 when the email matches the customer's (trimmed,
 * case-insensitive) or the phone matches as E.164 digits (only digits are
 * compared; both must have at least 8). NULL or "" arguments never match. */
int order_identity_matches(const struct order *o, const char *email, const char *phone);

/* Amount still refundable (total - refunded, never below 0). */
int64_t order_remaining(const struct order *o);

#endif
