/* agent.c — one turn of the dialog: understand, then ask for what is
 * missing, verify, decide by policy, offer, and on "yes" execute (refund.c).
 *
 *   idle ──refund──▶ await_order ──id──▶ await_email ──email──▶ verify
 *   verify ──no match──▶ not_found (same answer for "no such order" and
 *          "not yours"), back to await_order; max_verify_attempts → person
 *   verify ──policy──▶ DENY: say why │ ESCALATE: ticket │ APPROVE: offer
 *   await_confirm ──yes──▶ refund + credit note │ ──no──▶ declined
 * "talk to a human" escalates from anywhere; an attempt to override the
 * rules is audited and answered, and moves nothing. */
#include "agent/agent_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/audit.h"
#include "agent/limits.h"
#include "agent/llm.h"
#include "agent/review.h"
#include "agent/rscript.h"
#include "agent/transcript.h"
#include "common/log.h"
#include "common/util.h"

#define MAX_VARS 16

enum rd_err agent_new(const struct agent_config *cfg, const struct templates *tpl,
		      const struct orders_store_ops *store, void *store_ctx, struct agent **out)
{
	struct agent *a = calloc(1, sizeof *a);
	if (!a)
		return RD_ENOMEM;
	a->cfg = *cfg;
	a->tpl = tpl;
	a->store = store;
	a->store_ctx = store_ctx;
	*out = a;
	return RD_OK;
}

void agent_free(struct agent *a)
{
	free(a);
}

void turn_free(struct turn *t)
{
	outbound_free(&t->out);
	for (int i = 0; i < t->n_extra; i++)
		outbound_free(&t->extra[i]);
	t->n_extra = 0;
}

void turn_add_review_card(struct turn *t, const char *ticket)
{
	if (t->n_extra == TURN_MAX_EXTRA)
		return;
	struct outbound *ob = &t->extra[t->n_extra++];
	memset(ob, 0, sizeof *ob);
	snprintf(ob->kind, sizeof ob->kind, "review_card");
	model_strlcpy(ob->ref, ticket, sizeof ob->ref);
	snprintf(ob->channel, sizeof ob->channel, "%s", REVIEW_DESTINATION);
	snprintf(ob->conversation_id, sizeof ob->conversation_id, "review:%s", ticket);
}

/* ---- replies ---- */

static enum rd_err vsay(struct tctx *c, enum template_id id, int confirm, va_list ap)
{
	const char *vars[2 * MAX_VARS + 1];
	size_t n = 0;
	const char *k;
	while ((k = va_arg(ap, const char *)) && n < 2 * MAX_VARS) {
		vars[n++] = k;
		vars[n++] = va_arg(ap, const char *);
	}
	vars[n] = NULL;
	char *text;
	enum rd_err err = templates_render(c->a->tpl, c->locale, id, vars, &text);
	if (err) {
		LOG_E("agent", "render_failed", "template %s (%s): %s", template_name(id), c->locale,
		      rd_strerror(err));
		return err;
	}
	int idx = c->t->out.n_replies;
	if ((err = outbound_add(&c->t->out, template_name(id), text)))
		return err;
	if (confirm) {
		struct reply *r = &c->t->out.replies[idx];
		static const struct { const char *id; enum template_id title; } b[] = {
			{ "confirm_yes", TPL_button_yes }, { "confirm_no", TPL_button_no } };
		for (size_t i = 0; i < RD_ARRAY_LEN(b); i++) {
			char *title;
			const char *none[] = { NULL };
			if (templates_render(c->a->tpl, c->locale, b[i].title, none, &title) != RD_OK)
				continue;
			model_strlcpy(r->buttons[r->n_buttons].id, b[i].id, sizeof r->buttons[0].id);
			model_strlcpy(r->buttons[r->n_buttons].title, title, sizeof r->buttons[0].title);
			r->n_buttons++;
			free(title);
		}
	}
	return RD_OK;
}

enum rd_err say(struct tctx *c, enum template_id id, ...)
{
	va_list ap;
	va_start(ap, id);
	enum rd_err err = vsay(c, id, 0, ap);
	va_end(ap);
	return err;
}

enum rd_err say_confirm(struct tctx *c, enum template_id id, ...)
{
	va_list ap;
	va_start(ap, id);
	enum rd_err err = vsay(c, id, 1, ap);
	va_end(ap);
	return err;
}

