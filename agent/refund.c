/* refund.c — executing a confirmed refund and handing work to people.
 *
 * The order of effects after "yes", each idempotent so a replay after a
 * crash repeats nothing:
 *   re-verify the order → policy again (state may have moved) →
 *   mandate reserve (Lua, atomic; above a cap → escalate, rail never called) →
 *   rail refund with the offer's idempotency key →
 *   mandate commit → order write-back → refund record → credit note →
 *   audit refund + credit note (the credit note sealed with its entry hash). */
#include "agent/agent_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/audit.h"
#include "agent/creditnote.h"
#include "agent/rails.h"
#include "agent/review.h"
#include "common/log.h"
#include "common/util.h"

void refund_key(const struct order *o, int64_t amount, char out[40])
{
	char buf[256], hex[65];
	int n = snprintf(buf, sizeof buf, "%s|%lld|%lld|%s", o->id, (long long)o->refunded,
			 (long long)amount, o->currency);
	sha256_hex(buf, (size_t)n, hex);
	snprintf(out, 40, "rf_%.32s", hex);
}

/* What a reviewer needs to see on the card, stored with the ticket:
 * {"policy": <policy result>, "order": {id, total, …, risk_score, chargebacks}}.
 * Caller frees. */
static char *ticket_context(const struct order *o, const char *decision_json)
{
	json_t *ctx = json_object();
	json_t *pol = decision_json ? json_loads(decision_json, 0, NULL) : NULL;
	json_object_set_new(ctx, "policy", pol ? pol : json_object());
	if (o) {
		char created[32], delivered[32] = "";
		rfc3339_format(o->created_at, created, sizeof created);
		if (o->delivered_at)
			rfc3339_format(o->delivered_at, delivered, sizeof delivered);
		json_object_set_new(ctx, "order",
			json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:i}", "id", o->id,
				  "total", (json_int_t)o->total, "refunded", (json_int_t)o->refunded,
				  "currency", o->currency, "rail", o->payment.rail, "provider",
				  o->payment.provider, "created_at", created, "delivered_at", delivered,
				  "delivery_status", o->delivery_status, "risk_score", o->customer.risk_score,
				  "chargebacks", o->customer.chargebacks));
	}
	char *s = json_dumps(ctx, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(ctx);
	return s;
}

enum rd_err escalate(struct tctx *c, const char *reason, const struct order *o, int64_t amount,
		     const char *decision_json, const char *suggested, enum template_id tpl)
{
	struct dialog *d = &c->d;
	char ikey[MODEL_ID_LEN + 64], id[32];
	int created = 0;
	snprintf(ikey, sizeof ikey, "%s:%s:%d", c->in->channel, c->in->message_id, c->step + 1);
	struct ticket_req req = {
		.ikey = ikey,
		.conversation_id = c->t->out.conversation_id,
		.channel = c->t->out.channel,
		.channel_user_id = c->t->out.channel_user_id,
		.locale = c->locale,
		.order_id = o ? o->id : "",
		.amount = amount,
		.currency = o ? o->currency : "",
		.reason = reason,
		.decision_json = decision_json ? decision_json : "{}",
		.request_text = d->request,
		.suggested_action = suggested,
		.created_at = c->now,
	};
	char *context = ticket_context(o, decision_json);
	if (!context)
		return RD_ENOMEM;
	req.decision_json = context;
	enum rd_err err = review_open(c->rc, &req, id, sizeof id, &created);
	free(context);
	if (err)
		return err;
	json_t *data = json_pack("{s:s, s:s, s:s, s:I, s:s}", "ticket", id, "reason", reason,
				 "order_id", req.order_id, "amount", (json_int_t)amount, "currency",
				 req.currency);
	if ((err = audit_step(c, "escalation", data, NULL)))
		return err;
	c->t->ev.escalated = 1;
	if (created) /* reviewers see it: a card for whichever review channel is on */
		turn_add_review_card(c->t, id);
	d->state = DS_ESCALATED;
	model_strlcpy(d->ticket, id, sizeof d->ticket);
	if (tpl == TPL_human_handoff)
		return say(c, tpl, "ticket", id, NULL);
	return say(c, tpl, "order", o ? o->id : (d->order_id[0] ? d->order_id : "-"), "ticket", id, NULL);
}

