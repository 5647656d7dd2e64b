/* policy.h — the deterministic refund policy. Pure: no I/O, no clock (now is
 * an argument), so the same input always gives the same decision. Every
 * threshold comes from [policy] in config.ini. */
#ifndef RD_POLICY_H
#define RD_POLICY_H

#include <stdint.h>
#include "agent/nlu.h"
#include "agent/order.h"
#include "common/money.h"

#define POLICY_MAX_CATEGORIES 16

struct policy_config {
	int refund_window_days;                         /* from delivery (or creation if never delivered) */
	char non_refundable_categories[POLICY_MAX_CATEGORIES][32]; /* "final_sale", "gift_card" */
	size_t n_non_refundable;
	struct money_list auto_approve_max;             /* a currency absent here is never auto-approved */
	double auto_approve_max_risk;                   /* customer risk score ceiling for auto-approve */
	struct money_list review_from_amount;           /* amount ≥ this → human review */
	int review_from_chargebacks;                    /* chargebacks ≥ this → human review */
	struct money_list evidence_required_above;      /* missing-delivery claim above this → review */
};

enum decision { DECISION_APPROVE = 0, DECISION_DENY, DECISION_ESCALATE };

/* Rules, evaluated in this order; every rule is always evaluated and reported. */
enum rule_id {
	RULE_ALREADY_REFUNDED = 0, /* deny: nothing left to refund */
	RULE_WITHIN_PAID,          /* deny: requested + refunded > total */
	RULE_REFUND_WINDOW,        /* deny: older than refund_window_days */
	RULE_NON_REFUNDABLE,       /* deny: an item has the final_sale flag, or its category is
	                              listed in non_refundable_categories (ASCII case-insensitive) */
	RULE_EVIDENCE,             /* escalate: missing-delivery claim above evidence_required_above */
	RULE_REVIEW_AMOUNT,        /* escalate: amount ≥ review_from_amount */
	RULE_REVIEW_CHARGEBACKS,   /* escalate: chargebacks ≥ review_from_chargebacks */
	RULE_AUTO_APPROVE_MAX,     /* escalate: amount > auto_approve_max (or no ceiling for currency) */
	RULE_RISK,                 /* escalate: risk_score > auto_approve_max_risk */
	RULE__COUNT
};

struct rule_result {
	enum rule_id id;
	int pass;                  /* 1 PASS, 0 FAIL */
	enum decision on_fail;     /* what a FAIL of this rule leads to */
	char detail[160];          /* short, no personal data: "delivered 41 days ago > 30" */
};

struct policy_request {
	int64_t amount;            /* minor units in the order's currency; 0 = all that remains */
	enum reason reason;
	int64_t now;               /* seconds since the epoch */
};

struct policy_result {
	enum decision decision;    /* DENY if any deny-rule fails, else ESCALATE if any fails, else APPROVE */
	int64_t amount;            /* the amount the decision is about (minor units) */
	struct rule_result rules[RULE__COUNT];
	size_t n_rules;
};

void policy_evaluate(const struct policy_config *cfg, const struct order *o,
		     const struct policy_request *req, struct policy_result *out);

/* First failed rule that led to the decision, or NULL for APPROVE (borrowed). */
const struct rule_result *policy_first_failure(const struct policy_result *r);

const char *decision_name(enum decision d);   /* "approve" | "deny" | "escalate" */
const char *rule_name(enum rule_id id);       /* "refund_window", … */

/* {"decision":"deny","amount":18600,"rules":[{"rule":"refund_window","result":"FAIL","detail":"…"},…]}
 * as a JSON string, caller frees. NULL on ENOMEM. */
char *policy_result_json(const struct policy_result *r, const char *currency);

#endif
