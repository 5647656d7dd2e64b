/* slack_out.c — the Slack channel, out (Slack Web API: chat.postMessage,
 * chat.update; interactivity response_url), and the review card.
 *
 * Errors: HTTP 429 waits Retry-After (at most SLACK_MAX_WAIT_S here, then
 * the outbox retries), "ratelimited" and 5xx are retried from the outbox
 * (the sender keeps each conversation's order), any other ok:false is final
 * and logged with Slack's error string. About one message per second per
 * channel on average (chat.postMessage's special tier), bursts allowed. */
#include "channels/slack_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/money.h"
#include "common/util.h"

#define SLACK_MAX_WAIT_S 30
#define SLACK_WINDOW_S 10       /* rate window */
#define SLACK_PER_WINDOW 10     /* messages per channel per window: 1/s on average */
#define SLACK_PROGRESS_TTL_S 86400

enum outcome { OUT_OK, OUT_RETRY, OUT_FINAL };

static void rate_limit(redisContext *rc, const char *channel)
{
	for (int tries = 0; tries < 20; tries++) {
		int64_t ms = now_ms(), win = ms / 1000 / SLACK_WINDOW_S;
		redisAppendCommand(rc, "INCR rd:slack:rate:%s:%lld", channel, (long long)win);
		redisAppendCommand(rc, "EXPIRE rd:slack:rate:%s:%lld %d", channel, (long long)win,
				   2 * SLACK_WINDOW_S);
		redisReply *a = NULL, *b = NULL;
		int ok = redisGetReply(rc, (void **)&a) == REDIS_OK && redisGetReply(rc, (void **)&b) == REDIS_OK;
		long long used = ok && a && a->type == REDIS_REPLY_INTEGER ? a->integer : 0;
		if (a)
			freeReplyObject(a);
		if (b)
			freeReplyObject(b);
		if (!ok || used <= SLACK_PER_WINDOW)
			return;
		usleep((useconds_t)(SLACK_WINDOW_S * 1000 - ms % (SLACK_WINDOW_S * 1000)) * 1000);
	}
}

static const char *route_str(json_t *route, const char *key)
{
	const char *v = json_string_value(json_object_get(route, key));
	return v ? v : "";
}

/* POST body (steals it) to a Web API method, or to a full URL when method
 * starts with "http" (response_url: no token). ts_out gets the message ts. */
static enum outcome call(struct slack *s, const struct send_env *env, const char *method,
			 json_t *body, char *ts_out, size_t tn)
{
	char url[1024];
	int web = strncmp(method, "http", 4) != 0;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char channel[64];
	snprintf(channel, sizeof channel, "%s", route_str(body, "channel"));
	json_decref(body);
	if (!text)
		return OUT_RETRY;
	if (web)
		snprintf(url, sizeof url, "%s/%s", s->cfg->slack.api_base, method);
	else
		snprintf(url, sizeof url, "%s", method);
	if (web && channel[0] && strcmp(method, "chat.postMessage") == 0)
		rate_limit(env->rc, channel);
	enum outcome out = OUT_RETRY;
	for (int attempt = 0; attempt < 3; attempt++) {
		struct httpc_resp resp;
		enum rd_err err = httpc_post_json(env->curl, url, web ? s->cfg->slack.bot_token : NULL, text,
						  strlen(text), s->cfg->slack.timeout_ms, &resp);
		if (err) {
			httpc_resp_free(&resp);
			break;
		}
		if (resp.status == 429) {
			long wait = resp.retry_after_s >= 0 ? resp.retry_after_s : 1;
			LOG_W("slack", "rate_limited", "%s: HTTP 429, Retry-After %ld s", method, wait);
			httpc_resp_free(&resp);
			if (wait > SLACK_MAX_WAIT_S)
				break; /* the outbox retries later */
			sleep((unsigned)wait);
			continue;
		}
		if (resp.status >= 500) {
			LOG_W("slack", "send_deferred", "%s: HTTP %ld", method, resp.status);
			httpc_resp_free(&resp);
			break;
		}
		json_t *doc = json_loadb(resp.body, resp.len, 0, NULL);
		if (!web) { /* response_url answers "ok" as text or JSON */
			out = resp.status < 300 ? OUT_OK : OUT_FINAL;
		} else if (json_is_true(json_object_get(doc, "ok"))) {
			const char *ts = json_string_value(json_object_get(doc, "ts"));
			if (ts_out)
				snprintf(ts_out, tn, "%s", ts ? ts : "");
			out = OUT_OK;
		} else {
			const char *e = json_string_value(json_object_get(doc, "error"));
			out = e && strcmp(e, "ratelimited") == 0 ? OUT_RETRY : OUT_FINAL;
			LOG_W("slack", out == OUT_FINAL ? "send_refused" : "send_deferred", "%s: %s", method,
			      e ? e : "ok:false without an error");
		}
		json_decref(doc);
		httpc_resp_free(&resp);
		break;
	}
	free(text);
	return out;
}