enum rd_err say_denied(struct tctx *c, const struct order *o, const struct policy_result *pr)
{
	const struct rule_result *f = policy_first_failure(pr);
	char *why = NULL, amt[64], days[16];
	const char *none[] = { NULL };
	enum rd_err err;
	switch (f ? f->id : RULE_ALREADY_REFUNDED) {
	case RULE_WITHIN_PAID: {
		const char *v[] = { "amount", fmt_money(c, order_remaining(o), o->currency, amt, sizeof amt), NULL };
		err = templates_render(c->a->tpl, c->locale, TPL_reason_exceeds_paid, v, &why);
		break;
	}
	case RULE_REFUND_WINDOW: {
		snprintf(days, sizeof days, "%d", c->a->cfg.policy->refund_window_days);
		const char *v[] = { "days", days, NULL };
		err = templates_render(c->a->tpl, c->locale, TPL_reason_window, v, &why);
		break;
	}
	case RULE_NON_REFUNDABLE:
		err = templates_render(c->a->tpl, c->locale, TPL_reason_non_refundable, none, &why);
		break;
	default:
		err = templates_render(c->a->tpl, c->locale, TPL_reason_already_refunded, none, &why);
		break;
	}
	if (err)
		return err;
	err = say(c, TPL_denied, "order", o->id, "reason", why, NULL);
	free(why);
	return err;
}

/* The refund record rd:refund:{key}: our view of a refund, for status
 * questions, rail updates and review. Pending refunds are also in the zset
 * rd:refunds:pending (oldest first) until they settle or fail. */
static enum rd_err record_refund(struct tctx *c, const struct order *o, const char *key,
				 int64_t amount, const struct rail_refund_res *res, const char *note)
{
	char amt[24], ts[24], k[96];
	snprintf(amt, sizeof amt, "%lld", (long long)amount);
	snprintf(ts, sizeof ts, "%lld", (long long)c->now);
	snprintf(k, sizeof k, "rd:refund:%s", key);
	const char *argv[] = { "HSET", k, "order_id", o->id, "amount", amt, "currency", o->currency,
			       "rail", o->payment.rail, "provider", o->payment.provider,
			       "payment_id", o->payment.id, "provider_refund_id", res->provider_refund_id,
			       "status", refund_status_name(res->status), "tx_hash", res->tx_hash,
			       "conversation_id", c->t->out.conversation_id, "credit_note", note,
			       "reason", c->d.reason, "updated_at", ts };
	redisAppendCommandArgv(c->rc, RD_ARRAY_LEN(argv), argv, NULL);
	redisAppendCommand(c->rc, "HSETNX %s created_at %s", k, ts);
	if (res->status == REFUND_PENDING)
		redisAppendCommand(c->rc, "ZADD rd:refunds:pending NX %s %s", ts, key);
	else
		redisAppendCommand(c->rc, "ZREM rd:refunds:pending %s", key);
	enum rd_err err = RD_OK;
	for (int i = 0; i < 3; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c->rc, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
			err = RD_EREDIS;
		if (r)
			freeReplyObject(r);
	}
	return err;
}

/* 1 when this turn is the one that tells the customer `what` ("pending",
 * "done") about refund key: the first turn to try, or a replay of it
 * (another turn — a webhook and the customer's retried "yes" — must not
 * tell them the same thing twice). */
static int first_to_tell(struct tctx *c, const char *key, const char *what)
{
	redisReply *r = redisCommand(c->rc, "HSETNX rd:refund:%s told_%s %s", key, what, c->in->message_id);
	int mine = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	if (r)
		freeReplyObject(r);
	if (mine)
		return 1;
	r = redisCommand(c->rc, "HGET rd:refund:%s told_%s", key, what);
	mine = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, c->in->message_id) == 0;
	if (r)
		freeReplyObject(r);
	return mine;
}

/* The refunded lines for the credit note: every item of the order. */
static char *lines_json(const struct order *o)
{
	json_t *a = json_array();
	for (size_t i = 0; i < o->n_items; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:I}", "sku", o->items[i].sku,
						   "category", o->items[i].category, "quantity",
						   o->items[i].quantity, "price", (json_int_t)o->items[i].price));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* The rail paid: settle everything around it and tell the customer. */
