/* decide.c — a person's decision on a review ticket (Approve / Deny / Ask
 * for more info), carried out on the customer's conversation.
 *
 * Clicks on one ticket share the conversation "review:<ticket>", so the
 * worker's conversation lock serializes them: the first decision wins, a
 * second click finds the ticket decided and changes nothing. */
#include "agent/agent_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/audit.h"
#include "common/log.h"
#include "common/util.h"

struct ticket {
	char id[32];
	char status[24];
	char order_id[64];
	int64_t amount;
	char currency[MONEY_CUR_LEN];
	char conversation_id[MODEL_ID_LEN];
	char channel[MODEL_CHANNEL_LEN];
	char user[MODEL_ID_LEN];
	char locale[16];
	char decided_by[64];
	int64_t created_at;
};

static const char *const ticket_fields[] = { "status", "order_id", "amount", "currency",
					     "conversation_id", "channel", "channel_user_id",
					     "locale", "decided_by", "created_at" };

/* RD_ENOTFOUND when there is no such ticket. */
static enum rd_err ticket_load(redisContext *rc, const char *id, struct ticket *tk)
{
	const char *argv[2 + RD_ARRAY_LEN(ticket_fields)];
	char key[64];
	snprintf(key, sizeof key, "rd:ticket:%s", id);
	argv[0] = "HMGET";
	argv[1] = key;
	for (size_t i = 0; i < RD_ARRAY_LEN(ticket_fields); i++)
		argv[2 + i] = ticket_fields[i];
	redisReply *r = redisCommandArgv(rc, RD_ARRAY_LEN(argv), argv, NULL);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != RD_ARRAY_LEN(ticket_fields)) {
		if (r)
			freeReplyObject(r);
		return RD_EREDIS;
	}
	memset(tk, 0, sizeof *tk);
	model_strlcpy(tk->id, id, sizeof tk->id);
	char *v[RD_ARRAY_LEN(ticket_fields)];
	for (size_t i = 0; i < r->elements; i++)
		v[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
	model_strlcpy(tk->status, v[0], sizeof tk->status);
	model_strlcpy(tk->order_id, v[1], sizeof tk->order_id);
	tk->amount = strtoll(v[2], NULL, 10);
	model_strlcpy(tk->currency, v[3], sizeof tk->currency);
	model_strlcpy(tk->conversation_id, v[4], sizeof tk->conversation_id);
	model_strlcpy(tk->channel, v[5], sizeof tk->channel);
	model_strlcpy(tk->user, v[6], sizeof tk->user);
	model_strlcpy(tk->locale, v[7], sizeof tk->locale);
	model_strlcpy(tk->decided_by, v[8], sizeof tk->decided_by);
	tk->created_at = strtoll(v[9], NULL, 10);
	freeReplyObject(r);
	return tk->status[0] ? RD_OK : RD_ENOTFOUND;
}

static enum rd_err ticket_set(redisContext *rc, const struct ticket *tk, const char *status,
			      const char *reviewer, int64_t now)
{
	redisAppendCommand(rc, "HSET rd:ticket:%s status %s decided_by %s decided_at %lld", tk->id,
			   status, reviewer, (long long)now);
	int open = strcmp(status, "open") == 0 || strcmp(status, "info_requested") == 0;
	if (open)
		redisAppendCommand(rc, "ZADD rd:tickets:open XX %lld %s", (long long)tk->created_at, tk->id);
	else
		redisAppendCommand(rc, "ZREM rd:tickets:open %s", tk->id);
	enum rd_err err = RD_OK;
	for (int i = 0; i < 2; i++) {
		redisReply *r = NULL;
		if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
			err = RD_EREDIS;
		if (r)
			freeReplyObject(r);
	}
	return err;
}

/* An extra outbound back to the click's channel: a card update or a note. */
static void to_reviewer(struct turn *t, const struct message *in, const char *kind, const char *ticket,
			const char *text)
{
	/* the ticket sweeper clicks nothing: its card updates go to the
	 * review channel, and there is nobody to send a note to */
	int system = strcmp(in->channel, "system") == 0;
	if (t->n_extra == TURN_MAX_EXTRA || (system && strcmp(kind, "notice") == 0))
		return;
	struct outbound *ob = &t->extra[t->n_extra];
	memset(ob, 0, sizeof *ob);
	snprintf(ob->kind, sizeof ob->kind, "%s", kind);
	model_strlcpy(ob->ref, ticket, sizeof ob->ref);
	model_strlcpy(ob->channel, system ? REVIEW_DESTINATION : in->channel, sizeof ob->channel);
	model_strlcpy(ob->channel_user_id, in->channel_user_id, sizeof ob->channel_user_id);
	model_strlcpy(ob->conversation_id, in->conversation_id, sizeof ob->conversation_id);
	if (in->route && !(ob->route = strdup(in->route)))
		return;
	char *copy = strdup(text);
	if (copy && outbound_add(ob, kind, copy) == RD_OK)
		t->n_extra++;
	else
		outbound_free(ob);
}

