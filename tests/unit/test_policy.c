/* test_policy.c — agent/policy.c: every rule at and around its thresholds,
 * table-driven, plus the JSON form and the demo orders' expected decisions.
 * Run from the repo root (reads demo/orders.jsonl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/policy.h"

#define NOW INT64_C(1795168800) /* 2026-11-20T10:00:00Z */
#define DAY INT64_C(86400)
#define NOT_DELIVERED INT64_MIN
#define DEMO_ORDERS "demo/orders.jsonl"

#define F(rule) (1u << (rule))
#define ALL_RULES ((1u << RULE__COUNT) - 1)

/* The default [policy] of config.ini. */
static void default_config(struct policy_config *c)
{
	memset(c, 0, sizeof *c);
	c->refund_window_days = 30;
	snprintf(c->non_refundable_categories[0], sizeof c->non_refundable_categories[0],
		 "final_sale");
	snprintf(c->non_refundable_categories[1], sizeof c->non_refundable_categories[1],
		 "gift_card");
	c->n_non_refundable = 2;
	c->auto_approve_max_risk = 0.25;
	c->review_from_chargebacks = 2;
	assert_int_equal(money_list_parse("USD 75.00, EUR 70.00, BRL 400.00, USDC 75.00",
					  &c->auto_approve_max, NULL), RD_OK);
	assert_int_equal(money_list_parse("USD 200.00, EUR 180.00, BRL 1000.00, USDC 200.00",
					  &c->review_from_amount, NULL), RD_OK);
	assert_int_equal(money_list_parse("USD 100.00, EUR 90.00, BRL 500.00, USDC 100.00",
					  &c->evidence_required_above, NULL), RD_OK);
}

/* Config variants a case may ask for. */
static void cfg_no_categories(struct policy_config *c) { c->n_non_refundable = 0; }
static void cfg_chargebacks_off(struct policy_config *c) { c->review_from_chargebacks = 0; }
static void cfg_loose(struct policy_config *c)
{
	/* auto-approve and review far away, so evidence is seen alone */
	assert_int_equal(money_list_parse("USD 500.00, USDC 500.00", &c->auto_approve_max, NULL),
			 RD_OK);
	assert_int_equal(money_list_parse("USD 1000.00", &c->review_from_amount, NULL), RD_OK);
}
static void cfg_no_usdc_evidence(struct policy_config *c)
{
	assert_int_equal(money_list_parse("USD 100.00", &c->evidence_required_above, NULL), RD_OK);
}
static void cfg_window_0(struct policy_config *c) { c->refund_window_days = 0; }

/* One policy case. Zero fields take the defaults of make_order(): USD, total
 * 5000, nothing refunded, created 3 days and delivered 1 day before NOW,
 * one "apparel" item, risk 0, no chargebacks. */
struct pcase {
	const char *name;
	void (*cfg)(struct policy_config *);
	const char *cur;
	int64_t total, refunded;
	int64_t delivered_ago;   /* seconds before NOW; NOT_DELIVERED */
	int64_t created_ago;
	const char *category;
	int final_sale;
	int chargebacks;
	double risk;
	int64_t amount;          /* requested; 0 = all that remains */
	enum reason reason;
	enum decision want;
	int64_t want_amount;
	unsigned fails;          /* F(rule) of every rule that must FAIL */
};

static void make_order(const struct pcase *c, struct order *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->id, sizeof o->id, "T1");
	snprintf(o->currency, sizeof o->currency, "%s", c->cur ? c->cur : "USD");
	o->total = c->total ? c->total : 5000;
	o->refunded = c->refunded;
	snprintf(o->customer.email, sizeof o->customer.email, "test@example.com");
	o->customer.risk_score = c->risk;
	o->customer.chargebacks = c->chargebacks;
	o->n_items = 1;
	snprintf(o->items[0].sku, sizeof o->items[0].sku, "SKU-1");
	snprintf(o->items[0].category, sizeof o->items[0].category, "%s",
		 c->category ? c->category : "apparel");
	o->items[0].final_sale = c->final_sale;
	o->items[0].price = o->total;
	o->items[0].quantity = 1;
	o->created_at = NOW - (c->created_ago ? c->created_ago : 3 * DAY);
	if (c->delivered_ago != NOT_DELIVERED)
		o->delivered_at = NOW - (c->delivered_ago ? c->delivered_ago : DAY);
}