enum rd_err settle(struct tctx *c, const struct order *o, const char *key, int64_t amount,
		   const struct rail_refund_res *res)
{
	struct agent *a = c->a;
	enum rd_err err = mandate_commit(c->rc, key);
	if (err)
		return err;
	err = a->store->record_refund(a->store_ctx, c->rc, o->id, key, amount);
	if (err == RD_ELIMIT) /* the store already counts more than was paid: a person must look */
		LOG_E("agent", "order_overrefund", "order %s refund %s: store refuses the write-back", o->id, key);
	else if (err)
		return err;
	char number[32], *lines = lines_json(o);
	int created;
	struct credit_note_req cn = {
		.prefix = a->cfg.credit_note_prefix, .issuer = a->cfg.issuer_name, .refund_id = key,
		.order_id = o->id, .amount = amount, .currency = o->currency,
		.customer = o->customer.name, .reason = c->d.reason, .issued_at = c->now,
		.tax_id = a->cfg.issuer_tax_id, .address = a->cfg.issuer_address,
		.payment_id = o->payment.id, .rail = o->payment.rail, .lines_json = lines,
		.locale = c->locale,
	};
	err = creditnote_issue(c->rc, &cn, number, sizeof number, &created);
	free(lines);
	if (err || (err = record_refund(c, o, key, amount, res, number)))
		return err;
	/* sealed already (another turn settled it: a webhook and a retried
	 * "yes", two conversations on one order): audited once, not again */
	redisReply *sr = redisCommand(c->rc, "HGET rd:cn:%s seal", number);
	int sealed = sr && sr->type == REDIS_REPLY_STRING && sr->len == 64;
	if (sr)
		freeReplyObject(sr);
	char refund_hash[65], cn_hash[65];
	if (sealed)
		goto settled;
	json_t *rf = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "refund_id", key,
			       "provider_refund_id", res->provider_refund_id, "order_id", o->id,
			       "rail", o->payment.rail, "provider", o->payment.provider, "amount",
			       (json_int_t)amount, "currency", o->currency, "payment_id", o->payment.id,
			       "tx_hash", res->tx_hash);
	if ((err = audit_refund_step(c, "refund", key, rf, refund_hash)))
		return err;
	json_t *cj = json_pack("{s:s, s:s, s:I, s:s, s:s}", "number", number, "refund_id", key,
			       "amount", (json_int_t)amount, "currency", o->currency, "refund_entry",
			       refund_hash);
	if ((err = audit_refund_step(c, "credit_note", key, cj, cn_hash)))
		return err;
	if ((err = creditnote_seal(c->rc, number, cn_hash)))
		return err;
settled:
	c->t->ev.refunded = created;
	c->t->ev.credit_note = created;
	c->t->ev.refund_minor = amount;
	model_strlcpy(c->t->ev.rail, o->payment.rail, sizeof c->t->ev.rail);
	model_strlcpy(c->t->ev.refund_cur, o->currency, sizeof c->t->ev.refund_cur);
	model_strlcpy(c->d.last_refund, key, sizeof c->d.last_refund);
	c->d.state = DS_IDLE;
	c->d.order_id[0] = c->d.offer_key[0] = c->d.request[0] = c->d.reason[0] = '\0';
	c->d.amount = c->d.offer_amount = 0;
	if (!first_to_tell(c, key, "done"))
		return RD_OK; /* another turn told the customer already */
	char amt[64], link[512];
	fmt_money(c, amount, o->currency, amt, sizeof amt);
	if (res->tx_hash[0])
		err = say(c, TPL_refunded_onchain, "amount", amt, "order", o->id, "tx_hash", res->tx_hash, NULL);
	else
		err = say(c, TPL_refunded, "amount", amt, "order", o->id, "rail", rail_label(c, o->payment.rail),
			  "refund_id", res->provider_refund_id[0] ? res->provider_refund_id : key, NULL);
	if (err)
		return err;
	creditnote_link(a->cfg.public_url, a->cfg.link_secret, number,
			c->now + (int64_t)a->cfg.link_ttl_days * 86400, link, sizeof link);
	return say(c, TPL_credit_note, "number", number, "amount", amt, "order", o->id, "link", link, NULL);
}

/* The rail took the refund but has not settled it: say so, and wait for it. */
static enum rd_err pending(struct tctx *c, const struct order *o, const char *key, int64_t amount,
			   const struct rail_refund_res *res)
{
	enum rd_err err = record_refund(c, o, key, amount, res, "");
	if (err)
		return err;
	json_t *pj = json_pack("{s:s, s:s, s:s, s:I, s:s}", "refund_id", key, "provider_refund_id",
			       res->provider_refund_id, "order_id", o->id, "amount", (json_int_t)amount,
			       "currency", o->currency);
	if ((err = audit_step(c, "refund_pending", pj, NULL)))
		return err;
	model_strlcpy(c->d.last_refund, key, sizeof c->d.last_refund);
	c->d.state = DS_IDLE;
	if (!first_to_tell(c, key, "pending"))
		return RD_OK;
	char amt[64];
	return say(c, TPL_refund_pending, "amount", fmt_money(c, amount, o->currency, amt, sizeof amt),
		   "order", o->id, "rail", rail_label(c, o->payment.rail), "settlement",
		   settlement_text(c, o->payment.rail), NULL);
}