const char *fmt_money(struct tctx *c, int64_t minor, const char *cur, char *buf, size_t n)
{
	if (money_format(minor, cur, c->locale, buf, n) == RD_OK)
		return buf;
	char dec[40];
	if (money_decimal(minor, cur, dec, sizeof dec) != RD_OK)
		snprintf(dec, sizeof dec, "%lld", (long long)minor);
	snprintf(buf, n, "%s %s", dec, cur);
	return buf;
}

const char *rail_label(struct tctx *c, const char *rail)
{
	static const struct { const char *rail, *en, *pt, *es; } labels[] = {
		{ "card", "card", "cartão", "tarjeta" },
		{ "pix", "Pix", "Pix", "Pix" },
		{ "usdc", "USDC wallet", "carteira USDC", "billetera USDC" },
	};
	for (size_t i = 0; i < RD_ARRAY_LEN(labels); i++)
		if (strcmp(labels[i].rail, rail) == 0)
			return strncmp(c->locale, "pt", 2) == 0 ? labels[i].pt
			     : strncmp(c->locale, "es", 2) == 0 ? labels[i].es
								 : labels[i].en;
	return rail;
}

const char *settlement_text(struct tctx *c, const char *rail)
{
	static __thread char buf[512];
	enum template_id id = strcmp(rail, "card") == 0 ? TPL_settlement_card
			    : strcmp(rail, "pix") == 0  ? TPL_settlement_pix
			    : strcmp(rail, "usdc") == 0 ? TPL_settlement_usdc
							: TPL_settlement_other;
	const char *none[] = { NULL };
	char *t = NULL;
	buf[0] = '\0';
	if (templates_render(c->a->tpl, c->locale, id, none, &t) == RD_OK)
		model_strlcpy(buf, t, sizeof buf);
	free(t);
	return buf;
}

enum rd_err turn_for_customer(struct tctx *c, const char *cid, const char *channel,
			      const char *user, const char *locale_hint)
{
	struct outbound *out = &c->t->out;
	redisReply *r = redisCommand(c->rc, "HMGET rd:conv:{%s} channel user route", cid);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		if (r)
			freeReplyObject(r);
		return RD_EREDIS;
	}
	const char *v[3];
	for (size_t i = 0; i < 3; i++)
		v[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
	model_strlcpy(out->channel, channel && channel[0] ? channel : v[0], sizeof out->channel);
	model_strlcpy(out->channel_user_id, user && user[0] ? user : v[1], sizeof out->channel_user_id);
	model_strlcpy(out->conversation_id, cid, sizeof out->conversation_id);
	enum rd_err err = RD_OK;
	if (v[2][0] && !(out->route = strdup(v[2])))
		err = RD_ENOMEM;
	freeReplyObject(r);
	if (err || (err = dialog_load(c->rc, cid, &c->d)))
		return err;
	const char *def = c->a->cfg.default_locale;
	c->locale = templates_locale(c->a->tpl, c->d.locale[0] ? c->d.locale : locale_hint ? locale_hint : def,
				     def);
	model_strlcpy(out->locale, c->locale, sizeof out->locale);
	return RD_OK;
}

static enum rd_err audit_keyed(struct tctx *c, const char *ikey, const char *kind, json_t *data,
			       char *hash_out)
{
	if (!data)
		return RD_ENOMEM;
	json_object_set_new(data, "message_id", json_string(c->in->message_id));
	char *s = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(data);
	if (!s)
		return RD_ENOMEM;
	/* the customer's conversation (a reviewer's click acts on it too) */
	enum rd_err err = audit_append(c->rc, ikey, kind, c->t->out.conversation_id, s, NULL, hash_out);
	free(s);
	return err;
}

enum rd_err audit_step(struct tctx *c, const char *kind, json_t *data, char *hash_out)
{
	char ikey[MODEL_CHANNEL_LEN + MODEL_ID_LEN + 48];
	if (strcmp(kind, "reply") == 0)
		snprintf(ikey, sizeof ikey, "%s:%s:reply:%d", c->in->channel, c->in->message_id,
			 ++c->replies);
	else
		snprintf(ikey, sizeof ikey, "%s:%s:%d:%s", c->in->channel, c->in->message_id,
			 ++c->step, kind);
	return audit_keyed(c, ikey, kind, data, hash_out);
}