static const struct pcase cases[] = {
	/* already_refunded / within_paid */
	{ .name = "all remaining", .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "fully refunded", .refunded = 5000,
	  .want = DECISION_DENY, .want_amount = 0, .fails = F(RULE_ALREADY_REFUNDED) },
	{ .name = "fully refunded, asking more", .refunded = 5000, .amount = 100,
	  .want = DECISION_DENY, .want_amount = 100,
	  .fails = F(RULE_ALREADY_REFUNDED) | F(RULE_WITHIN_PAID) },
	{ .name = "partial: all remaining", .total = 8000, .refunded = 3000,
	  .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "partial: exactly remaining", .total = 8000, .refunded = 3000, .amount = 5000,
	  .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "partial: remaining + 1", .total = 8000, .refunded = 3000, .amount = 5001,
	  .want = DECISION_DENY, .want_amount = 5001, .fails = F(RULE_WITHIN_PAID) },
	{ .name = "partial: remaining - 1", .total = 8000, .refunded = 3000, .amount = 4999,
	  .want = DECISION_APPROVE, .want_amount = 4999 },
	{ .name = "one minor unit left", .refunded = 4999,
	  .want = DECISION_APPROVE, .want_amount = 1 },
	{ .name = "above total", .amount = 5001,
	  .want = DECISION_DENY, .want_amount = 5001, .fails = F(RULE_WITHIN_PAID) },
	{ .name = "negative amount", .amount = -1,
	  .want = DECISION_DENY, .want_amount = -1, .fails = F(RULE_WITHIN_PAID) },

	/* refund_window */
	{ .name = "delivered exactly 30 days ago", .delivered_ago = 30 * DAY,
	  .created_ago = 33 * DAY, .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "delivered 30 days + 1 s ago", .delivered_ago = 30 * DAY + 1,
	  .created_ago = 33 * DAY, .want = DECISION_DENY, .want_amount = 5000,
	  .fails = F(RULE_REFUND_WINDOW) },
	{ .name = "delivered 30 days - 1 s ago", .delivered_ago = 30 * DAY - 1,
	  .created_ago = 33 * DAY, .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "delivered 45 days ago", .delivered_ago = 45 * DAY, .created_ago = 50 * DAY,
	  .want = DECISION_DENY, .want_amount = 5000, .fails = F(RULE_REFUND_WINDOW) },
	{ .name = "old order, recent delivery", .delivered_ago = 2 * DAY,
	  .created_ago = 90 * DAY, .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "not delivered, created exactly 30 days ago", .delivered_ago = NOT_DELIVERED,
	  .created_ago = 30 * DAY, .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "not delivered, created 30 days + 1 s ago", .delivered_ago = NOT_DELIVERED,
	  .created_ago = 30 * DAY + 1, .want = DECISION_DENY, .want_amount = 5000,
	  .fails = F(RULE_REFUND_WINDOW) },
	{ .name = "delivered in the future (clock skew)", .delivered_ago = -3600,
	  .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "window 0: delivered 1 s ago", .cfg = cfg_window_0, .delivered_ago = 1,
	  .want = DECISION_DENY, .want_amount = 5000, .fails = F(RULE_REFUND_WINDOW) },

	/* non_refundable */
	{ .name = "final-sale item", .final_sale = 1,
	  .want = DECISION_DENY, .want_amount = 5000, .fails = F(RULE_NON_REFUNDABLE) },
	{ .name = "gift card", .category = "gift_card",
	  .want = DECISION_DENY, .want_amount = 5000, .fails = F(RULE_NON_REFUNDABLE) },
	{ .name = "category final_sale", .category = "final_sale",
	  .want = DECISION_DENY, .want_amount = 5000, .fails = F(RULE_NON_REFUNDABLE) },
	{ .name = "category case-insensitive", .category = "Gift_Card",
	  .want = DECISION_DENY, .want_amount = 5000, .fails = F(RULE_NON_REFUNDABLE) },
	{ .name = "gift card, no categories listed", .cfg = cfg_no_categories,
	  .category = "gift_card", .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "final-sale flag, no categories listed", .cfg = cfg_no_categories,
	  .final_sale = 1, .want = DECISION_DENY, .want_amount = 5000,
	  .fails = F(RULE_NON_REFUNDABLE) },
	{ .name = "category gift_cards (no match)", .category = "gift_cards",
	  .want = DECISION_APPROVE, .want_amount = 5000 },

	/* evidence (cfg_loose keeps auto-approve and review out of the way) */
	{ .name = "missing, at the evidence threshold", .cfg = cfg_loose, .total = 15000,
	  .amount = 10000, .reason = REASON_MISSING,
	  .want = DECISION_APPROVE, .want_amount = 10000 },
	{ .name = "missing, threshold + 1", .cfg = cfg_loose, .total = 15000,
	  .amount = 10001, .reason = REASON_MISSING,
	  .want = DECISION_ESCALATE, .want_amount = 10001, .fails = F(RULE_EVIDENCE) },
	{ .name = "damaged, threshold + 1", .cfg = cfg_loose, .total = 15000,
	  .amount = 10001, .reason = REASON_DAMAGED,
	  .want = DECISION_APPROVE, .want_amount = 10001 },
	{ .name = "missing, default config, 150.00", .total = 15000, .reason = REASON_MISSING,
	  .want = DECISION_ESCALATE, .want_amount = 15000,
	  .fails = F(RULE_EVIDENCE) | F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "missing, 60.00", .total = 6000, .reason = REASON_MISSING,
	  .want = DECISION_APPROVE, .want_amount = 6000 },
	{ .name = "missing, no threshold for USDC", .cfg = cfg_no_usdc_evidence, .cur = "USDC",
	  .total = 100, .reason = REASON_MISSING,
	  .want = DECISION_ESCALATE, .want_amount = 100, .fails = F(RULE_EVIDENCE) },
	{ .name = "not missing, no threshold for USDC", .cfg = cfg_no_usdc_evidence,
	  .cur = "USDC", .total = 100, .reason = REASON_LATE,
	  .want = DECISION_APPROVE, .want_amount = 100 },

	/* review_amount and auto_approve_max */
	{ .name = "at the auto-approve max", .total = 7500,
	  .want = DECISION_APPROVE, .want_amount = 7500 },
	{ .name = "auto-approve max + 1", .total = 7501,
	  .want = DECISION_ESCALATE, .want_amount = 7501, .fails = F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "review from - 1", .total = 19999,
	  .want = DECISION_ESCALATE, .want_amount = 19999, .fails = F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "at review from", .total = 20000, .want = DECISION_ESCALATE,
	  .want_amount = 20000, .fails = F(RULE_REVIEW_AMOUNT) | F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "at review from, partial request below", .total = 20000, .amount = 7500,
	  .want = DECISION_APPROVE, .want_amount = 7500 },
	{ .name = "EUR at the max", .cur = "EUR", .total = 7000,
	  .want = DECISION_APPROVE, .want_amount = 7000 },
	{ .name = "EUR max + 1", .cur = "EUR", .total = 7001,
	  .want = DECISION_ESCALATE, .want_amount = 7001, .fails = F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "EUR at review from", .cur = "EUR", .total = 18000, .want = DECISION_ESCALATE,
	  .want_amount = 18000, .fails = F(RULE_REVIEW_AMOUNT) | F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "BRL at the max", .cur = "BRL", .total = 40000,
	  .want = DECISION_APPROVE, .want_amount = 40000 },
	{ .name = "BRL max + 1", .cur = "BRL", .total = 40001,
	  .want = DECISION_ESCALATE, .want_amount = 40001, .fails = F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "BRL review from - 1", .cur = "BRL", .total = 99999,
	  .want = DECISION_ESCALATE, .want_amount = 99999, .fails = F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "USDC at the max", .cur = "USDC", .total = 7500,
	  .want = DECISION_APPROVE, .want_amount = 7500 },
	{ .name = "USDC at review from", .cur = "USDC", .total = 20000, .want = DECISION_ESCALATE,
	  .want_amount = 20000, .fails = F(RULE_REVIEW_AMOUNT) | F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "GBP: no ceiling, no review threshold", .cur = "GBP", .total = 100,
	  .want = DECISION_ESCALATE, .want_amount = 100, .fails = F(RULE_AUTO_APPROVE_MAX) },
	{ .name = "GBP missing: no evidence threshold", .cur = "GBP", .total = 100,
	  .reason = REASON_MISSING, .want = DECISION_ESCALATE, .want_amount = 100,
	  .fails = F(RULE_EVIDENCE) | F(RULE_AUTO_APPROVE_MAX) },

	/* review_chargebacks */
	{ .name = "1 chargeback", .chargebacks = 1,
	  .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "2 chargebacks", .chargebacks = 2, .want = DECISION_ESCALATE,
	  .want_amount = 5000, .fails = F(RULE_REVIEW_CHARGEBACKS) },
	{ .name = "5 chargebacks", .chargebacks = 5, .want = DECISION_ESCALATE,
	  .want_amount = 5000, .fails = F(RULE_REVIEW_CHARGEBACKS) },
	{ .name = "chargeback review off", .cfg = cfg_chargebacks_off, .chargebacks = 5,
	  .want = DECISION_APPROVE, .want_amount = 5000 },

	/* risk */
	{ .name = "risk at the max", .risk = 0.25,
	  .want = DECISION_APPROVE, .want_amount = 5000 },
	{ .name = "risk just above", .risk = 0.2501, .want = DECISION_ESCALATE,
	  .want_amount = 5000, .fails = F(RULE_RISK) },
	{ .name = "risk 0.6", .risk = 0.6, .want = DECISION_ESCALATE,
	  .want_amount = 5000, .fails = F(RULE_RISK) },

	/* precedence: deny beats escalate, every rule still reported */
	{ .name = "deny and escalate together", .delivered_ago = 40 * DAY,
	  .created_ago = 41 * DAY, .total = 35000, .risk = 0.9, .chargebacks = 3,
	  .reason = REASON_MISSING, .want = DECISION_DENY, .want_amount = 35000,
	  .fails = F(RULE_REFUND_WINDOW) | F(RULE_EVIDENCE) | F(RULE_REVIEW_AMOUNT) |
		   F(RULE_REVIEW_CHARGEBACKS) | F(RULE_AUTO_APPROVE_MAX) | F(RULE_RISK) },
	{ .name = "every escalate rule", .total = 35000, .risk = 0.9, .chargebacks = 3,
	  .reason = REASON_MISSING, .want = DECISION_ESCALATE, .want_amount = 35000,
	  .fails = F(RULE_EVIDENCE) | F(RULE_REVIEW_AMOUNT) | F(RULE_REVIEW_CHARGEBACKS) |
		   F(RULE_AUTO_APPROVE_MAX) | F(RULE_RISK) },
	{ .name = "every rule", .refunded = 5000, .amount = 35000, .delivered_ago = 40 * DAY,
	  .created_ago = 41 * DAY, .final_sale = 1, .risk = 0.9, .chargebacks = 3,
	  .reason = REASON_MISSING, .want = DECISION_DENY, .want_amount = 35000,
	  .fails = ALL_RULES },
};