/* The customer's side of a ticket. */
static enum rd_err customer_side(struct tctx *c, const struct ticket *tk)
{
	return turn_for_customer(c, tk->conversation_id, tk->channel, tk->user, tk->locale);
}

static const char *action_verb(const char *action)
{
	return strcmp(action, "review_approve") == 0 ? "approve"
	     : strcmp(action, "review_deny") == 0    ? "deny"
	     : strcmp(action, "review_info") == 0    ? "info"
	     : strcmp(action, "review_expire") == 0  ? "expire" /* the ticket sweeper */
						      : NULL;
}

/* Approve: refund through the same path as an automatic refund. Writes the
 * card line into card[n] and the new ticket status into status. */
static enum rd_err approve(struct tctx *c, const struct ticket *tk, const char *reviewer, char *card,
			   size_t n, const char **status)
{
	struct agent *a = c->a;
	char amt[64];
	*status = "open"; /* unless it is settled below: a person still has to act */
	if (!tk->order_id[0] || tk->amount <= 0) {
		snprintf(card, n, "There is nothing to refund on this ticket: <@%s>, answer the customer "
				  "yourself.", reviewer);
		*status = "open";
		return RD_OK;
	}
	struct order o;
	enum rd_err err = a->store->lookup(a->store_ctx, c->rc, tk->order_id, &o);
	if (err == RD_EUNAVAIL || err == RD_ENOTFOUND) {
		snprintf(card, n, "Order %s cannot be read from the orders store now: nothing was "
				  "refunded. Try again later.", tk->order_id);
		*status = "open";
		return RD_OK;
	}
	if (err)
		return err;
	char key[40];
	refund_key(&o, tk->amount, key);
	struct refund_outcome out;
	if ((err = refund_pay(c, &o, key, tk->amount, 1, &out)))
		return err;
	fmt_money(c, tk->amount, o.currency, amt, sizeof amt);
	switch (out.result) {
	case RF_DONE: {
		redisReply *r = redisCommand(c->rc, "HMGET rd:refund:%s provider_refund_id credit_note", key);
		const char *pid = r && r->type == REDIS_REPLY_ARRAY && r->element[0]->str ? r->element[0]->str : key;
		const char *note = r && r->type == REDIS_REPLY_ARRAY && r->element[1]->str ? r->element[1]->str : "-";
		snprintf(card, n, ":white_check_mark: Approved by <@%s>: %s refunded on the original %s "
				  "(%s), credit note %s.", reviewer, amt, o.payment.rail, pid, note);
		if (r)
			freeReplyObject(r);
		*status = "approved";
		return RD_OK;
	}
	case RF_DENIED: {
		const struct rule_result *f = policy_first_failure(&out.policy);
		snprintf(card, n, ":no_entry: <@%s> approved, but the policy forbids it (%s: %s): "
				  "nothing was refunded.", reviewer, f ? rule_name(f->id) : "policy",
			 f ? f->detail : "");
		*status = "denied";
		return RD_OK;
	}
	case RF_MANDATE:
		snprintf(card, n, ":warning: <@%s> approved, but %s is outside the agent's spend mandate "
				  "(%s): nothing was refunded. Refund it by hand.", reviewer, amt,
			 mandate_outcome_name(out.mandate));
		return RD_OK;
	case RF_NO_RAIL:
		snprintf(card, n, ":warning: <@%s> approved, but no enabled rail can refund a %s payment "
				  "via %s: refund it by hand.", reviewer, o.payment.rail, o.payment.provider);
		return RD_OK;
	case RF_RAIL_FAILED:
		snprintf(card, n, ":warning: <@%.40s> approved, but the rail refused the refund (%.200s): "
				  "refund it by hand.", reviewer, out.failure);
		return RD_OK;
	case RF_RAIL_UNKNOWN:
		snprintf(card, n, ":warning: <@%.40s> approved, but the %s rail did not answer after %d "
				  "attempts: nothing is confirmed. Approve again later (the same key: it "
				  "cannot pay twice).", reviewer, o.payment.provider,
			 rails_max_attempts(a->cfg.rails));
		return RD_OK;
	case RF_RAIL_PENDING:
	case RF_ESCALATE:
		snprintf(card, n, ":hourglass: <@%s> approved; the rail has not settled the refund yet.",
			 reviewer);
		return RD_OK;
	}
	return RD_OK;
}

