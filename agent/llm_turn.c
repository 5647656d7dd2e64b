/* llm_turn.c — where the model meets a turn (see llm.h, "the agent's
 * side"). The model's understanding is data: before it is merged, an order
 * id or an email must be one the customer wrote, and an amount must be in
 * the order's currency and within what remains to refund. Whatever fails
 * is an attempt: audited, dropped with the rest of that answer, and the
 * turn goes on with the built-in understanding. The identity check, the
 * policy, the mandate and the confirmation come after, as for any turn. */
#include "agent/agent_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/audit.h"
#include "agent/llm.h"
#include "agent/transcript.h"
#include "common/log.h"

/* Every placeholder any template may use (extra ones are ignored by
 * templates_render): each renders as itself, which gives a skeleton. */
#define X(name, vars) vars " "
static const char all_slots[] = TEMPLATE_LIST(X);
#undef X
#define MAX_SLOT_NAMES 48

static int customer_wrote(const struct tctx *c, const struct llm_msg *h, size_t n, const char *s)
{
	if (llm_mentions(c->in->text, s))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (h[i].from_customer && llm_mentions(h[i].text, s))
			return 1;
	return 0;
}

/* Is r's amount one the policy could take for the order being discussed?
 * No order yet: the amount is dropped (the built-in's stands). A reason in
 * what when it is an attempt. */
static enum rd_err check_amount(struct tctx *c, struct llm_result *r, char *what, size_t n)
{
	const char *id = r->u.order_id[0] ? r->u.order_id
		       : c->u.order_id[0] ? c->u.order_id : c->d.order_id;
	struct order o;

	if (!r->u.has_amount)
		return RD_OK;
	if (!id[0]) {
		r->u.has_amount = 0;
		return RD_OK;
	}
	enum rd_err err = c->a->store->lookup(c->a->store_ctx, c->rc, id, &o);
	if (err == RD_ENOTFOUND || err == RD_EUNAVAIL) {
		r->u.has_amount = 0; /* the identity check will answer for the order */
		return RD_OK;
	}
	if (err)
		return err;
	const char *cur = r->u.amount.cur;
	if (cur[0] && strcmp(cur, o.currency) != 0) {
		snprintf(what, n, "amount in %s for an order in %s", cur, o.currency);
		return RD_OK;
	}
	int64_t v = r->u.amount.minor;
	if (!cur[0]) { /* no currency: 2 decimals were assumed; rescale */
		int exp = money_exponent(o.currency);
		for (; exp > 2 && v < INT64_MAX / 10; exp--)
			v *= 10;
		for (; exp >= 0 && exp < 2; exp++)
			v /= 10;
	}
	if (v > order_remaining(&o))
		snprintf(what, n, "amount above what remains to refund on the order");
	return RD_OK;
}

static enum rd_err audit_attempt(struct tctx *c, const char *what, const struct llm_result *r)
{
	json_t *data = json_pack("{s:s, s:s, s:s}", "what", what, "state", dstate_name(c->d.state),
				 "intent", intent_name(c->u.intent));
	if (data && r && r->u.order_id[0])
		json_object_set_new(data, "order_id", json_string(r->u.order_id));
	if (data && r && r->u.has_amount) {
		json_object_set_new(data, "amount", json_integer((json_int_t)r->u.amount.minor));
		json_object_set_new(data, "currency", json_string(r->u.amount.cur));
	}
	LOG_W("llm", "llm_attempt", "conversation %s: %s", c->in->conversation_id, what);
	return audit_step(c, "llm_attempt", data, NULL);
}

enum rd_err llm_turn_understand(struct tctx *c, struct llm_turn *lt)
{
	struct llm *l = c->a->cfg.llm;
	struct llm_msg hist[LLM_HISTORY_MAX];
	struct llm_result r;
	size_t nh = 0;
	char what[200] = "";
	enum rd_err err = RD_OK;