static const enum decision on_fail[RULE__COUNT] = {
	[RULE_ALREADY_REFUNDED] = DECISION_DENY, [RULE_WITHIN_PAID] = DECISION_DENY,
	[RULE_REFUND_WINDOW] = DECISION_DENY, [RULE_NON_REFUNDABLE] = DECISION_DENY,
	[RULE_EVIDENCE] = DECISION_ESCALATE, [RULE_REVIEW_AMOUNT] = DECISION_ESCALATE,
	[RULE_REVIEW_CHARGEBACKS] = DECISION_ESCALATE, [RULE_AUTO_APPROVE_MAX] = DECISION_ESCALATE,
	[RULE_RISK] = DECISION_ESCALATE,
};

static void check_case(const struct pcase *c)
{
	struct policy_config cfg;
	struct order o;
	struct policy_request req = { .amount = c->amount, .reason = c->reason, .now = NOW };
	struct policy_result r;
	const struct rule_result *first;
	unsigned got = 0;

	default_config(&cfg);
	if (c->cfg)
		c->cfg(&cfg);
	make_order(c, &o);
	policy_evaluate(&cfg, &o, &req, &r);

	if (r.n_rules != RULE__COUNT)
		fail_msg("%s: %zu rules", c->name, r.n_rules);
	for (size_t i = 0; i < r.n_rules; i++) {
		if (r.rules[i].id != (enum rule_id)i || r.rules[i].on_fail != on_fail[i])
			fail_msg("%s: rule %zu out of order or wrong on_fail", c->name, i);
		if (!r.rules[i].detail[0] || strchr(r.rules[i].detail, '@'))
			fail_msg("%s: rule %s detail \"%s\"", c->name, rule_name(r.rules[i].id),
				 r.rules[i].detail);
		if (!r.rules[i].pass)
			got |= F(i);
	}
	if (got != c->fails) {
		char buf[512] = "";
		for (size_t i = 0; i < r.n_rules; i++)
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %s=%s(%s)",
				 rule_name(r.rules[i].id), r.rules[i].pass ? "PASS" : "FAIL",
				 r.rules[i].detail);
		fail_msg("%s: failures 0x%x, want 0x%x:%s", c->name, got, c->fails, buf);
	}
	if (r.decision != c->want || r.amount != c->want_amount)
		fail_msg("%s: %s %lld, want %s %lld", c->name, decision_name(r.decision),
			 (long long)r.amount, decision_name(c->want), (long long)c->want_amount);

	/* the first failure is the first failed rule of the decision's kind */
	first = policy_first_failure(&r);
	if (c->want == DECISION_APPROVE) {
		assert_null(first);
	} else {
		size_t i = 0;
		while (i < RULE__COUNT && !((c->fails & F(i)) && on_fail[i] == c->want))
			i++;
		assert_true(i < RULE__COUNT);
		assert_non_null(first);
		if (first->id != (enum rule_id)i)
			fail_msg("%s: first failure %s, want %s", c->name, rule_name(first->id),
				 rule_name((enum rule_id)i));
	}
}