/* A refund that already went through under key: its provider id, or 0. */
static enum rd_err already_paid(struct tctx *c, const char *key, struct rail_refund_res *res, int *paid)
{
	redisReply *r = redisCommand(c->rc, "HMGET rd:refund:%s status provider_refund_id conversation_id",
				     key);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		if (r)
			freeReplyObject(r);
		return RD_EREDIS;
	}
	*paid = r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "succeeded") == 0;
	if (r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "pending") == 0)
		*paid = -1; /* asked already, not settled: the rail update will settle it */
	if (*paid > 0 && r->element[2]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[2]->str, c->t->out.conversation_id) != 0)
		*paid = 2; /* paid, but asked for in another conversation */
	if (*paid) {
		res->status = REFUND_SUCCEEDED;
		if (r->element[1]->type == REDIS_REPLY_STRING)
			model_strlcpy(res->provider_refund_id, r->element[1]->str, sizeof res->provider_refund_id);
	}
	freeReplyObject(r);
	return RD_OK;
}

enum rd_err refund_pay(struct tctx *c, const struct order *o, const char *key, int64_t amount,
		       int human, struct refund_outcome *out)
{
	struct agent *a = c->a;
	struct rail_refund_res res = { .status = REFUND_PENDING };
	enum rd_err err;
	int paid;
	memset(out, 0, sizeof *out);
	out->amount = amount;
	/* a replay of a refund that already went through: settle again (idempotent) */
	if ((err = already_paid(c, key, &res, &paid)))
		return err;
	if (paid == 2) { /* the same refund, done for another conversation: nothing left */
		out->result = RF_DENIED;
		memset(&out->policy, 0, sizeof out->policy);
		out->policy.decision = DECISION_DENY;
		out->policy.amount = amount;
		out->policy.n_rules = 1;
		out->policy.rules[0] = (struct rule_result){ RULE_ALREADY_REFUNDED, 0, DECISION_DENY,
							     "refunded in another conversation" };
		return RD_OK;
	}
	if (paid > 0) {
		out->result = RF_DONE;
		return settle(c, o, key, amount, &res);
	}
	if (paid < 0) {
		out->result = RF_RAIL_PENDING;
		return pending(c, o, key, amount, &res);
	}
	struct policy_request pr = { amount, REASON_NONE, c->now };
	for (int r = REASON_NONE; r <= REASON_CHANGED_MIND; r++)
		if (strcmp(reason_name((enum reason)r), c->d.reason) == 0)
			pr.reason = (enum reason)r;
	policy_evaluate(a->cfg.policy, o, &pr, &out->policy);
	/* a person may approve what the policy escalates, never what it denies */
	if (out->policy.decision == DECISION_DENY) {
		out->result = RF_DENIED;
		return RD_OK;
	}
	if (out->policy.decision == DECISION_ESCALATE && !human) {
		out->result = RF_ESCALATE;
		return RD_OK;
	}
	void *rail_ctx = NULL;
	const struct rail_ops *rail = rails_get(a->cfg.rails, o->payment.provider, &rail_ctx);
	if (!rail) {
		out->result = RF_NO_RAIL;
		return RD_OK;
	}
	/* the mandate, outside any reasoning and above any approval: no
	 * reservation, no rail call */
	struct money m = { .minor = amount };
	model_strlcpy(m.cur, o->currency, sizeof m.cur);
	if ((err = mandate_reserve(c->rc, a->cfg.mandate, key, &m, c->now, &out->mandate)))
		return err;
	json_t *mj = json_pack("{s:s, s:s, s:I, s:s, s:b}", "reservation", key, "outcome",
			       mandate_outcome_name(out->mandate), "amount", (json_int_t)m.minor,
			       "currency", m.cur, "human_approval", human);
	if ((err = audit_step(c, "mandate", mj, NULL)))
		return err;
	if (out->mandate != MANDATE_RESERVED && out->mandate != MANDATE_SPENT) {
		out->result = RF_MANDATE;
		return RD_OK;
	}
	struct rail_refund_req rq = {
		.payment_id = o->payment.id, .payment_rail = o->payment.rail, .payment_total = o->total,
		.amount = m.minor, .currency = o->currency, .reason = c->d.reason,
		.idempotency_key = key, .order_id = o->id, .conversation_id = c->t->out.conversation_id,
	};
	err = rails_refund(a->cfg.rails, rail, rail_ctx, c->rc, &rq, &res);
	if (err == RD_EBUSY || err == RD_EREDIS || err == RD_ENOMEM)
		return err; /* the rail was not asked, or we cannot record: the message comes back */
	if (err) {
		/* outcome unknown: keep the reservation and retry the message with
		 * the same key, until the stream has handed it over max_attempts
		 * times; then a person takes it (and the customer is told) */
		int max = rails_max_attempts(a->cfg.rails);
		if (c->in->attempt < max) {
			LOG_W("agent", "refund_retry", "refund %s on %s: %s (delivery %d of %d)", key,
			      o->payment.provider, rd_strerror(err), c->in->attempt, max);
			return err == RD_ETIMEOUT ? RD_EUNAVAIL : err;
		}
		LOG_E("agent", "refund_unknown", "refund %s on %s: %s after %d deliveries: to a person",
		      key, o->payment.provider, rd_strerror(err), c->in->attempt);
		json_t *uj = json_pack("{s:s, s:s, s:s, s:i}", "refund_id", key, "order_id", o->id,
				       "error", rd_strerror(err), "attempts", c->in->attempt);
		if ((err = audit_step(c, "refund_unknown", uj, NULL)))
			return err;
		out->result = RF_RAIL_UNKNOWN;
		return RD_OK;
	}
	if (res.status == REFUND_FAILED) {
		if ((err = mandate_release(c->rc, key)))
			return err;
		json_t *fj = json_pack("{s:s, s:s, s:s}", "refund_id", key, "order_id", o->id, "failure",
				       res.failure);
		if ((err = audit_step(c, "refund_failed", fj, NULL)))
			return err;
		out->result = RF_RAIL_FAILED;
		model_strlcpy(out->failure, res.failure, sizeof out->failure);
		return RD_OK;
	}
	if (res.status == REFUND_PENDING) {
		out->result = RF_RAIL_PENDING;
		return pending(c, o, key, m.minor, &res);
	}
	out->result = RF_DONE;
	return settle(c, o, key, m.minor, &res);
}

