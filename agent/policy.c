/* policy.c — the deterministic refund policy (policy.h). Pure: every rule is
 * evaluated from the config, the order and the request; nothing else. */
#include "agent/policy.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#define DAY_SECS INT64_C(86400)

static const struct {
	const char *name;
	enum decision on_fail;
} rule_table[RULE__COUNT] = {
	[RULE_ALREADY_REFUNDED] = { "already_refunded", DECISION_DENY },
	[RULE_WITHIN_PAID] = { "within_paid", DECISION_DENY },
	[RULE_REFUND_WINDOW] = { "refund_window", DECISION_DENY },
	[RULE_NON_REFUNDABLE] = { "non_refundable", DECISION_DENY },
	[RULE_EVIDENCE] = { "evidence", DECISION_ESCALATE },
	[RULE_REVIEW_AMOUNT] = { "review_amount", DECISION_ESCALATE },
	[RULE_REVIEW_CHARGEBACKS] = { "review_chargebacks", DECISION_ESCALATE },
	[RULE_AUTO_APPROVE_MAX] = { "auto_approve_max", DECISION_ESCALATE },
	[RULE_RISK] = { "risk", DECISION_ESCALATE },
};

const char *decision_name(enum decision d)
{
	switch (d) {
	case DECISION_APPROVE: return "approve";
	case DECISION_DENY: return "deny";
	case DECISION_ESCALATE: return "escalate";
	}
	return "unknown";
}

const char *rule_name(enum rule_id id)
{
	return (unsigned)id < RULE__COUNT ? rule_table[id].name : "unknown";
}

/* Drop a UTF-8 sequence cut short at the end of s (snprintf truncation), so
 * details stay valid UTF-8 for JSON. */
static void utf8_clip(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char lead;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	if (lead < 0x80)
		return;
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* Record one rule's outcome with a printf-style detail. */
static void set_rule(struct policy_result *r, enum rule_id id, int pass, const char *fmt, ...)
	RD_PRINTF(4, 5);
static void set_rule(struct policy_result *r, enum rule_id id, int pass, const char *fmt, ...)
{
	struct rule_result *rr = &r->rules[id];
	va_list ap;
	rr->id = id;
	rr->pass = pass ? 1 : 0;
	rr->on_fail = rule_table[id].on_fail;
	va_start(ap, fmt);
	vsnprintf(rr->detail, sizeof rr->detail, fmt, ap);
	va_end(ap);
	utf8_clip(rr->detail);
}

/* Plain decimal text of an amount ("186.00"); the bare integer if the
 * currency is unknown. */
struct amt { char s[32]; };
static struct amt amt(int64_t minor, const char *cur)
{
	struct amt a;
	if (money_decimal(minor, cur, a.s, sizeof a.s) != RD_OK)
		snprintf(a.s, sizeof a.s, "%" PRId64, minor);
	return a;
}

static void rule_already_refunded(const struct order *o, int64_t remaining,
				  struct policy_result *r)
{
	const char *c = o->currency;
	if (remaining == 0)
		set_rule(r, RULE_ALREADY_REFUNDED, 0, "nothing left: refunded %s of %s %s",
			 amt(o->refunded, c).s, amt(o->total, c).s, c);
	else
		set_rule(r, RULE_ALREADY_REFUNDED, 1, "remaining %s of %s %s",
			 amt(remaining, c).s, amt(o->total, c).s, c);
}

static void rule_within_paid(const struct order *o, int64_t amount, int64_t remaining,
			     struct policy_result *r)
{
	const char *c = o->currency;
	if (amount < 0)
		set_rule(r, RULE_WITHIN_PAID, 0, "requested amount is negative");
	else if (amount > remaining)
		set_rule(r, RULE_WITHIN_PAID, 0, "requested %s > remaining %s %s",
			 amt(amount, c).s, amt(remaining, c).s, c);
	else
		set_rule(r, RULE_WITHIN_PAID, 1, "requested %s <= remaining %s %s",
			 amt(amount, c).s, amt(remaining, c).s, c);
}

static void rule_refund_window(const struct policy_config *cfg, const struct order *o,
			       int64_t now, struct policy_result *r)
{
	const char *what = o->delivered_at ? "delivered" : "created (not delivered)";
	int64_t since = o->delivered_at ? o->delivered_at : o->created_at;
	int64_t age, days, limit = (int64_t)cfg->refund_window_days * DAY_SECS;
	int pass;
	if (__builtin_sub_overflow(now, since, &age))
		age = since > now ? INT64_MIN : INT64_MAX;
	pass = age <= limit;
	days = age > 0 ? age / DAY_SECS : 0;
	if (!pass && days == cfg->refund_window_days)
		set_rule(r, RULE_REFUND_WINDOW, 0, "%s more than %" PRId64 " %s ago, window %d",
			 what, days, days == 1 ? "day" : "days", cfg->refund_window_days);
	else
		set_rule(r, RULE_REFUND_WINDOW, pass, "%s %" PRId64 " %s ago, window %d",
			 what, days, days == 1 ? "day" : "days", cfg->refund_window_days);
}

/* 1 when category is listed as non-refundable (ASCII case-insensitive). */
static int listed(const struct policy_config *cfg, const char *category)
{
	size_t n = cfg->n_non_refundable < POLICY_MAX_CATEGORIES
			   ? cfg->n_non_refundable : POLICY_MAX_CATEGORIES;
	if (!category[0])
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(cfg->non_refundable_categories[i], category,
				sizeof cfg->non_refundable_categories[i]) == 0)
			return 1;
	return 0;
}