enum rd_err audit_refund_step(struct tctx *c, const char *kind, const char *key, json_t *data,
			      char *hash_out)
{
	char ikey[256];
	if (snprintf(ikey, sizeof ikey, "%s:%s", kind, key) >= (int)sizeof ikey) {
		json_decref(data);
		return RD_EINVAL;
	}
	return audit_keyed(c, ikey, kind, data, hash_out);
}

/* ---- understanding → dialog ---- */

static int words(const char *s)
{
	int n = 0, in_word = 0;
	for (; *s; s++) {
		int sp = *s == ' ' || *s == '\t' || *s == '\n';
		n += !sp && !in_word;
		in_word = !sp;
	}
	return n;
}

static const char *pick_locale(struct tctx *c)
{
	const struct agent_config *cfg = &c->a->cfg;
	const char *lang_locale[][2] = { { "pt", "pt-BR" }, { "es", "es" }, { "en", "en" } };
	if (c->in->locale[0])
		return templates_locale(c->a->tpl, c->in->locale, cfg->default_locale);
	/* a short answer ("sim", an email, an order number) says little about
	 * the language: it does not move a conversation that has one */
	if (c->d.locale[0] && (!c->in->text || words(c->in->text) < 3))
		return templates_locale(c->a->tpl, c->d.locale, cfg->default_locale);
	for (size_t i = 0; c->u.lang[0] && i < RD_ARRAY_LEN(lang_locale); i++)
		if (strcmp(c->u.lang, lang_locale[i][0]) == 0)
			return templates_locale(c->a->tpl, lang_locale[i][1], cfg->default_locale);
	if (c->d.locale[0])
		return templates_locale(c->a->tpl, c->d.locale, cfg->default_locale);
	return templates_locale(c->a->tpl, cfg->default_locale, cfg->default_locale);
}

static void clear_request(struct dialog *d)
{
	d->order_id[0] = d->email[0] = d->reason[0] = d->amount_cur[0] = '\0';
	d->offer_key[0] = d->offer_cur[0] = d->request[0] = '\0';
	d->amount = d->offer_amount = 0;
}

/* Requested amount in the order's minor units: 0 (= all) when the customer
 * gave none, or gave it in another currency. */
static int64_t requested_amount(const struct dialog *d, const struct order *o)
{
	if (!d->amount)
		return 0;
	if (d->amount_cur[0] && strcmp(d->amount_cur, o->currency) != 0)
		return 0;
	if (d->amount_cur[0])
		return d->amount;
	/* no currency: the text assumed 2 decimals; rescale to the order's */
	int exp = money_exponent(o->currency);
	int64_t v = d->amount;
	for (; exp > 2; exp--)
		v *= 10;
	for (; exp >= 0 && exp < 2; exp++)
		v /= 10;
	return v;
}

static json_t *order_ref(const struct order *o)
{
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "order_id", o->id, "total",
			 (json_int_t)o->total, "refunded", (json_int_t)o->refunded, "currency",
			 o->currency, "rail", o->payment.rail, "provider", o->payment.provider);
}

/* The reviewer's next action: ours, with the model's summary when it gave one. */
static const char *suggest(const struct llm_turn *lt, const char *action, char *buf, size_t n)
{
	return llm_suggestion(action, lt->summary, lt->next_action, buf, n);
}