/* One cmocka test per row of cases[] (the row is the initial state). */
static void test_rule_case(void **state)
{
	check_case(*state);
}

/* Every rule fails somewhere in the table, and passes somewhere. */
static void test_table_covers_every_rule(void **state)
{
	unsigned failed = 0;
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		failed |= cases[i].fails;
	assert_int_equal(failed, ALL_RULES);
	assert_int_equal(cases[0].fails, 0);
}

static const char *detail_of(const struct pcase *c, enum rule_id id)
{
	static struct policy_result r;
	struct policy_config cfg;
	struct order o;
	struct policy_request req = { .amount = c->amount, .reason = c->reason, .now = NOW };
	default_config(&cfg);
	if (c->cfg)
		c->cfg(&cfg);
	make_order(c, &o);
	policy_evaluate(&cfg, &o, &req, &r);
	return r.rules[id].detail;
}

static void test_details(void **state)
{
	(void)state;
	assert_string_equal(detail_of(&(struct pcase){ .delivered_ago = 41 * DAY,
						       .created_ago = 43 * DAY },
				      RULE_REFUND_WINDOW),
			    "delivered 41 days ago, window 30");
	assert_string_equal(detail_of(&(struct pcase){ .delivered_ago = 30 * DAY + 1,
						       .created_ago = 43 * DAY },
				      RULE_REFUND_WINDOW),
			    "delivered more than 30 days ago, window 30");
	assert_string_equal(detail_of(&(struct pcase){ .delivered_ago = NOT_DELIVERED,
						       .created_ago = 5 * DAY },
				      RULE_REFUND_WINDOW),
			    "created (not delivered) 5 days ago, window 30");
	assert_string_equal(detail_of(&(struct pcase){ .total = 8000, .refunded = 3000,
						       .amount = 5001 },
				      RULE_WITHIN_PAID),
			    "requested 50.01 > remaining 50.00 USD");
	assert_string_equal(detail_of(&(struct pcase){ .refunded = 5000 }, RULE_ALREADY_REFUNDED),
			    "nothing left: refunded 50.00 of 50.00 USD");
	assert_string_equal(detail_of(&(struct pcase){ .category = "gift_card" },
				      RULE_NON_REFUNDABLE),
			    "item 1 (SKU-1) is gift_card, not refundable");
	assert_string_equal(detail_of(&(struct pcase){ .total = 12000 }, RULE_AUTO_APPROVE_MAX),
			    "120.00 > auto-approve max 75.00 USD");
	assert_string_equal(detail_of(&(struct pcase){ .cur = "GBP" }, RULE_AUTO_APPROVE_MAX),
			    "no auto-approve ceiling for GBP");
	assert_string_equal(detail_of(&(struct pcase){ .total = 35000 }, RULE_REVIEW_AMOUNT),
			    "350.00 >= review from 200.00 USD");
	assert_string_equal(detail_of(&(struct pcase){ .chargebacks = 2 },
				      RULE_REVIEW_CHARGEBACKS),
			    "2 chargebacks >= 2");
	assert_string_equal(detail_of(&(struct pcase){ .risk = 0.6 }, RULE_RISK),
			    "risk 0.6 > 0.25");
	assert_string_equal(detail_of(&(struct pcase){ .total = 15000, .reason = REASON_MISSING },
				      RULE_EVIDENCE),
			    "missing-delivery claim 150.00 > 100.00 USD needs evidence");
}

