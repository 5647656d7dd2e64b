/* whatsapp_out.c — replies to WhatsApp through the Graph API
 * (Meta, "Cloud API: Send messages", "Message templates", "Error codes"). */
#include "channels/whatsapp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"

enum outcome {
	OUT_SENT,
	OUT_RETRY,         /* rate limited, 5xx, timeout: the outbox retries the entry */
	OUT_FINAL,         /* Meta refused it for good (logged) */
	OUT_WINDOW_CLOSED, /* 131047: outside the 24 h window, send a template instead */
};

/* A malloc'd copy of s cut to at most max UTF-8 characters. */
static char *utf8_cut(const char *s, size_t max)
{
	size_t i = 0, chars = 0;
	while (s[i] && chars < max) {
		i++;
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	return strndup(s, i);
}

static const struct wa_template *template_for(const struct wa *w, const char *name)
{
	const struct wa_template *any = NULL;
	for (size_t i = 0; i < w->n_tpls; i++) {
		if (strcmp(w->tpls[i].name, name) == 0)
			return &w->tpls[i];
		if (strcmp(w->tpls[i].name, "*") == 0)
			any = &w->tpls[i];
	}
	return any;
}

/* Stay under [whatsapp] max_messages_per_second for the number, across
 * every sender thread and gateway process (a per-second counter in Redis). */
static void rate_limit(const struct wa *w, redisContext *rc, const char *pnid)
{
	for (int tries = 0; tries < 50; tries++) {
		int64_t ms = now_ms();
		redisAppendCommand(rc, "INCR rd:wa:rate:%s:%lld", pnid, (long long)(ms / 1000));
		redisAppendCommand(rc, "EXPIRE rd:wa:rate:%s:%lld 2", pnid, (long long)(ms / 1000));
		redisReply *r1 = NULL, *r2 = NULL;
		int ok = redisGetReply(rc, (void **)&r1) == REDIS_OK && redisGetReply(rc, (void **)&r2) == REDIS_OK;
		long long used = ok && r1 && r1->type == REDIS_REPLY_INTEGER ? r1->integer : 0;
		if (r1)
			freeReplyObject(r1);
		if (r2)
			freeReplyObject(r2);
		if (!ok || used <= w->cfg->whatsapp.max_messages_per_second)
			return; /* Redis trouble is not a reason to stop replying */
		usleep((useconds_t)(1000 - ms % 1000) * 1000);
	}
}

/* POST one message; steals payload. wamid (may be NULL) gets Meta's id. */
static enum outcome post(struct wa *w, const struct send_env *env, const char *pnid, json_t *payload,
			 char *wamid, size_t wn)
{
	char url[512];
	char *body = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	if (!body)
		return OUT_RETRY;
	snprintf(url, sizeof url, "%s/%s/messages", w->cfg->whatsapp.graph_api_base, pnid);
	rate_limit(w, env->rc, pnid);
	struct httpc_resp resp;
	enum rd_err err = httpc_post_json(env->curl, url, w->cfg->whatsapp.access_token, body,
					  strlen(body), w->cfg->whatsapp.timeout_ms, &resp);
	free(body);
	if (err) {
		httpc_resp_free(&resp);
		return OUT_RETRY;
	}
	json_t *doc = json_loadb(resp.body, resp.len, 0, NULL);
	enum outcome out;
	if (resp.status >= 200 && resp.status < 300) {
		const char *id = json_string_value(
			json_object_get(json_array_get(json_object_get(doc, "messages"), 0), "id"));
		if (wamid)
			snprintf(wamid, wn, "%s", id ? id : "");
		out = OUT_SENT;
	} else {
		json_t *e = json_object_get(doc, "error");
		long long code = json_integer_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		if (code == 131047)
			out = OUT_WINDOW_CLOSED;
		else if (code == 130429 || code == 131056 || resp.status == 429 || resp.status >= 500)
			out = OUT_RETRY;
		else
			out = OUT_FINAL;
		LOG_W("whatsapp", out == OUT_FINAL ? "send_refused" : "send_deferred",
		      "HTTP %ld, Meta error %lld: %s", resp.status, code, msg ? msg : "(no message)");
	}
	json_decref(doc);
	httpc_resp_free(&resp);
	return out;
}

static json_t *envelope(const char *to, const char *type)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "messaging_product", "whatsapp", "recipient_type",
			 "individual", "to", to, "type", type);
}

static json_t *text_message(const char *to, const char *text)
{
	char *t = utf8_cut(text, WA_TEXT_MAX);
	json_t *m = envelope(to, "text");
	json_object_set_new(m, "text", json_pack("{s:b, s:s}", "preview_url", 0, "body", t ? t : ""));
	free(t);
	return m;
}

/* Interactive reply buttons (at most 3; titles ≤ 20 characters). */
static json_t *button_message(const char *to, const struct reply *r)
{
	char *body = utf8_cut(r->text ? r->text : "", WA_BODY_MAX);
	json_t *buttons = json_array();
	for (int i = 0; i < r->n_buttons && i < 3; i++) {
		char *title = utf8_cut(r->buttons[i].title, WA_TITLE_MAX);
		json_array_append_new(buttons, json_pack("{s:s, s:{s:s, s:s}}", "type", "reply", "reply",
							 "id", r->buttons[i].id, "title", title ? title : ""));
		free(title);
	}
	json_t *m = envelope(to, "interactive");
	json_object_set_new(m, "interactive",
			    json_pack("{s:s, s:{s:s}, s:{s:o}}", "type", "button", "body", "text",
				      body ? body : "", "action", "buttons", buttons));
	free(body);
	return m;
}