/* Verify the order against the customer, decide, and answer. */
static enum rd_err verify_and_decide(struct tctx *c, const struct llm_turn *lt)
{
	char sug[768];
	struct agent *a = c->a;
	struct dialog *d = &c->d;
	struct order o;
	enum rd_err err = a->store->lookup(a->store_ctx, c->rc, d->order_id, &o);
	if (err == RD_EUNAVAIL) {
		d->state = DS_AWAIT_ORDER;
		return say(c, TPL_store_unavailable, NULL);
	}
	if (err && err != RD_ENOTFOUND)
		return err;
	int match = !err && order_identity_matches(&o, d->email, c->in->verified_phone);
	json_t *lk = json_pack("{s:s, s:s, s:s}", "order_id", d->order_id, "result",
			       match ? "verified" : "no_match", "identity",
			       c->in->verified_phone[0] ? "phone" : "email");
	if ((err = audit_step(c, "lookup", lk, NULL)))
		return err;
	if (!match) {
		/* the same answer whether the order does not exist or is not theirs */
		d->attempts++;
		d->order_id[0] = d->email[0] = '\0';
		if (d->attempts >= a->cfg.max_verify_attempts)
			return escalate(c, "verification_failed", NULL, 0, NULL,
					suggest(lt, "Verify the customer's identity and order number.",
						sug, sizeof sug), TPL_escalated);
		d->state = DS_AWAIT_ORDER;
		return say(c, TPL_not_found, NULL);
	}
	d->attempts = 0;
	struct policy_request pr = { requested_amount(d, &o), REASON_NONE, c->now };
	for (int r = REASON_NONE; r <= REASON_CHANGED_MIND; r++)
		if (strcmp(reason_name((enum reason)r), d->reason) == 0)
			pr.reason = (enum reason)r;
	struct policy_result res;
	policy_evaluate(a->cfg.policy, &o, &pr, &res);
	char *pj = policy_result_json(&res, o.currency);
	json_t *dec = pj ? json_loads(pj, 0, NULL) : NULL;
	if (dec)
		json_object_set_new(dec, "order", order_ref(&o));
	if ((err = audit_step(c, "decision", dec ? dec : json_object(), NULL))) {
		free(pj);
		return err;
	}
	c->t->ev.decided = 1;
	c->t->ev.decision = res.decision;
	char amt[64];
	switch (res.decision) {
	case DECISION_DENY:
		free(pj);
		d->state = DS_IDLE;
		err = say_denied(c, &o, &res);
		clear_request(d);
		return err;
	case DECISION_ESCALATE: {
		const struct rule_result *f = policy_first_failure(&res);
		static const struct { enum rule_id id; const char *action; } next[] = {
			{ RULE_EVIDENCE, "Ask for proof of non-delivery (carrier trace) before approving." },
			{ RULE_REVIEW_AMOUNT, "Check the order and the claim; approve if legitimate." },
			{ RULE_REVIEW_CHARGEBACKS, "Review the customer's chargeback history first." },
			{ RULE_AUTO_APPROVE_MAX, "Above the auto-approve ceiling: approve if the claim is plausible." },
			{ RULE_RISK, "High risk score: verify the customer before approving." },
		};
		const char *action = "Review the request.";
		for (size_t i = 0; f && i < RD_ARRAY_LEN(next); i++)
			if (next[i].id == f->id)
				action = next[i].action;
		err = escalate(c, "policy", &o, res.amount, pj, suggest(lt, action, sug, sizeof sug),
			       TPL_escalated);
		free(pj);
		return err;
	}
	case DECISION_APPROVE:
		break;
	}
	free(pj);
	refund_key(&o, res.amount, d->offer_key);
	d->offer_amount = res.amount;
	model_strlcpy(d->offer_cur, o.currency, sizeof d->offer_cur);
	d->state = DS_AWAIT_CONFIRM;
	return say_confirm(c, TPL_confirm_refund, "amount",
			   fmt_money(c, res.amount, o.currency, amt, sizeof amt), "order", o.id,
			   "rail", rail_label(c, o.payment.rail), NULL);
}

/* Collect what the customer told us, then ask for what is missing. */
static enum rd_err refund_flow(struct tctx *c, const struct llm_turn *lt)
{
	struct dialog *d = &c->d;
	const struct understanding *u = &c->u;
	if (u->order_id[0] && strcmp(u->order_id, d->order_id) != 0) {
		model_strlcpy(d->order_id, u->order_id, sizeof d->order_id);
		d->offer_key[0] = '\0';
	}
	if (u->email[0])
		model_strlcpy(d->email, u->email, sizeof d->email);
	if (u->has_amount) {
		d->amount = u->amount.minor;
		model_strlcpy(d->amount_cur, u->amount.cur, sizeof d->amount_cur);
	}
	if (u->reason != REASON_NONE)
		model_strlcpy(d->reason, reason_name(u->reason), sizeof d->reason);
	if (u->intent == INTENT_REFUND && c->in->text) {
		char *red = review_redact(c->in->text);
		if (red) {
			model_strlcpy(d->request, red, sizeof d->request);
			free(red);
		}
	}
	if (!d->order_id[0]) {
		d->state = DS_AWAIT_ORDER;
		return say(c, TPL_ask_order, NULL);
	}
	if (!d->email[0] && !c->in->verified_phone[0]) {
		d->state = DS_AWAIT_EMAIL;
		return say(c, TPL_ask_email, "order", d->order_id, NULL);
	}
	return verify_and_decide(c, lt);
}