static void rule_non_refundable(const struct policy_config *cfg, const struct order *o,
				struct policy_result *r)
{
	size_t n = o->n_items < ORDER_MAX_ITEMS ? o->n_items : ORDER_MAX_ITEMS;
	for (size_t i = 0; i < n; i++) {
		const struct order_item *it = &o->items[i];
		if (it->final_sale) {
			set_rule(r, RULE_NON_REFUNDABLE, 0, "item %zu (%s) is final sale",
				 i + 1, it->sku);
			return;
		}
		if (listed(cfg, it->category)) {
			set_rule(r, RULE_NON_REFUNDABLE, 0, "item %zu (%s) is %s, not refundable",
				 i + 1, it->sku, it->category);
			return;
		}
	}
	set_rule(r, RULE_NON_REFUNDABLE, 1, "no final-sale or non-refundable item");
}

static void rule_evidence(const struct policy_config *cfg, const struct order *o,
			  int64_t amount, enum reason reason, struct policy_result *r)
{
	const char *c = o->currency;
	const struct money *t = money_list_get(&cfg->evidence_required_above, c);
	if (reason != REASON_MISSING)
		set_rule(r, RULE_EVIDENCE, 1, "not a missing-delivery claim");
	else if (!t)
		set_rule(r, RULE_EVIDENCE, 0, "missing-delivery claim, no evidence threshold for %s", c);
	else if (amount > t->minor)
		set_rule(r, RULE_EVIDENCE, 0, "missing-delivery claim %s > %s %s needs evidence",
			 amt(amount, c).s, amt(t->minor, c).s, c);
	else
		set_rule(r, RULE_EVIDENCE, 1, "missing-delivery claim %s <= %s %s",
			 amt(amount, c).s, amt(t->minor, c).s, c);
}

static void rule_review_amount(const struct policy_config *cfg, const struct order *o,
			       int64_t amount, struct policy_result *r)
{
	const char *c = o->currency;
	const struct money *t = money_list_get(&cfg->review_from_amount, c);
	if (!t)
		set_rule(r, RULE_REVIEW_AMOUNT, 1, "no review threshold for %s", c);
	else if (amount >= t->minor)
		set_rule(r, RULE_REVIEW_AMOUNT, 0, "%s >= review from %s %s",
			 amt(amount, c).s, amt(t->minor, c).s, c);
	else
		set_rule(r, RULE_REVIEW_AMOUNT, 1, "%s < review from %s %s",
			 amt(amount, c).s, amt(t->minor, c).s, c);
}

static void rule_review_chargebacks(const struct policy_config *cfg, const struct order *o,
				    struct policy_result *r)
{
	int n = o->customer.chargebacks, from = cfg->review_from_chargebacks;
	if (from <= 0)
		set_rule(r, RULE_REVIEW_CHARGEBACKS, 1, "chargeback review off");
	else
		set_rule(r, RULE_REVIEW_CHARGEBACKS, n < from, "%d chargeback%s %s %d",
			 n, n == 1 ? "" : "s", n < from ? "<" : ">=", from);
}