/* ---- the review card ---- */

struct ticket_view {
	char id[32], status[24], order_id[64], currency[8], channel[16], user[192];
	char card_channel[64], card_ts[32]; /* where its card was posted */
	char reason[48], request[400], action[256], decided_by[64];
	int64_t amount;
	json_t *context; /* {"policy": …, "order": …} */
};

static enum rd_err load_ticket(redisContext *rc, const char *id, struct ticket_view *t)
{
	redisReply *r = redisCommand(rc, "HMGET rd:ticket:%s status order_id amount currency channel "
					 "channel_user_id reason request_text suggested_action decided_by "
					 "decision_json slack_channel slack_ts", id);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 13) {
		if (r)
			freeReplyObject(r);
		return RD_EUNAVAIL;
	}
	memset(t, 0, sizeof *t);
	const char *v[13];
	for (size_t i = 0; i < 13; i++)
		v[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
	snprintf(t->id, sizeof t->id, "%s", id);
	model_strlcpy(t->status, v[0], sizeof t->status);
	model_strlcpy(t->order_id, v[1], sizeof t->order_id);
	t->amount = strtoll(v[2], NULL, 10);
	model_strlcpy(t->currency, v[3], sizeof t->currency);
	model_strlcpy(t->channel, v[4], sizeof t->channel);
	model_strlcpy(t->user, v[5], sizeof t->user);
	model_strlcpy(t->reason, v[6], sizeof t->reason);
	model_strlcpy(t->request, v[7], sizeof t->request);
	model_strlcpy(t->action, v[8], sizeof t->action);
	model_strlcpy(t->decided_by, v[9], sizeof t->decided_by);
	t->context = json_loads(v[10], 0, NULL);
	model_strlcpy(t->card_channel, v[11], sizeof t->card_channel);
	model_strlcpy(t->card_ts, v[12], sizeof t->card_ts);
	freeReplyObject(r);
	return t->status[0] ? RD_OK : RD_ENOTFOUND;
}

static json_t *mrkdwn(const char *text)
{
	return json_pack("{s:s, s:s}", "type", "mrkdwn", "text", text);
}

static json_t *plain(const char *text)
{
	return json_pack("{s:s, s:s}", "type", "plain_text", "text", text);
}

static json_t *section(const char *text)
{
	return json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(text));
}