/* "Where is my refund?": from our record — status, amount, rail and the
 * rail's expected settlement time. */
static enum rd_err status_answer(struct tctx *c)
{
	struct dialog *d = &c->d;
	if (d->last_refund[0]) {
		redisReply *r = redisCommand(c->rc, "HMGET rd:refund:%s amount currency order_id credit_note "
						    "status rail", d->last_refund);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
			if (r)
				freeReplyObject(r);
			return RD_EREDIS;
		}
		const char *v[6];
		for (size_t i = 0; i < 6; i++)
			v[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
		enum rd_err err = RD_ENOTFOUND;
		if (v[0][0] && v[1][0]) {
			char amt[64];
			fmt_money(c, strtoll(v[0], NULL, 10), v[1], amt, sizeof amt);
			if (strcmp(v[4], "succeeded") == 0)
				err = say(c, TPL_status_refunded, "amount", amt, "order", v[2], "rail",
					  rail_label(c, v[5]), "settlement", settlement_text(c, v[5]), "note",
					  v[3], NULL);
			else if (strcmp(v[4], "pending") == 0)
				err = say(c, TPL_status_pending, "amount", amt, "order", v[2], "rail",
					  rail_label(c, v[5]), "settlement", settlement_text(c, v[5]), NULL);
		}
		freeReplyObject(r);
		if (err != RD_ENOTFOUND)
			return err;
	}
	if (d->state == DS_ESCALATED)
		return say(c, TPL_status_escalated, "order", d->order_id[0] ? d->order_id : "-", "ticket",
			   d->ticket, NULL);
	return say(c, TPL_status_none, NULL);
}

static enum rd_err injection_answer(struct tctx *c)
{
	c->t->ev.injection = 1;
	char *red = c->in->text ? review_redact(c->in->text) : NULL;
	json_t *data = json_pack("{s:s, s:s, s:s}", "intent", intent_name(c->u.intent), "state",
				 dstate_name(c->d.state), "text", red ? red : "");
	free(red);
	enum rd_err err = audit_step(c, "injection_attempt", data, NULL);
	if (err)
		return err;
	LOG_W("agent", "injection_attempt", "conversation %s", c->in->conversation_id);
	return say(c, TPL_injection, NULL);
}

static enum rd_err dispatch(struct tctx *c, const struct llm_turn *lt)
{
	char sug[768];
	struct dialog *d = &c->d;
	const struct understanding *u = &c->u;

	if (c->in->kind == MSG_UNSUPPORTED)
		return say(c, TPL_unsupported_media, NULL);
	if (u->injection)
		return injection_answer(c);
	if (u->intent == INTENT_HUMAN) {
		if (d->state == DS_ESCALATED)
			return say(c, TPL_already_escalated, "ticket", d->ticket, NULL);
		return escalate(c, "customer_request", NULL, 0, NULL,
				suggest(lt, "The customer asked for a person.", sug, sizeof sug),
				TPL_human_handoff);
	}
	if (u->intent == INTENT_STATUS)
		return status_answer(c);

	if (d->state == DS_AWAIT_CONFIRM) {
		if (u->intent == INTENT_YES)
			return refund_execute(c);
		if (u->intent == INTENT_NO) {
			clear_request(d);
			d->state = DS_IDLE;
			return say(c, TPL_declined, NULL);
		}
		if ((u->order_id[0] && strcmp(u->order_id, d->order_id) != 0) ||
		    (u->has_amount && u->amount.minor != d->offer_amount))
			return refund_flow(c, lt); /* a new request (order, amount) in the middle */
		char amt[64];
		return say_confirm(c, TPL_confirm_again, "amount",
				   fmt_money(c, d->offer_amount, d->offer_cur, amt, sizeof amt), "order",
				   d->order_id, NULL);
	}
	if (d->state == DS_ESCALATED && !u->order_id[0] && u->intent != INTENT_REFUND) {
		if (u->intent == INTENT_THANKS)
			return say(c, TPL_thanks, NULL);
		return say(c, TPL_already_escalated, "ticket", d->ticket, NULL);
	}
	int collecting = d->state == DS_AWAIT_ORDER || d->state == DS_AWAIT_EMAIL;
	if (u->intent == INTENT_REFUND || u->order_id[0] || (collecting && u->email[0]))
		return refund_flow(c, lt);
	switch (u->intent) {
	case INTENT_GREETING:
		return say(c, TPL_greeting, NULL);
	case INTENT_THANKS:
		return say(c, TPL_thanks, NULL);
	default:
		break;
	}
	if (d->state == DS_AWAIT_ORDER)
		return say(c, TPL_ask_order, NULL);
	if (d->state == DS_AWAIT_EMAIL)
		return say(c, TPL_ask_email, "order", d->order_id, NULL);
	return say(c, TPL_fallback, NULL);
}