static void rule_auto_approve_max(const struct policy_config *cfg, const struct order *o,
				  int64_t amount, struct policy_result *r)
{
	const char *c = o->currency;
	const struct money *t = money_list_get(&cfg->auto_approve_max, c);
	if (!t)
		set_rule(r, RULE_AUTO_APPROVE_MAX, 0, "no auto-approve ceiling for %s", c);
	else
		set_rule(r, RULE_AUTO_APPROVE_MAX, amount <= t->minor, "%s %s auto-approve max %s %s",
			 amt(amount, c).s, amount <= t->minor ? "<=" : ">", amt(t->minor, c).s, c);
}

static void rule_risk(const struct policy_config *cfg, const struct order *o,
		      struct policy_result *r)
{
	double s = o->customer.risk_score, max = cfg->auto_approve_max_risk;
	int pass = !(s > max);
	set_rule(r, RULE_RISK, pass, "risk %g %s %g", s, pass ? "<=" : ">", max);
}

void policy_evaluate(const struct policy_config *cfg, const struct order *o,
		     const struct policy_request *req, struct policy_result *out)
{
	int64_t remaining = order_remaining(o);
	int64_t amount = req->amount == 0 ? remaining : req->amount;
	int deny = 0, escalate = 0;

	memset(out, 0, sizeof *out);
	out->amount = amount;
	rule_already_refunded(o, remaining, out);
	rule_within_paid(o, amount, remaining, out);
	rule_refund_window(cfg, o, req->now, out);
	rule_non_refundable(cfg, o, out);
	rule_evidence(cfg, o, amount, req->reason, out);
	rule_review_amount(cfg, o, amount, out);
	rule_review_chargebacks(cfg, o, out);
	rule_auto_approve_max(cfg, o, amount, out);
	rule_risk(cfg, o, out);
	out->n_rules = RULE__COUNT;

	for (size_t i = 0; i < out->n_rules; i++) {
		if (out->rules[i].pass)
			continue;
		if (out->rules[i].on_fail == DECISION_DENY)
			deny = 1;
		else if (out->rules[i].on_fail == DECISION_ESCALATE)
			escalate = 1;
	}
	out->decision = deny ? DECISION_DENY : escalate ? DECISION_ESCALATE : DECISION_APPROVE;
}

const struct rule_result *policy_first_failure(const struct policy_result *r)
{
	if (r->decision == DECISION_APPROVE)
		return NULL;
	for (size_t i = 0; i < r->n_rules && i < RULE__COUNT; i++)
		if (!r->rules[i].pass && r->rules[i].on_fail == r->decision)
			return &r->rules[i];
	return NULL;
}

/* obj[key] = v, taking ownership of v (released on failure). 0 on success. */
static int put(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v) != 0;
}

/* A detail as a JSON string; a placeholder if it is not valid UTF-8 (only
 * possible for an order not built by order_from_json). */
static json_t *detail_json(const char *detail)
{
	json_t *v = json_string(detail);
	return v ? v : json_string("(detail is not UTF-8)");
}

char *policy_result_json(const struct policy_result *r, const char *currency)
{
	char *out = NULL;
	json_t *root = json_object(), *rules;

	if (!root || put(root, "decision", json_string(decision_name(r->decision))) ||
	    put(root, "amount", json_integer(r->amount)) ||
	    (currency && put(root, "currency", json_string(currency))))
		goto out;
	rules = json_array();
	if (put(root, "rules", rules)) /* root owns rules from here: borrowed below */
		goto out;
	for (size_t i = 0; i < r->n_rules && i < RULE__COUNT; i++) {
		const struct rule_result *rr = &r->rules[i];
		json_t *o = json_object();
		if (json_array_append_new(rules, o) ||
		    put(o, "rule", json_string(rule_name(rr->id))) ||
		    put(o, "result", json_string(rr->pass ? "PASS" : "FAIL")) ||
		    put(o, "on_fail", json_string(decision_name(rr->on_fail))) ||
		    put(o, "detail", detail_json(rr->detail)))
			goto out;
	}
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	return out;
}