enum rd_err refund_execute(struct tctx *c)
{
	struct agent *a = c->a;
	struct dialog *d = &c->d;
	char key[80];
	struct order o;
	model_strlcpy(key, d->offer_key, sizeof key);

	enum rd_err err = a->store->lookup(a->store_ctx, c->rc, d->order_id, &o);
	if (err == RD_EUNAVAIL)
		return say(c, TPL_store_unavailable, NULL);
	if (err && err != RD_ENOTFOUND)
		return err;
	if (err || !order_identity_matches(&o, d->email, c->in->verified_phone)) {
		d->state = DS_AWAIT_ORDER;
		d->order_id[0] = d->email[0] = '\0';
		return say(c, TPL_not_found, NULL);
	}
	struct refund_outcome out;
	if ((err = refund_pay(c, &o, key, d->offer_amount, 0, &out)))
		return err;
	switch (out.result) {
	case RF_DONE:
		return RD_OK;
	case RF_DENIED:
		d->state = DS_IDLE;
		return say_denied(c, &o, &out.policy);
	case RF_ESCALATE: {
		char *pj = policy_result_json(&out.policy, o.currency);
		err = escalate(c, "policy", &o, out.policy.amount, pj, "Review the request.", TPL_escalated);
		free(pj);
		return err;
	}
	case RF_NO_RAIL:
		return escalate(c, "rail_unavailable", &o, d->offer_amount, NULL,
				"No enabled rail can refund this payment: refund it by hand.", TPL_escalated);
	case RF_MANDATE: {
		char reason[48];
		snprintf(reason, sizeof reason, "mandate_%s", mandate_outcome_name(out.mandate));
		return escalate(c, reason, &o, d->offer_amount, NULL,
				"Outside the agent's spend mandate: a person must approve and refund.",
				TPL_escalated);
	}
	case RF_RAIL_FAILED: {
		char action[320];
		snprintf(action, sizeof action, "The rail refused the refund (%.200s): check the payment "
						"and refund by hand.", out.failure);
		return escalate(c, "rail_failed", &o, d->offer_amount, NULL, action, TPL_refund_failed);
	}
	case RF_RAIL_PENDING:
		return RD_OK; /* the customer was told it is being processed */
	case RF_RAIL_UNKNOWN: {
		char action[320];
		snprintf(action, sizeof action, "The %s rail did not answer after %d attempts with key "
						"%s: check with the provider whether it paid. Approve retries "
						"with the same key (it cannot pay twice).",
			 o.payment.provider, rails_max_attempts(a->cfg.rails), key);
		return escalate(c, "rail_unavailable", &o, d->offer_amount, NULL, action, TPL_escalated);
	}
	}
	return RD_OK;
}