/* A message past its customer's budget (limits.h): kept in the transcript
 * by the commit like any other, never understood or acted on; the one
 * message of the window that is to be answered gets the polite reply. The
 * dialog state is committed unchanged. */
static enum rd_err over_limit(struct tctx *c, enum limit_verdict v)
{
	enum rd_err err = RD_OK;
	c->locale = pick_locale(c);
	model_strlcpy(c->t->out.locale, c->locale, sizeof c->t->out.locale);
	if (v == LIMIT_OVER_NOTIFY) {
		LOG_I("agent", "rate_limited", "conversation=%s: over [limits] customer_messages_per_minute",
		      c->in->conversation_id);
		err = say(c, TPL_rate_limited, NULL);
		if (!err)
			err = audit_step(c, "reply", json_pack("{s:s, s:s, s:b}", "template",
							       template_name(TPL_rate_limited), "locale",
							       c->locale, "rate_limited", 1), NULL);
	}
	if (!err)
		err = dialog_to_json(&c->d, c->t->state_json, sizeof c->t->state_json);
	return err;
}

enum rd_err agent_handle(struct agent *a, redisContext *rc, const struct message *in,
			 const struct turn_start *start, struct turn *t)
{
	struct tctx c = { .a = a, .rc = rc, .in = in, .t = t, .now = now_ms() / 1000 };
	struct llm_turn lt = { 0 };
	memset(t, 0, sizeof *t);
	model_strlcpy(t->out.channel, in->channel, sizeof t->out.channel);
	model_strlcpy(t->out.channel_user_id, in->channel_user_id, sizeof t->out.channel_user_id);
	model_strlcpy(t->out.conversation_id, in->conversation_id, sizeof t->out.conversation_id);
	model_strlcpy(t->out.in_reply_to, in->message_id, sizeof t->out.in_reply_to);
	t->out.received_at_ms = in->received_at_ms;
	if (in->route && !(t->out.route = strdup(in->route)))
		return RD_ENOMEM;

	if (in->kind == MSG_BUTTON && strncmp(in->conversation_id, "review:", 7) == 0) {
		turn_free(t);
		return agent_review(a, rc, in, t);
	}
	if (strcmp(in->channel, "system") == 0 && strcmp(in->payload, "rail_update") == 0) {
		turn_free(t);
		return agent_rail_update(a, rc, in, t);
	}
	enum rd_err err = RD_OK;
	dialog_parse(start->state, strlen(start->state), &c.d);
	if (start->limit != LIMIT_OK) {
		err = over_limit(&c, start->limit);
		goto out;
	}
	if (in->kind == MSG_BUTTON) {
		c.u.intent = strcmp(in->payload, "confirm_yes") == 0  ? INTENT_YES
			   : strcmp(in->payload, "confirm_no") == 0 ? INTENT_NO
								     : INTENT_OTHER;
	} else if (in->text) {
		nlu_understand(in->text, &c.u);
		if ((err = llm_turn_understand(&c, &lt))) /* a no-op without [llm] */
			goto out;
	}
	c.locale = pick_locale(&c);
	model_strlcpy(c.d.locale, c.locale, sizeof c.d.locale);
	model_strlcpy(t->out.locale, c.locale, sizeof t->out.locale);
	LOG_D("agent", "understood", "conversation=%s intent=%s lang=%s state=%s",
	      in->conversation_id, intent_name(c.u.intent), c.u.lang, dstate_name(c.d.state));

	if ((err = dispatch(&c, &lt)))
		goto out;
	if (t->out.n_replies == 0)
		err = say(&c, TPL_fallback, NULL);
	if (!err)
		err = llm_turn_phrase(&c, &lt);
	for (int i = 0; !err && i < t->out.n_replies; i++)
		err = audit_step(&c, "reply", json_pack("{s:s, s:s}", "template", t->out.replies[i].name,
						       "locale", c.locale), NULL);
	if (!err)
		err = dialog_to_json(&c.d, t->state_json, sizeof t->state_json);
out:
	if (err)
		turn_free(t);
	return err;
}