/* The card's blocks; with_actions adds Approve / Deny / Ask for more info. */
static json_t *card_blocks(const struct ticket_view *t, const char *summary, int with_actions,
			   const char *status_line)
{
	char buf[1024], amt[64] = "-";
	json_t *order = json_object_get(t->context, "order");
	json_t *policy = json_object_get(t->context, "policy");
	if (t->amount && money_format(t->amount, t->currency, "en", amt, sizeof amt) != RD_OK)
		snprintf(amt, sizeof amt, "%lld %s", (long long)t->amount, t->currency);
	json_t *blocks = json_array();
	snprintf(buf, sizeof buf, "Refund review %s", t->id);
	json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "header", "text", plain(buf)));
	json_array_append_new(blocks, section(summary));
	json_t *fields = json_array();
	snprintf(buf, sizeof buf, "*Customer*\n%s · %s", t->channel, t->user);
	json_array_append_new(fields, mrkdwn(buf));
	snprintf(buf, sizeof buf, "*Order*\n%s · %s · %s", t->order_id[0] ? t->order_id : "-", amt,
		 order ? route_str(order, "rail") : "-");
	json_array_append_new(fields, mrkdwn(buf));
	if (order) {
		snprintf(buf, sizeof buf, "*Dates*\nordered %s\ndelivered %s", route_str(order, "created_at"),
			 route_str(order, "delivered_at")[0] ? route_str(order, "delivered_at") : "-");
		json_array_append_new(fields, mrkdwn(buf));
		snprintf(buf, sizeof buf, "*Delivery*\n%s",
			 route_str(order, "delivery_status")[0] ? route_str(order, "delivery_status") : "-");
		json_array_append_new(fields, mrkdwn(buf));
	}
	json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "fields", fields));
	snprintf(buf, sizeof buf, "*Request* (card numbers redacted)\n> %s",
		 t->request[0] ? t->request : "(none)");
	json_array_append_new(blocks, section(buf));
	/* the policy result, each failed rule on a line */
	int used = snprintf(buf, sizeof buf, "*Policy*: %s (reason: %s)",
			    json_string_value(json_object_get(policy, "decision")) ?
				    json_string_value(json_object_get(policy, "decision")) : "n/a",
			    t->reason);
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(policy, "rules"), i, rule) {
		if (strcmp(route_str(rule, "result"), "FAIL") != 0 || used >= (int)sizeof buf)
			continue;
		used += snprintf(buf + used, sizeof buf - (size_t)used, "\n• %s: FAIL — %s",
				 route_str(rule, "rule"), route_str(rule, "detail"));
	}
	json_array_append_new(blocks, section(buf));
	if (order) {
		snprintf(buf, sizeof buf, "*Risk signals*: risk score %.2f · %lld chargebacks",
			 json_number_value(json_object_get(order, "risk_score")),
			 (long long)json_integer_value(json_object_get(order, "chargebacks")));
		json_array_append_new(blocks, section(buf));
	}
	snprintf(buf, sizeof buf, "*Suggested next action*: %s", t->action[0] ? t->action : "review");
	json_array_append_new(blocks, section(buf));
	if (with_actions) {
		json_t *deny = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:o, s:o, s:o, s:o}}", "type", "button",
					 "action_id", "review_deny", "style", "danger", "value", t->id, "text",
					 plain("Deny"), "confirm", "title", plain("Deny this refund?"), "text",
					 mrkdwn("The customer will be told the refund was denied."), "confirm",
					 plain("Deny"), "deny", plain("Cancel"));
		json_array_append_new(blocks, json_pack("{s:s, s:s, s:[o, o, o]}", "type", "actions",
			"block_id", "review",
			"elements",
			json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "button", "action_id", "review_approve",
				  "style", "primary", "value", t->id, "text", plain("Approve refund")),
			deny,
			json_pack("{s:s, s:s, s:s, s:o}", "type", "button", "action_id", "review_info", "value",
				  t->id, "text", plain("Ask for more info"))));
	}
	if (status_line)
		json_array_append_new(blocks, json_pack("{s:s, s:[o]}", "type", "context", "elements",
							mrkdwn(status_line)));
	return blocks;
}

static void summary_of(const struct ticket_view *t, char *buf, size_t n)
{
	char amt[64] = "";
	if (t->amount && money_format(t->amount, t->currency, "en", amt, sizeof amt) != RD_OK)
		snprintf(amt, sizeof amt, "%lld %s", (long long)t->amount, t->currency);
	if (t->order_id[0])
		snprintf(buf, n, "Ticket %s: refund of %s for order %s needs a decision (%s).", t->id, amt,
			 t->order_id, t->reason);
	else
		snprintf(buf, n, "Ticket %s: a customer needs a person (%s).", t->id, t->reason);
}

static enum rd_err post_card(struct slack *s, const struct send_env *env, const struct outbound *ob)
{
	struct ticket_view t;
	char summary[512], ts[64] = "";
	const char *ch = s->cfg->slack.review_channel;
	enum rd_err err = load_ticket(env->rc, ob->ref, &t);
	if (err)
		return err == RD_ENOTFOUND ? RD_ENOTFOUND : RD_EUNAVAIL;
	summary_of(&t, summary, sizeof summary);
	json_t *body = json_pack("{s:s, s:s, s:o}", "channel", ch, "text", summary, "blocks",
				 card_blocks(&t, summary, 1, NULL));
	json_decref(t.context);
	enum outcome out = call(s, env, "chat.postMessage", body, ts, sizeof ts);
	if (out == OUT_RETRY)
		return RD_EUNAVAIL;
	if (out == OUT_OK) {
		redisReply *r = redisCommand(env->rc, "HSET rd:ticket:%s slack_channel %s slack_ts %s", ob->ref,
					     ch, ts);
		if (r)
			freeReplyObject(r);
	}
	return out == OUT_OK ? RD_OK : RD_EPROTO;
}