static void test_names(void **state)
{
	static const char *const names[RULE__COUNT] = {
		"already_refunded", "within_paid", "refund_window", "non_refundable", "evidence",
		"review_amount", "review_chargebacks", "auto_approve_max", "risk",
	};
	(void)state;
	for (int i = 0; i < RULE__COUNT; i++)
		assert_string_equal(rule_name((enum rule_id)i), names[i]);
	assert_string_equal(rule_name(RULE__COUNT), "unknown");
	assert_string_equal(decision_name(DECISION_APPROVE), "approve");
	assert_string_equal(decision_name(DECISION_DENY), "deny");
	assert_string_equal(decision_name(DECISION_ESCALATE), "escalate");
}

static void test_result_json(void **state)
{
	const struct pcase c = { .delivered_ago = 41 * DAY, .created_ago = 43 * DAY,
				 .total = 18600, .cur = "BRL" };
	struct policy_config cfg;
	struct order o;
	struct policy_request req = { .now = NOW };
	struct policy_result r;
	json_error_t jerr;
	json_t *doc, *rules;
	char *s;
	(void)state;

	default_config(&cfg);
	make_order(&c, &o);
	policy_evaluate(&cfg, &o, &req, &r);
	s = policy_result_json(&r, o.currency);
	assert_non_null(s);
	doc = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
	free(s);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "decision")), "deny");
	assert_true(json_is_integer(json_object_get(doc, "amount")));
	assert_int_equal(json_integer_value(json_object_get(doc, "amount")), 18600);
	assert_string_equal(json_string_value(json_object_get(doc, "currency")), "BRL");
	rules = json_object_get(doc, "rules");
	assert_true(json_is_array(rules));
	assert_int_equal(json_array_size(rules), RULE__COUNT);
	for (size_t i = 0; i < RULE__COUNT; i++) {
		json_t *rr = json_array_get(rules, i);
		assert_string_equal(json_string_value(json_object_get(rr, "rule")),
				    rule_name((enum rule_id)i));
		assert_string_equal(json_string_value(json_object_get(rr, "result")),
				    i == RULE_REFUND_WINDOW ? "FAIL" : "PASS");
		assert_string_equal(json_string_value(json_object_get(rr, "on_fail")),
				    decision_name(on_fail[i]));
		assert_string_equal(json_string_value(json_object_get(rr, "detail")),
				    r.rules[i].detail);
	}
	json_decref(doc);

	/* without a currency the key is left out */
	s = policy_result_json(&r, NULL);
	assert_non_null(s);
	doc = json_loads(s, 0, &jerr);
	free(s);
	assert_non_null(doc);
	assert_null(json_object_get(doc, "currency"));
	json_decref(doc);

	/* an approval */
	const struct pcase ok = { .total = 4900 };
	make_order(&ok, &o);
	policy_evaluate(&cfg, &o, &req, &r);
	s = policy_result_json(&r, o.currency);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"decision\":\"approve\",\"amount\":4900,\"currency\":\"USD\""));
	assert_null(strstr(s, "FAIL"));
	free(s);
}