	memset(lt, 0, sizeof *lt);
	if (!l || !c->in->text)
		return RD_OK;
	json_t *log = transcript_read(c->rc, c->in->conversation_id, LLM_HISTORY_MAX, &err);
	if (!log)
		goto out;
	size_t i;
	json_t *e;
	json_array_foreach(log, i, e) { /* oldest first; the texts stay with log */
		const char *dir = json_string_value(json_object_get(e, "dir"));
		const char *text = json_string_value(json_object_get(e, "text"));
		if (dir && text && nh < LLM_HISTORY_MAX)
			hist[nh++] = (struct llm_msg){ !strcmp(dir, "in"), text };
	}
	struct llm_input in = { hist, nh, c->in->text, dstate_name(c->d.state) };
	lt->asked = 1;
	lt->outcome = llm_understand(l, &in, &r);
	if (lt->outcome == LLM_ATTEMPT) {
		err = audit_attempt(c, r.attempt, NULL);
		goto out;
	}
	if (lt->outcome != LLM_OK) {
		LOG_I("llm", "fallback", "conversation %s: %s (%s), built-in understanding",
		      c->in->conversation_id, llm_outcome_name(lt->outcome), r.attempt);
		goto out;
	}
	if (r.u.order_id[0] && !customer_wrote(c, hist, nh, r.u.order_id))
		snprintf(what, sizeof what, "order id the customer did not write");
	else if (r.u.email[0] && !customer_wrote(c, hist, nh, r.u.email))
		snprintf(what, sizeof what, "email the customer did not write");
	else if ((err = check_amount(c, &r, what, sizeof what)))
		goto out;
	if (what[0]) {
		lt->outcome = LLM_ATTEMPT;
		err = audit_attempt(c, what, &r);
		goto out;
	}
	struct understanding builtin = c->u;
	llm_merge(&builtin, &r, &c->u);
	memcpy(lt->summary, r.summary, sizeof lt->summary);
	memcpy(lt->next_action, r.next_action, sizeof lt->next_action);
	LOG_D("llm", "understood", "conversation=%s builtin=%s llm=%s in %lld ms",
	      c->in->conversation_id, intent_name(builtin.intent), intent_name(r.u.intent),
	      (long long)r.latency_ms);
out:
	json_decref(log);
	return err;
}

struct slot_names {
	char key[MAX_SLOT_NAMES][32];   /* "amount" */
	char value[MAX_SLOT_NAMES][36]; /* "{amount}" */
	const char *vars[2 * MAX_SLOT_NAMES + 1];
};

/* vars = {"amount", "{amount}", "order", "{order}", …, NULL} from all_slots. */
static void skeleton_vars(struct slot_names *s)
{
	size_t n = 0;
	for (const char *p = all_slots; *p && n < MAX_SLOT_NAMES;) {
		size_t l = strcspn(p, " ");
		int seen = 0;
		for (size_t k = 0; k < n; k++)
			seen |= strlen(s->key[k]) == l && !strncmp(s->key[k], p, l);
		if (l && !seen && l < sizeof s->key[0]) {
			snprintf(s->key[n], sizeof s->key[0], "%.*s", (int)l, p);
			snprintf(s->value[n], sizeof s->value[0], "{%.*s}", (int)l, p);
			s->vars[2 * n] = s->key[n];
			s->vars[2 * n + 1] = s->value[n];
			n++;
		}
		p += l + (p[l] == ' ');
	}
	s->vars[2 * n] = NULL;
}

enum rd_err llm_turn_phrase(struct tctx *c, const struct llm_turn *lt)
{
	struct llm *l = c->a->cfg.llm;
	struct outbound *ob = &c->t->out;
	char *skel[MODEL_MAX_REPLIES] = { 0 }, *out[MODEL_MAX_REPLIES] = { 0 };
	int idx[MODEL_MAX_REPLIES];
	size_t n = 0;
	enum rd_err err = RD_OK;

	if (!llm_phrasing(l) || !lt->asked || lt->outcome != LLM_OK || ob->n_replies == 0)
		return RD_OK;
	struct slot_names sn;
	skeleton_vars(&sn);
	for (int i = 0; i < ob->n_replies; i++) {
		int id = -1;
		for (int t = 0; t < TPL__COUNT && id < 0; t++)
			if (!strcmp(template_name((enum template_id)t), ob->replies[i].name))
				id = t;
		if (id >= 0 &&
		    templates_render(c->a->tpl, c->locale, (enum template_id)id, sn.vars, &skel[n]) == RD_OK)
			idx[n++] = i;
	}
	if (n == 0)
		return RD_OK;
	enum llm_outcome oc = llm_phrase(l, c->locale, c->in->text, (const char *const *)skel, n, out);
	if (oc == LLM_ATTEMPT)
		err = audit_attempt(c, "tool call instead of a phrasing", NULL);
	for (size_t k = 0; k < n; k++) {
		struct reply *rp = &ob->replies[idx[k]];
		char *filled = out[k] ? llm_fill_slots(skel[k], rp->text, out[k]) : NULL;
		if (filled) {
			free(rp->text);
			rp->text = filled;
		} else if (oc == LLM_REJECTED && !err) {
			char what[120];
			snprintf(what, sizeof what, "phrasing of %s", rp->name);
			err = audit_attempt(c, what, NULL);
		}
	}
	for (size_t k = 0; k < n; k++) {
		free(skel[k]);
		free(out[k]);
	}
	return err;
}
