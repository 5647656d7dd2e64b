/* railupdate.c — news from a rail about a refund it had not settled: a
 * Stripe webhook, or the poller asking the rail. A success settles it
 * (credit note, the customer told on their channel); a failure releases the
 * mandate reservation, opens a ticket and tells the customer the truth. */
#include "agent/agent_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/audit.h"
#include "common/log.h"
#include "common/util.h"

struct rail_news {
	char refund_id[80];
	char status[16];
	char provider_refund_id[128];
	char order_id[ORDER_ID_LEN];
	int64_t amount;
	char failure[256];
	char tx_hash[96];
};

static void jcopy(json_t *o, const char *key, char *dst, size_t n)
{
	const char *v = json_string_value(json_object_get(o, key));
	model_strlcpy(dst, v ? v : "", n);
}

static int read_news(const char *text, struct rail_news *nw)
{
	json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	memset(nw, 0, sizeof *nw);
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	jcopy(o, "refund_id", nw->refund_id, sizeof nw->refund_id);
	jcopy(o, "status", nw->status, sizeof nw->status);
	jcopy(o, "provider_refund_id", nw->provider_refund_id, sizeof nw->provider_refund_id);
	jcopy(o, "order_id", nw->order_id, sizeof nw->order_id);
	jcopy(o, "failure", nw->failure, sizeof nw->failure);
	jcopy(o, "tx_hash", nw->tx_hash, sizeof nw->tx_hash);
	nw->amount = json_integer_value(json_object_get(o, "amount"));
	json_decref(o);
	return nw->refund_id[0] && nw->status[0] ? 0 : -1;
}

/* Our record's status, order and amount ("" / 0 when there is none yet: a
 * rail call that timed out, settled later by a webhook). */
static enum rd_err read_record(redisContext *rc, const char *key, char *status, size_t sn,
			       char *order_id, size_t on, int64_t *amount)
{
	redisReply *r = redisCommand(rc, "HMGET rd:refund:%s status order_id amount", key);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		if (r)
			freeReplyObject(r);
		return RD_EREDIS;
	}
	model_strlcpy(status, r->element[0]->str ? r->element[0]->str : "", sn);
	model_strlcpy(order_id, r->element[1]->str ? r->element[1]->str : "", on);
	*amount = r->element[2]->str ? strtoll(r->element[2]->str, NULL, 10) : 0;
	freeReplyObject(r);
	return RD_OK;
}

static enum rd_err mark_failed(redisContext *rc, const char *key, const char *failure)
{
	redisAppendCommand(rc, "HSET rd:refund:%s status failed failure %s", key, failure);
	redisAppendCommand(rc, "ZREM rd:refunds:pending %s", key);
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

enum rd_err agent_rail_update(struct agent *a, redisContext *rc, const struct message *in, struct turn *t)
{
	struct tctx c = { .a = a, .rc = rc, .in = in, .t = t, .now = now_ms() / 1000 };
	struct rail_news nw;
	char status[16], order_id[ORDER_ID_LEN];
	int64_t amount;
	enum rd_err err;