/* o as compact JSON text (caller frees), o released; NULL (logged) when
 * memory runs out: that line is left out, the commit goes on. */
static char *entry_text(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		LOG_E("agent", "transcript", "out of memory: a transcript entry is left out");
	return s;
}

int agent_commit_append(redisContext *rc, const struct message *in, const struct turn *t)
{
	const char *cid = t->out.conversation_id;
	int n = 0;
	char ts[24], conv[MODEL_ID_LEN + 16];
	snprintf(ts, sizeof ts, "%lld", (long long)in->received_at_ms);
	snprintf(conv, sizeof conv, "rd:conv:{%s}", cid);
	if (strcmp(in->conversation_id, cid) == 0 && strcmp(in->channel, "system") != 0) {
		/* the customer wrote: updated_at is their last message (WhatsApp's
		 * 24 h window), route is where to answer them later */
		rscript_append(rc, "HSET", conv, "state", t->state_json, "channel", in->channel, "user",
			       in->channel_user_id, "updated_at", ts, "route", in->route ? in->route : "",
			       NULL);
	} else {
		rscript_append(rc, "HSET", conv, "state", t->state_json, NULL);
	}
	n++;
	/* the transcript (transcript.h): the message, then the replies; texts
	 * are UTF-8 (the message came out of JSON, replies are our templates) */
	char *e[1 + MODEL_MAX_REPLIES] = { 0 };
	e[0] = entry_text(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", in->message_id, "dir",
				    "in", "message_id", in->message_id, "kind",
				    in->kind == MSG_BUTTON ? "button" : "text", "text",
				    in->kind == MSG_BUTTON ? in->payload : (in->text ? in->text : ""),
				    "ts", ts));
	snprintf(ts, sizeof ts, "%lld", (long long)now_ms());
	int ne = 1;
	for (int i = 0; i < t->out.n_replies && ne < (int)RD_ARRAY_LEN(e); i++) {
		char id[MODEL_ID_LEN + 16];
		snprintf(id, sizeof id, "%s.%d", in->message_id, i + 1);
		e[ne++] = entry_text(json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "dir", "out",
					       "template", t->out.replies[i].name, "text",
					       t->out.replies[i].text, "ts", ts));
	}
	if (strcmp(in->conversation_id, cid) == 0) {
		n += transcript_append(rc, cid, (const char *const *)e, ne);
	} else {
		n += transcript_append(rc, in->conversation_id, (const char *const *)e, 1);
		n += transcript_append(rc, cid, (const char *const *)e + 1, ne - 1);
	}
	for (int i = 0; i < ne; i++)
		free(e[i]);
	return n;
}

json_t *agent_conversation_json(redisContext *rc, const char *cid, enum rd_err *err)
{
	redisReply *st = redisCommand(rc, "HMGET rd:conv:{%s} state channel user", cid);
	json_t *o = NULL, *tr = NULL;
	*err = RD_EREDIS;
	if (!st || st->type != REDIS_REPLY_ARRAY || st->elements != 3 ||
	    !(tr = transcript_read(rc, cid, TRANSCRIPT_MAX, err)))
		goto out;
	*err = RD_OK;
	if (st->element[0]->type != REDIS_REPLY_STRING && json_array_size(tr) == 0)
		goto out; /* no such conversation */
	json_t *state = st->element[0]->type == REDIS_REPLY_STRING
				? json_loadb(st->element[0]->str, st->element[0]->len, 0, NULL)
				: NULL;
	o = json_pack("{s:s, s:o, s:O}", "conversation_id", cid, "state",
		      state ? state : json_object(), "transcript", tr);
	if (!o)
		*err = RD_ENOMEM;
	else if (st->element[1]->type == REDIS_REPLY_STRING)
		json_object_set_new(o, "channel", json_string(st->element[1]->str));
out:
	json_decref(tr);
	if (st)
		freeReplyObject(st);
	return o;
}