enum rd_err agent_review(struct agent *a, redisContext *rc, const struct message *in, struct turn *t)
{
	struct tctx c = { .a = a, .rc = rc, .in = in, .t = t, .now = now_ms() / 1000 };
	const char *reviewer = in->channel_user_id;
	char action[48], card[512];
	struct ticket tk;

	memset(t, 0, sizeof *t);
	const char *colon = strchr(in->payload, ':');
	size_t alen = colon ? (size_t)(colon - in->payload) : 0;
	if (!colon || alen >= sizeof action) {
		to_reviewer(t, in, "notice", "", "That button is not one of ours.");
		goto keep_state;
	}
	memcpy(action, in->payload, alen);
	action[alen] = '\0';
	const char *verb = action_verb(action);
	enum rd_err err = ticket_load(rc, colon + 1, &tk);
	if (err == RD_ENOTFOUND || !verb) {
		to_reviewer(t, in, "notice", colon + 1, "There is no such review ticket.");
		goto keep_state;
	}
	if (err)
		return err;
	if (strcmp(tk.status, "open") != 0 && strcmp(tk.status, "info_requested") != 0) {
		snprintf(card, sizeof card, "Ticket %s is already %s%s%s%s: nothing changed.", tk.id,
			 tk.status, tk.decided_by[0] && strcmp(tk.decided_by, "redress") != 0 ? " (by <@" : "",
			 strcmp(tk.decided_by, "redress") != 0 ? tk.decided_by : "",
			 tk.decided_by[0] && strcmp(tk.decided_by, "redress") != 0 ? ">)" : "");
		to_reviewer(t, in, "notice", tk.id, card);
		goto keep_state;
	}
	if ((err = customer_side(&c, &tk)))
		goto fail;

	const char *status;
	int expired = c.now - tk.created_at > (int64_t)a->cfg.review_ttl_days * 86400;
	if (strcmp(verb, "expire") == 0 && !expired) {
		turn_free(t);
		memset(t, 0, sizeof *t);
		goto keep_state; /* not yet (the clock moved, or ttl_days grew) */
	}
	if (expired) {
		status = "expired";
		if ((err = say(&c, TPL_review_expired, "order", tk.order_id[0] ? tk.order_id : "-", NULL)))
			goto fail;
		snprintf(card, sizeof card, ":hourglass: Ticket %s expired after %d days: nothing was "
				  "refunded and the customer was told.", tk.id, a->cfg.review_ttl_days);
		to_reviewer(t, in, "notice", tk.id, card);
	} else if (strcmp(verb, "approve") == 0) {
		if ((err = approve(&c, &tk, reviewer, card, sizeof card, &status)))
			goto fail;
	} else if (strcmp(verb, "deny") == 0) {
		status = "denied";
		if ((err = say(&c, TPL_review_denied, "order", tk.order_id[0] ? tk.order_id : "-", NULL)))
			goto fail;
		snprintf(card, sizeof card, ":x: Denied by <@%s>; the customer was told.", reviewer);
	} else {
		status = "info_requested";
		if ((err = say(&c, TPL_review_more_info, "order", tk.order_id[0] ? tk.order_id : "-", NULL)))
			goto fail;
		snprintf(card, sizeof card, ":grey_question: <@%s> asked the customer for more "
					    "information.", reviewer);
	}
	json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ticket", tk.id, "action", verb,
				 "reviewer", reviewer, "result", status, "reviewer_channel", in->channel);
	if ((err = audit_step(&c, strcmp(status, "expired") == 0 ? "review_expired" : "review_decision",
			      data, NULL)))
		goto fail;
	if ((err = ticket_set(rc, &tk, status, reviewer, c.now)))
		goto fail;
	if (strcmp(status, "approved") == 0 || strcmp(status, "denied") == 0 ||
	    strcmp(status, "expired") == 0)
		c.d.state = DS_IDLE;
	to_reviewer(t, in, "card_update", tk.id, card);
	for (int i = 0; !err && i < t->out.n_replies; i++)
		err = audit_step(&c, "reply", json_pack("{s:s, s:s}", "template", t->out.replies[i].name,
						       "locale", c.locale), NULL);
	if (!err)
		err = dialog_to_json(&c.d, t->state_json, sizeof t->state_json);
	if (err)
		goto fail;
	return RD_OK;
keep_state:
	/* nothing happened to any customer: the reviewer's note only */
	model_strlcpy(t->out.conversation_id, in->conversation_id, sizeof t->out.conversation_id);
	model_strlcpy(t->out.channel, in->channel, sizeof t->out.channel);
	snprintf(t->state_json, sizeof t->state_json, "{}");
	return RD_OK;
fail:
	turn_free(t);
	return err;
}
