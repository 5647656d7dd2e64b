/* agent_int.h — what agent.c and refund.c share. Private to agent/. */
#ifndef RD_AGENT_INT_H
#define RD_AGENT_INT_H

#include <jansson.h>
#include "agent/agent.h"
#include "agent/dialog.h"
#include "agent/nlu.h"
#include "agent/rails.h"

struct agent {
	struct agent_config cfg;
	const struct templates *tpl;
	const struct orders_store_ops *store;
	void *store_ctx;
};

/* One turn in progress. */
struct tctx {
	struct agent *a;
	redisContext *rc;
	const struct message *in;
	struct turn *t;
	struct dialog d;
	struct understanding u;
	const char *locale;        /* a loaded template locale */
	int64_t now;               /* seconds */
	int step;                  /* audit steps so far: part of each idempotency key */
	int replies;               /* replies audited so far: part of theirs */
};

/* Point the turn at a customer's conversation (for turns that do not come
 * from the customer: a reviewer's click, a rail's news): c->t->out is
 * addressed to them on their channel (route from rd:conv:{cid}), c->d is
 * their dialog and c->locale their language. channel/user may be NULL to
 * take them from rd:conv:{cid}. */
enum rd_err turn_for_customer(struct tctx *c, const char *cid, const char *channel,
			      const char *user, const char *locale_hint) RD_WUR;

/* Render a template into the turn's replies; vars: key, value, …, NULL. */
enum rd_err say(struct tctx *c, enum template_id id, ...);
/* Same, with Yes / No buttons (ids confirm_yes / confirm_no). */
enum rd_err say_confirm(struct tctx *c, enum template_id id, ...);
/* Append an audit entry for this turn (steals data); hash_out may be NULL.
 * Its idempotency key is the message id with the step's number (a reply's:
 * its number among the turn's replies), so a replayed turn that takes the
 * same steps appends nothing new. */
enum rd_err audit_step(struct tctx *c, const char *kind, json_t *data, char *hash_out) RD_WUR;
/* The same for an entry that belongs to a refund rather than to a turn (the
 * refund, its credit note): keyed by kind and refund key, so that a replay
 * which skips steps (the rail already paid, the note already sealed) cannot
 * append it twice nor shift the numbers of what follows. */
enum rd_err audit_refund_step(struct tctx *c, const char *kind, const char *key, json_t *data,
			      char *hash_out) RD_WUR;
/* Format money for the turn's locale into buf (falls back to "186.00 BRL"). */
const char *fmt_money(struct tctx *c, int64_t minor, const char *cur, char *buf, size_t n);
/* Localized label of a payment rail ("Pix", "card"…). */
const char *rail_label(struct tctx *c, const char *rail);
/* Localized expected settlement time of a rail (templates settlement_*);
 * points into a per-thread buffer, valid until the next call. */
const char *settlement_text(struct tctx *c, const char *rail);

/* refund.c */
enum refund_result {
	RF_DONE,            /* paid and settled: the customer's replies are in the turn */
	RF_DENIED,          /* the policy denies it (already refunded, above what was paid, …) */
	RF_ESCALATE,        /* the policy wants a person (never returned for a person's approval) */
	RF_NO_RAIL,         /* no enabled rail for the original payment */
	RF_MANDATE,         /* outside the spend mandate: nothing was called */
	RF_RAIL_FAILED,     /* the rail refused it for good; the reservation is released */
	RF_RAIL_PENDING,    /* accepted, not settled */
	RF_RAIL_UNKNOWN,    /* the rail gave no answer (5xx, timeout) for [rails] max_attempts
	                       deliveries: a person takes it; the reservation is kept (the rail
	                       may have paid) and a retry reuses the same key */
};

struct refund_outcome {
	enum refund_result result;
	enum mandate_outcome mandate;
	struct policy_result policy;
	int64_t amount;
	char failure[256];  /* the rail's reason for RF_RAIL_FAILED */
};

/* Pay amount of order o back on its original rail under idempotency key,
 * through the policy (human = 1: a person approved, so an ESCALATE passes
 * but a DENY does not), the mandate and the rail, then settle (write-back,
 * credit note, audit, replies into c->t->out). Errors are RD_EREDIS /
 * RD_EUNAVAIL: retry the message; RD_EBUSY: no rail slot free, retry the
 * message without counting an attempt. */
enum rd_err refund_pay(struct tctx *c, const struct order *o, const char *key, int64_t amount,
		       int human, struct refund_outcome *out) RD_WUR;
/* Settle a refund the rail paid (idempotent): used by refund_pay. */
enum rd_err settle(struct tctx *c, const struct order *o, const char *key, int64_t amount,
		   const struct rail_refund_res *res) RD_WUR;
/* Execute the refund offered in c->d (after the customer said yes). */
enum rd_err refund_execute(struct tctx *c) RD_WUR;
/* Open a ticket for a person and tell the customer (tpl: escalated or human_handoff). */
enum rd_err escalate(struct tctx *c, const char *reason, const struct order *o, int64_t amount,
		     const char *decision_json, const char *suggested, enum template_id tpl) RD_WUR;
/* Answer a policy DENY with its reason. */
enum rd_err say_denied(struct tctx *c, const struct order *o, const struct policy_result *pr);
/* Offer key of a refund request: "rf_" + 32 hex of SHA-256(order|refunded|amount|cur). */
void refund_key(const struct order *o, int64_t amount, char out[40]);

#endif