static enum rd_err update_card(struct slack *s, const struct send_env *env, const struct outbound *ob,
			       json_t *route)
{
	struct ticket_view t;
	char summary[512];
	const char *line = ob->n_replies ? ob->replies[0].text : "";
	enum rd_err err = load_ticket(env->rc, ob->ref, &t);
	if (err)
		return err == RD_ENOTFOUND ? RD_ENOTFOUND : RD_EUNAVAIL;
	summary_of(&t, summary, sizeof summary);
	int still_open = strcmp(t.status, "open") == 0 || strcmp(t.status, "info_requested") == 0;
	/* a click says where its card is; the ticket sweeper uses the ticket's */
	const char *ch = route_str(route, "channel")[0] ? route_str(route, "channel") : t.card_channel;
	const char *ts = route_str(route, "ts")[0] ? route_str(route, "ts") : t.card_ts;
	if (!ch[0] || !ts[0]) {
		json_decref(t.context);
		return RD_OK; /* the card was never posted: nothing to update */
	}
	json_t *body = json_pack("{s:s, s:s, s:s, s:o}", "channel", ch, "ts", ts, "text", line,
				 "blocks", card_blocks(&t, summary, still_open, line));
	json_decref(t.context);
	enum outcome out = call(s, env, "chat.update", body, NULL, 0);
	return out == OUT_RETRY ? RD_EUNAVAIL : out == OUT_OK ? RD_OK : RD_EPROTO;
}

static enum rd_err notice(struct slack *s, const struct send_env *env, const struct outbound *ob,
			  json_t *route)
{
	const char *url = route_str(route, "response_url");
	if (strncmp(url, "http", 4) != 0 || !ob->n_replies)
		return RD_EINVAL;
	json_t *body = json_pack("{s:s, s:b, s:s}", "response_type", "ephemeral", "replace_original", 0,
				 "text", ob->replies[0].text);
	enum outcome out = call(s, env, url, body, NULL, 0);
	return out == OUT_RETRY ? RD_EUNAVAIL : out == OUT_OK ? RD_OK : RD_EPROTO;
}

/* ---- replies to customers ---- */

static json_t *reply_body(const char *channel, const char *thread, const struct reply *r)
{
	json_t *body = json_pack("{s:s, s:s}", "channel", channel, "text", r->text ? r->text : "");
	if (thread[0])
		json_object_set_new(body, "thread_ts", json_string(thread));
	if (r->n_buttons) {
		json_t *els = json_array();
		for (int i = 0; i < r->n_buttons; i++)
			json_array_append_new(els, json_pack("{s:s, s:s, s:s, s:o}", "type", "button",
							     "action_id", r->buttons[i].id, "value",
							     r->buttons[i].id, "text", plain(r->buttons[i].title)));
		json_object_set_new(body, "blocks",
				    json_pack("[o, {s:s, s:o}]", section(r->text ? r->text : ""), "type",
					      "actions", "elements", els));
	}
	return body;
}

static long long get_progress(redisContext *rc, const char *entry)
{
	redisReply *r = entry[0] ? redisCommand(rc, "GET rd:slack:progress:%s", entry) : NULL;
	long long v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
	if (r)
		freeReplyObject(r);
	return v;
}

static void set_progress(redisContext *rc, const char *entry, long long done)
{
	redisReply *r = entry[0] ? redisCommand(rc, "SET rd:slack:progress:%s %lld EX %d", entry, done,
						SLACK_PROGRESS_TTL_S)
				 : NULL;
	if (r)
		freeReplyObject(r);
}

enum rd_err slack_send(void *ctx, const struct send_env *env, const struct outbound *ob)
{
	struct slack *s = ctx;
	json_t *route = ob->route ? json_loads(ob->route, 0, NULL) : NULL;
	enum rd_err err = RD_OK;
	if (strcmp(ob->kind, "review_card") == 0) {
		err = post_card(s, env, ob);
	} else if (strcmp(ob->kind, "card_update") == 0) {
		err = update_card(s, env, ob, route);
	} else if (strcmp(ob->kind, "notice") == 0) {
		err = notice(s, env, ob, route);
	} else {
		const char *channel = route_str(route, "channel"), *thread = route_str(route, "thread_ts");
		if (!channel[0]) {
			json_decref(route);
			return RD_EINVAL;
		}
		/* replies of this entry that went out on an earlier attempt are not resent */
		for (long long i = get_progress(env->rc, env->entry_id); i < ob->n_replies; i++) {
			enum outcome out = call(s, env, "chat.postMessage",
						reply_body(channel, thread, &ob->replies[i]), NULL, 0);
			if (out == OUT_RETRY) {
				err = RD_EUNAVAIL;
				break;
			}
			set_progress(env->rc, env->entry_id, i + 1);
		}
	}
	json_decref(route);
	return err;
}
