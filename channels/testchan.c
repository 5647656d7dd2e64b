/* testchan.c — the test channel, for QA and demos.
 *
 * POST /v1/test/messages, Authorization: Bearer <[test_channel] api_key>,
 * body {"user": "...", "text": "...", "locale": "pt-BR"?, "button": "id"?,
 * "message_id": "..."?}. The message goes through the same pipeline as
 * every channel (dedupe, inbound stream, agent, outbox); the request waits
 * up to reply_timeout_ms for the agent's replies and answers
 * 200 {"conversation_id", "message_id", "replies": [{"text", "buttons": [{"id", "title"}]}]},
 * or 202 {…, "pending": true} when the agent has not answered in time (the
 * message is stored and will be answered). Resending a message_id answers
 * with the original replies ("duplicate": true) and processes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channels/channel.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/bus.h"
#include "gateway/iplimit.h"

#define TEST_REPLY_TTL_S 3600

struct testchan {
	const struct config *cfg;
};

static int tc_enabled(const struct config *cfg)
{
	return cfg->test_channel.enabled;
}

static enum rd_err tc_init(const struct config *cfg, void **ctx)
{
	struct testchan *tc = calloc(1, sizeof *tc);
	if (!tc)
		return RD_ENOMEM;
	tc->cfg = cfg;
	*ctx = tc;
	return RD_OK;
}

static void tc_destroy(void *ctx)
{
	free(ctx);
}

/* 1 when the request carries "Authorization: Bearer <api_key>" (constant time). */
int testchan_authorized(const struct config *cfg, struct http_exchange *ex)
{
	char auth[300];
	int n = http_header(ex, "authorization", auth, sizeof auth);
	if (n < 7 || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	const char *key = cfg->test_channel.api_key;
	return ct_equal(auth + 7, (size_t)n - 7, key, strlen(key));
}

static void reply_key(char *out, size_t n, const char *message_id)
{
	snprintf(out, n, "rd:reply:test:%s", message_id);
}

/* The 200 answer's body for ob's replies (ob may be NULL: no replies):
 * {"conversation_id", "message_id", "replies": [{"text", "buttons": [{"id", "title"}]}]}.
 * New reference; NULL on ENOMEM. */
static json_t *answer_json(const char *cid, const char *mid, const struct outbound *ob)
{
	json_t *resp = json_pack("{s:s, s:s}", "conversation_id", cid, "message_id", mid);
	json_t *replies = json_array();
	for (int i = 0; ob && i < ob->n_replies; i++) {
		json_t *r = json_pack("{s:s}", "text", ob->replies[i].text ? ob->replies[i].text : "");
		json_t *bs = json_array();
		for (int b = 0; b < ob->replies[i].n_buttons; b++)
			json_array_append_new(bs, json_pack("{s:s, s:s}", "id", ob->replies[i].buttons[b].id,
							   "title", ob->replies[i].buttons[b].title));
		json_object_set_new(r, "buttons", bs);
		json_array_append_new(replies, r);
	}
	if (!resp || json_object_set_new(resp, "replies", replies)) {
		json_decref(resp);
		return NULL;
	}
	return resp;
}

/* 202: stored, not answered within the wait. */
static void answer_pending(struct http_exchange *ex, const char *cid, const char *mid)
{
	json_t *resp = answer_json(cid, mid, NULL);
	json_object_set_new(resp, "pending", json_true());
	http_respond_json(ex, 202, resp);
}

/* A resent message_id: the stored answer, marked "duplicate". */
static void answer_duplicate(struct http_exchange *ex, const char *stored)
{
	json_t *resp = json_loads(stored, 0, NULL);
	if (!json_is_object(resp)) {
		json_decref(resp);
		http_respond_error(ex, 503, "stored reply unreadable, retry later");
		return;
	}
	json_object_set_new(resp, "duplicate", json_true());
	http_respond_json(ex, 200, resp);
}

struct pending_msg {
	int timeout_ms;
	char conversation_id[MODEL_ID_LEN];
	char message_id[MODEL_ID_LEN];
};

/* The sender published the answer's body ready to send (tc_send_queue), or
 * payload is NULL: the wait is over. */
static void on_reply(struct http_exchange *ex, const char *payload, size_t len, void *arg)
{
	struct pending_msg *pm = arg;
	if (payload)
		http_respond(ex, 200, "application/json", payload, len);
	else
		answer_pending(ex, pm->conversation_id, pm->message_id);
	free(pm);
}

static void on_ingested(struct http_exchange *ex, const struct ingest_result *r, void *arg)
{
	struct pending_msg *pm = arg;
	if (!ex) { /* the client went away; the message is stored all the same */
		free(pm);
		return;
	}
	if (r->err) {
		http_respond_error(ex, 503, "storage unavailable, retry later");
		free(pm);
		return;
	}
	if (r->n_dup && r->dup_reply) {
		answer_duplicate(ex, r->dup_reply);
		free(pm);
		return;
	}
	http_await(ex, pm->timeout_ms, on_reply, pm);
}

/* Declared fields of the request body: {name, required, max bytes}. */
static const struct { const char *name; int required; size_t max; } fields[] = {
	{ "user", 1, 128 }, { "text", 0, MODEL_MAX_TEXT }, { "locale", 0, MODEL_LOCALE_LEN - 1 },
	{ "button", 0, MODEL_BUTTON_ID_LEN - 1 }, { "message_id", 0, 128 },
};

enum rd_err testchan_parse(const char *body, size_t len, struct message *m, char *reason,
			   size_t reasonlen)
{
	json_error_t jerr;
	memset(m, 0, sizeof *m);
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		if (o)
			snprintf(reason, reasonlen, "body must be a JSON object");
		else
			snprintf(reason, reasonlen, "malformed JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
		json_decref(o);
		return RD_EPROTO;
	}
	const char *v[RD_ARRAY_LEN(fields)] = { 0 };
	for (size_t i = 0; i < RD_ARRAY_LEN(fields); i++) {
		json_t *f = json_object_get(o, fields[i].name);
		if (!f || json_is_null(f)) {
			if (fields[i].required) {
				snprintf(reason, reasonlen, "%s is required", fields[i].name);
				goto bad;
			}
			continue;
		}
		if (!json_is_string(f) || json_string_length(f) == 0 ||
		    json_string_length(f) > fields[i].max || strlen(json_string_value(f)) != json_string_length(f)) {
			snprintf(reason, reasonlen, "%s: expected a non-empty string of at most %zu bytes",
				 fields[i].name, fields[i].max);
			goto bad;
		}
		v[i] = json_string_value(f);
	}
	if (!v[1] && !v[3]) {
		snprintf(reason, reasonlen, "text is required (or button, to answer buttons)");
		goto bad;
	}
	if (strchr(v[0], '\n') || (v[4] && strchr(v[4], '\n'))) {
		snprintf(reason, reasonlen, "user and message_id must be one line");
		goto bad;
	}
	if (v[1] && !(m->text = strdup(v[1]))) {
		json_decref(o);
		return RD_ENOMEM;
	}
	snprintf(m->channel, sizeof m->channel, "test");
	model_strlcpy(m->channel_user_id, v[0], sizeof m->channel_user_id);
	snprintf(m->conversation_id, sizeof m->conversation_id, "test:%.128s", m->channel_user_id);
	if (v[4]) {
		model_strlcpy(m->message_id, v[4], sizeof m->message_id);
	} else {
		char hex[33];
		if (random_hex(16, hex) != RD_OK)
			snprintf(hex, sizeof hex, "%lld", (long long)now_ms());
		snprintf(m->message_id, sizeof m->message_id, "t-%s", hex);
	}
	m->kind = v[3] && !v[1] ? MSG_BUTTON : MSG_TEXT;
	if (v[3])
		model_strlcpy(m->payload, v[3], sizeof m->payload);
	if (v[2])
		model_strlcpy(m->locale, v[2], sizeof m->locale);
	m->received_at_ms = now_ms();
	m->is_test = 1;
	json_decref(o);
	return RD_OK;
bad:
	json_decref(o);
	return RD_EPROTO;
}

/* Per address ([limits] ip_requests_per_minute, gateway/iplimit.h), before
 * the key is even checked: 429 with Retry-After and a polite reason. */
static int over_ip_budget(struct testchan *tc, struct http_exchange *ex)
{
	char addr[IPLIMIT_ADDR_LEN], reason[160], secs[16];
	if (tc->cfg->limits.ip_requests_per_minute <= 0)
		return 0; /* off: not even the getpeername() */
	http_peer(ex, addr, sizeof addr);
	int wait = iplimit_hit(IPLIMIT_TEST, addr, tc->cfg->limits.ip_requests_per_minute, mono_ms());
	if (!wait)
		return 0;
	snprintf(secs, sizeof secs, "%d", wait);
	snprintf(reason, sizeof reason, "too many requests from your address: please wait %d s "
		 "and send it again", wait);
	http_set_header(ex, "retry-after", secs);
	http_respond_error(ex, 429, reason);
	return 1;
}

static void post_message(void *ctx, struct http_exchange *ex)
{
	struct testchan *tc = ctx;
	char reason[200], rkey[MODEL_ID_LEN + 32];
	size_t len;
	const char *body = http_body(ex, &len);

	if (over_ip_budget(tc, ex))
		return;
	if (!testchan_authorized(tc->cfg, ex)) {
		http_respond_error(ex, 401, "missing or wrong bearer key");
		return;
	}
	struct message *m = calloc(1, sizeof *m);
	struct pending_msg *pm = calloc(1, sizeof *pm);
	enum rd_err err = m && pm ? testchan_parse(body, len, m, reason, sizeof reason) : RD_ENOMEM;
	if (err) {
		free(m);
		free(pm);
		if (err == RD_EPROTO)
			http_respond_error(ex, 400, reason);
		else
			http_respond_error(ex, 503, "out of memory");
		return;
	}
	pm->timeout_ms = tc->cfg->test_channel.reply_timeout_ms;
	memcpy(pm->conversation_id, m->conversation_id, sizeof pm->conversation_id);
	memcpy(pm->message_id, m->message_id, sizeof pm->message_id);
	char await_key[MODEL_ID_LEN + 8];
	snprintf(await_key, sizeof await_key, "test:%s", m->message_id);
	http_await_register(ex, await_key); /* before the agent can possibly answer */
	reply_key(rkey, sizeof rkey, m->message_id);
	http_ingest(ex, m, 1, rkey, on_ingested, pm);
}

static size_t tc_routes(void *ctx, struct http_route *out, size_t max)
{
	if (max < 1)
		return 0;
	out[0] = (struct http_route){ "POST", "/v1/test/messages", 0, post_message, ctx };
	return 1;
}

/* Render the answer's body once, and queue (channel.h send_queue) its store
 * for a resend and its push to the waiting request wherever it is (the
 * service thread only writes it). */
static enum rd_err tc_send_queue(void *ctx, const struct send_env *env, const struct outbound *ob,
				 int *queued)
{
	(void)ctx;
	char key[MODEL_ID_LEN + 32];
	if (!ob->in_reply_to[0])
		return RD_OK; /* a push with no request to answer: the transcript has it */
	json_t *body = answer_json(ob->conversation_id, ob->in_reply_to, ob);
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!json)
		return RD_EUNAVAIL;
	reply_key(key, sizeof key, ob->in_reply_to);
	char await_key[MODEL_ID_LEN + 8];
	snprintf(await_key, sizeof await_key, "test:%s", ob->in_reply_to);
	const char *set_argv[] = { "SET", key, json, "EX", RD_XSTR(TEST_REPLY_TTL_S) };
	size_t set_lens[RD_ARRAY_LEN(set_argv)];
	for (size_t i = 0; i < RD_ARRAY_LEN(set_argv); i++)
		set_lens[i] = strlen(set_argv[i]);
	enum rd_err err = RD_EUNAVAIL;
	if (redisAppendCommandArgv(env->rc, (int)RD_ARRAY_LEN(set_argv), set_argv, set_lens) ==
	    REDIS_OK) {
		++*queued;
		if (bus_publish_append(env->rc, await_key, json, strlen(json)) == RD_OK) {
			++*queued;
			err = RD_OK;
		}
	}
	free(json);
	return err;
}

const struct channel_ops testchan_ops = {
	.name = "test",
	.enabled = tc_enabled,
	.init = tc_init,
	.destroy = tc_destroy,
	.routes = tc_routes,
	.send_queue = tc_send_queue,
};