/* Details stay valid UTF-8 even when a long non-ASCII category is cut. */
static void test_detail_utf8(void **state)
{
	struct policy_config cfg;
	struct order o;
	struct policy_request req = { .now = NOW };
	struct policy_result r;
	char *s;
	(void)state;
	default_config(&cfg);
	make_order(&(struct pcase){ .category = "gift_card" }, &o);
	memset(o.items[0].sku, 0, sizeof o.items[0].sku);
	for (size_t i = 0; i + 2 < sizeof o.items[0].sku; i += 2)
		memcpy(o.items[0].sku + i, "\xc3\xa9", 2); /* é é é … */
	snprintf(cfg.non_refundable_categories[2], sizeof cfg.non_refundable_categories[2],
		 "%s", "catégorie-très-longue-é");
	cfg.n_non_refundable = 3;
	memset(o.items[0].category, 0, sizeof o.items[0].category);
	snprintf(o.items[0].category, sizeof o.items[0].category, "%s", "catégorie-très-longue-é");
	policy_evaluate(&cfg, &o, &req, &r);
	assert_false(r.rules[RULE_NON_REFUNDABLE].pass);
	s = policy_result_json(&r, o.currency);
	assert_non_null(s);
	assert_null(strstr(s, "not UTF-8"));
	free(s);
}