/* An approved template carrying the reply text as its one body parameter.
 * Meta refuses parameters with new lines, tabs or more than 4 spaces in a
 * row: they become single spaces. */
static json_t *template_message(const char *to, const struct wa_template *t, const char *text)
{
	char *p = utf8_cut(text, WA_BODY_MAX);
	if (p) {
		char *o = p;
		for (const char *q = p; *q; q++) {
			char ch = (*q == '\n' || *q == '\r' || *q == '\t') ? ' ' : *q;
			if (ch == ' ' && o > p && o[-1] == ' ')
				continue;
			*o++ = ch;
		}
		*o = '\0';
	}
	json_t *m = envelope(to, "template");
	json_object_set_new(m, "template",
			    json_pack("{s:s, s:{s:s}, s:[{s:s, s:[{s:s, s:s}]}]}", "name", t->tpl, "language",
				      "code", t->lang, "components", "type", "body", "parameters", "type",
				      "text", "text", p ? p : ""));
	free(p);
	return m;
}

/* 1 when the customer's last message is older than the service window. */
static int window_closed(const struct wa *w, redisContext *rc, const char *cid)
{
	redisReply *r = redisCommand(rc, "HGET rd:conv:{%s} updated_at", cid);
	int closed = 0;
	if (r && r->type == REDIS_REPLY_STRING) {
		long long last = strtoll(r->str, NULL, 10);
		closed = now_ms() - last > (int64_t)w->cfg->whatsapp.service_window_s * 1000;
	}
	if (r)
		freeReplyObject(r);
	return closed;
}

static long long get_progress(redisContext *rc, const char *entry)
{
	if (!entry[0])
		return 0;
	redisReply *r = redisCommand(rc, "GET rd:wa:progress:%s", entry);
	long long v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
	if (r)
		freeReplyObject(r);
	return v;
}

static void set_progress(redisContext *rc, const char *entry, long long done)
{
	if (!entry[0])
		return;
	redisReply *r = redisCommand(rc, "SET rd:wa:progress:%s %lld EX %d", entry, done, WA_PROGRESS_TTL_S);
	if (r)
		freeReplyObject(r);
}

static void record_delivery(redisContext *rc, const char *wamid, const char *cid)
{
	if (!wamid[0])
		return;
	redisReply *r = redisCommand(rc, "HSET rd:delivery:%s status sent conversation_id %s updated_at %lld",
				     wamid, cid, (long long)now_ms());
	if (r)
		freeReplyObject(r);
	r = redisCommand(rc, "EXPIRE rd:delivery:%s %d", wamid, WA_DELIVERY_TTL_S);
	if (r)
		freeReplyObject(r);
}

/* The number to send from: the one the customer wrote to, else ours. */
static void sender_number(const struct wa *w, const char *route, char *out, size_t n)
{
	json_t *r = route ? json_loads(route, 0, NULL) : NULL;
	const char *p = json_string_value(json_object_get(r, "phone_number_id"));
	snprintf(out, n, "%s", p && p[0] ? p : w->cfg->whatsapp.phone_number_id);
	json_decref(r);
}

enum rd_err wa_send(void *ctx, const struct send_env *env, const struct outbound *ob)
{
	struct wa *w = ctx;
	char pnid[64];
	const char *to = ob->channel_user_id;
	sender_number(w, ob->route, pnid, sizeof pnid);
	int templated = window_closed(w, env->rc, ob->conversation_id);
	/* replies of this entry that went out on an earlier attempt are not resent */
	for (long long i = get_progress(env->rc, env->entry_id); i < ob->n_replies; i++) {
		const struct reply *r = &ob->replies[i];
		char wamid[MODEL_ID_LEN] = "";
		enum outcome out;
		for (;;) {
			const struct wa_template *t = templated ? template_for(w, r->name) : NULL;
			if (templated && !t) {
				LOG_E("whatsapp", "no_template",
				      "reply %s to %s is outside the 24 h window and [whatsapp] templates has "
				      "no template for it", r->name, ob->conversation_id);
				out = OUT_FINAL;
				break;
			}
			json_t *msg = t ? template_message(to, t, r->text ? r->text : "")
				      : r->n_buttons ? button_message(to, r)
						     : text_message(to, r->text ? r->text : "");
			out = post(w, env, pnid, msg, wamid, sizeof wamid);
			if (out != OUT_WINDOW_CLOSED || templated)
				break;
			templated = 1; /* 131047: the same reply again, as a template */
		}
		if (out == OUT_WINDOW_CLOSED) { /* refused even as a template */
			LOG_E("whatsapp", "send_refused", "reply %s to %s: 131047 for the template too",
			      r->name, ob->conversation_id);
			out = OUT_FINAL;
		}
		if (out == OUT_RETRY)
			return RD_EUNAVAIL;
		if (out == OUT_SENT)
			record_delivery(env->rc, wamid, ob->conversation_id);
		set_progress(env->rc, env->entry_id, i + 1);
	}
	return RD_OK;
}

void wa_mark_read(void *ctx, const struct send_env *env, const struct message *msg)
{
	struct wa *w = ctx;
	char pnid[64];
	sender_number(w, msg->route, pnid, sizeof pnid);
	json_t *m = json_pack("{s:s, s:s, s:s}", "messaging_product", "whatsapp", "status", "read",
			      "message_id", msg->message_id);
	if (post(w, env, pnid, m, NULL, 0) != OUT_SENT)
		LOG_D("whatsapp", "read_receipt_failed", "message %s", msg->message_id);
}