	memset(t, 0, sizeof *t);
	if (read_news(in->text, &nw) < 0) {
		LOG_W("agent", "bad_rail_update", "message %s: not a rail update", in->message_id);
		goto nothing;
	}
	if ((err = read_record(rc, nw.refund_id, status, sizeof status, order_id, sizeof order_id, &amount)))
		return err;
	if (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0)
		goto nothing; /* settled already: the news is old */
	if (!order_id[0])
		model_strlcpy(order_id, nw.order_id, sizeof order_id);
	if (!amount)
		amount = nw.amount;
	if (!order_id[0] || amount <= 0) {
		LOG_W("agent", "rail_update_unknown", "refund %s: no record and no order in the news",
		      nw.refund_id);
		goto nothing;
	}
	if ((err = turn_for_customer(&c, in->conversation_id, NULL, NULL, NULL)))
		goto fail;
	struct order o;
	err = a->store->lookup(a->store_ctx, rc, order_id, &o);
	if (err)
		goto fail; /* the store comes back: the update is retried */
	if (strcmp(nw.status, "succeeded") == 0) {
		struct rail_refund_res res = { .status = REFUND_SUCCEEDED };
		model_strlcpy(res.provider_refund_id, nw.provider_refund_id, sizeof res.provider_refund_id);
		model_strlcpy(res.tx_hash, nw.tx_hash, sizeof res.tx_hash);
		err = settle(&c, &o, nw.refund_id, amount, &res);
	} else if (strcmp(nw.status, "failed") == 0) {
		char action[400];
		if ((err = mandate_release(rc, nw.refund_id)) || (err = mark_failed(rc, nw.refund_id, nw.failure)))
			goto fail;
		json_t *fj = json_pack("{s:s, s:s, s:s}", "refund_id", nw.refund_id, "order_id", o.id,
				       "failure", nw.failure);
		if ((err = audit_step(&c, "refund_failed", fj, NULL)))
			goto fail;
		snprintf(action, sizeof action, "The rail failed the refund after accepting it (%.200s): "
						"check the payment and refund by hand.", nw.failure);
		err = escalate(&c, "rail_failed", &o, amount, NULL, action, TPL_refund_failed);
	} else {
		goto nothing;
	}
	for (int i = 0; !err && i < t->out.n_replies; i++)
		err = audit_step(&c, "reply", json_pack("{s:s, s:s}", "template", t->out.replies[i].name,
						       "locale", c.locale), NULL);
	if (!err)
		err = dialog_to_json(&c.d, t->state_json, sizeof t->state_json);
	if (err)
		goto fail;
	return RD_OK;
nothing:
	turn_free(t);
	memset(t, 0, sizeof *t);
	model_strlcpy(t->out.conversation_id, in->conversation_id, sizeof t->out.conversation_id);
	model_strlcpy(t->out.channel, in->channel, sizeof t->out.channel);
	/* the customer's dialog is untouched: keep it as stored */
	if (dialog_load(rc, in->conversation_id, &c.d) != RD_OK ||
	    dialog_to_json(&c.d, t->state_json, sizeof t->state_json) != RD_OK)
		snprintf(t->state_json, sizeof t->state_json, "{}");
	return RD_OK;
fail:
	turn_free(t);
	return err;
}

void agent_poll_refunds(struct agent *a, redisContext *rc, size_t max,
			void (*emit)(const struct message *m, void *arg), void *arg)
{
	redisReply *keys = redisCommand(rc, "ZRANGE rd:refunds:pending 0 %lld", (long long)(max ? max - 1 : 0));
	if (!keys || keys->type != REDIS_REPLY_ARRAY) {
		if (keys)
			freeReplyObject(keys);
		return;
	}
	for (size_t i = 0; i < keys->elements; i++) {
		const char *key = keys->element[i]->str;
		redisReply *r = redisCommand(rc, "HMGET rd:refund:%s status provider payment_id "
						 "provider_refund_id order_id amount currency conversation_id", key);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 8) {
			if (r)
				freeReplyObject(r);
			continue;
		}
		const char *v[8];
		for (size_t k = 0; k < 8; k++)
			v[k] = r->element[k]->type == REDIS_REPLY_STRING ? r->element[k]->str : "";
		void *ctx = NULL;
		const struct rail_ops *rail = rails_get(a->cfg.rails, v[1], &ctx);
		struct rail_refund_res res;
		struct rail_refund_req req = { .payment_id = v[2], .amount = strtoll(v[5], NULL, 10),
					       .currency = v[6], .idempotency_key = key, .order_id = v[4],
					       .conversation_id = v[7] };
		if (strcmp(v[0], "pending") == 0 && rail && rail->polled && rail->status && v[7][0] &&
		    rail->status(ctx, rc, &req, v[3], &res) == RD_OK && res.status != REFUND_PENDING) {
			struct message m;
			memset(&m, 0, sizeof m);
			const char *st = refund_status_name(res.status);
			json_t *news = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "refund_id", key,
						 "status", st, "provider_refund_id", res.provider_refund_id,
						 "order_id", v[4], "amount", (json_int_t)req.amount, "failure",
						 res.failure, "tx_hash", res.tx_hash);
			m.text = news ? json_dumps(news, JSON_COMPACT) : NULL;
			json_decref(news);
			snprintf(m.channel, sizeof m.channel, "system");
			model_strlcpy(m.channel_user_id, v[1], sizeof m.channel_user_id);
			model_strlcpy(m.conversation_id, v[7], sizeof m.conversation_id);
			snprintf(m.message_id, sizeof m.message_id, "rail:%.80s:%s", key, st);
			snprintf(m.payload, sizeof m.payload, "rail_update");
			m.kind = MSG_BUTTON;
			m.received_at_ms = now_ms();
			if (m.text)
				emit(&m, arg);
			free(m.text);
		}
		freeReplyObject(r);
	}
	freeReplyObject(keys);
}