/* The decisions demo/README.md promises for the demo orders. */
static void test_demo_orders(void **state)
{
	static const struct {
		const char *id;
		int64_t amount;
		enum reason reason;
		enum decision want;
		enum rule_id first; /* ignored for approve */
	} want[] = {
		{ "8421", 0, REASON_NONE, DECISION_APPROVE, 0 },
		{ "1001", 0, REASON_DAMAGED, DECISION_APPROVE, 0 },
		{ "1002", 0, REASON_NONE, DECISION_ESCALATE, RULE_AUTO_APPROVE_MAX },
		{ "1003", 0, REASON_NONE, DECISION_ESCALATE, RULE_REVIEW_AMOUNT },
		{ "1004", 0, REASON_NONE, DECISION_DENY, RULE_REFUND_WINDOW },
		{ "1005", 0, REASON_NONE, DECISION_DENY, RULE_NON_REFUNDABLE },
		{ "1006", 0, REASON_NONE, DECISION_DENY, RULE_ALREADY_REFUNDED },
		{ "1007", 0, REASON_NONE, DECISION_APPROVE, 0 },
		{ "1007", 6000, REASON_NONE, DECISION_DENY, RULE_WITHIN_PAID },
		{ "1008", 0, REASON_NONE, DECISION_ESCALATE, RULE_REVIEW_CHARGEBACKS },
		{ "1009", 0, REASON_MISSING, DECISION_ESCALATE, RULE_EVIDENCE },
		{ "1010", 0, REASON_MISSING, DECISION_APPROVE, 0 },
		{ "1011", 0, REASON_NONE, DECISION_APPROVE, 0 },
		{ "1012", 0, REASON_NONE, DECISION_APPROVE, 0 },
		{ "1013", 0, REASON_NONE, DECISION_ESCALATE, RULE_RISK },
		{ "1014", 0, REASON_NONE, DECISION_DENY, RULE_NON_REFUNDABLE },
	};
	static struct order orders[64];
	size_t n = 0, cap = 0;
	struct policy_config cfg;
	char *line = NULL;
	ssize_t len;
	FILE *f = fopen(DEMO_ORDERS, "r");
	(void)state;
	if (!f)
		fail_msg("cannot open %s: run from the repository root", DEMO_ORDERS);
	while ((len = getline(&line, &cap, f)) != -1 && n < RD_ARRAY_LEN(orders)) {
		char err[256];
		if (order_parse_line(line, (size_t)len, NOW, &orders[n], NULL, err, sizeof err))
			fail_msg("%s:%zu: %s", DEMO_ORDERS, n + 1, err);
		n++;
	}
	free(line);
	fclose(f);
	default_config(&cfg);
	for (size_t i = 0; i < RD_ARRAY_LEN(want); i++) {
		const struct order *o = NULL;
		struct policy_request req = { .amount = want[i].amount, .reason = want[i].reason,
					      .now = NOW };
		struct policy_result r;
		const struct rule_result *first;
		for (size_t j = 0; j < n; j++)
			if (strcmp(orders[j].id, want[i].id) == 0)
				o = &orders[j];
		if (!o)
			fail_msg("demo order %s not found", want[i].id);
		policy_evaluate(&cfg, o, &req, &r);
		first = policy_first_failure(&r);
		if (r.decision != want[i].want ||
		    (want[i].want != DECISION_APPROVE && first->id != want[i].first))
			fail_msg("demo %s: %s (%s), want %s (%s)", want[i].id,
				 decision_name(r.decision), first ? rule_name(first->id) : "-",
				 decision_name(want[i].want), rule_name(want[i].first));
	}
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_table_covers_every_rule),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_result_json),
		cmocka_unit_test(test_detail_utf8),
		cmocka_unit_test(test_demo_orders),
	};
	struct CMUnitTest tests[RD_ARRAY_LEN(cases) + RD_ARRAY_LEN(fixed)];
	size_t n = 0;
	for (size_t i = 0; i < RD_ARRAY_LEN(cases); i++)
		tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
						  .test_func = test_rule_case,
						  .initial_state = (void *)&cases[i] };
	for (size_t i = 0; i < RD_ARRAY_LEN(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("policy", tests, n, NULL, NULL);
}
