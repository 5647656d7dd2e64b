/* slack.c — the Slack channel, in: Events API and interactivity
 * (Slack docs: "Events API", "Verifying requests from Slack",
 * "Handling user interaction", "block_actions payloads").
 *
 *   POST /webhooks/slack/events          url_verification → {"challenge"};
 *        event_callback with message / app_mention → one customer message.
 *   POST /webhooks/slack/interactivity   form body payload=<JSON>: block_actions.
 *        confirm_yes / confirm_no from a customer continue their thread;
 *        review_approve / review_deny / review_info from a reviewer decide a
 *        ticket (only [slack] reviewers, when set).
 * Both are signed: X-Slack-Request-Timestamp within five minutes and
 * X-Slack-Signature over the raw bytes, else 401 and nothing stored.
 *
 * Conversations: a DM is one conversation ("slack:TEAM:DCHANNEL"); in a
 * channel each thread is one ("slack:TEAM:CHANNEL:THREAD_TS", a top-level
 * message starting its own thread), and the agent answers in the thread.
 * The dedupe key of a message is (channel, ts): Slack's retries keep the
 * event_id, but Slack has been seen to resend a message under a new
 * event_id; the same ts catches both (and a message that arrives as both a
 * message and an app_mention event). */
#include "channels/slack_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/outbox.h"

static int sl_enabled(const struct config *cfg)
{
	return cfg->slack.enabled;
}

static enum rd_err sl_init(const struct config *cfg, void **ctx)
{
	struct slack *s = calloc(1, sizeof *s);
	if (!s)
		return RD_ENOMEM;
	s->cfg = cfg;
	*ctx = s;
	return RD_OK;
}

static void sl_destroy(void *ctx)
{
	free(ctx);
}

int slack_signature_ok(const char *secret, const char *ts, const char *sig, const char *body,
		       size_t len, int64_t now)
{
	char *end, want[65];
	long long t = strtoll(ts, &end, 10);
	if (end == ts || *end || t <= 0 || (now - t > SLACK_MAX_SKEW_S) || (t - now > SLACK_MAX_SKEW_S))
		return 0;
	if (strlen(sig) != 3 + 64 || strncmp(sig, "v0=", 3) != 0)
		return 0;
	size_t tl = strlen(ts);
	char *base = malloc(3 + tl + 1 + len + 1);
	if (!base)
		return 0;
	memcpy(base, "v0:", 3);
	memcpy(base + 3, ts, tl);
	base[3 + tl] = ':';
	if (len)
		memcpy(base + 4 + tl, body, len);
	hmac_sha256_hex(secret, strlen(secret), base, 4 + tl + len, want);
	free(base);
	return ct_equal(sig + 3, 64, want, 64);
}

static int verified(struct slack *s, struct http_exchange *ex)
{
	char ts[32], sig[80];
	size_t len;
	const char *body = http_body(ex, &len);
	if (http_header(ex, "x-slack-request-timestamp", ts, sizeof ts) < 0 ||
	    http_header(ex, "x-slack-signature", sig, sizeof sig) < 0)
		return 0;
	return slack_signature_ok(s->cfg->slack.signing_secret, ts, sig, body, len, now_ms() / 1000);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static int ok_id(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < 40 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

static int ok_ts(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < 32 && strspn(s, "0123456789.") == n;
}

/* Slack's message text as the customer typed it ("Basic formatting" in
 * Slack's docs): mentions "<@U123>" go (the agent reads the words, not the
 * addressing), "<mailto:a@b.c|a@b.c>" and "<https://x|label>" become their
 * label (or target), and &amp; &lt; &gt; are unescaped. Caller frees. */
static char *slack_plain_text(const char *text)
{
	size_t n = strlen(text);
	if (n > MODEL_MAX_TEXT) {
		n = MODEL_MAX_TEXT;
		/* cut at a UTF-8 boundary (as model_strlcpy): a split character
		 * would make the whole text unserializable (fuzz/regressions/slack_events) */
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		const char *gt = text[i] == '<' ? memchr(text + i, '>', n - i) : NULL;
		if (gt) {
			const char *in = text + i + 1, *bar = memchr(in, '|', (size_t)(gt - in));
			if (in[0] == '@' || in[0] == '#' || in[0] == '!') {
				/* a mention: dropped */
			} else if (bar) {
				memcpy(o, bar + 1, (size_t)(gt - bar - 1));
				o += gt - bar - 1;
			} else {
				const char *t = strncmp(in, "mailto:", 7) == 0 ? in + 7 : in;
				memcpy(o, t, (size_t)(gt - t));
				o += gt - t;
			}
			i = (size_t)(gt - text) + 1;
			continue;
		}
		static const struct { const char *esc; char c; } ents[] = {
			{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' } };
		size_t k;
		for (k = 0; k < RD_ARRAY_LEN(ents); k++)
			if (strncmp(text + i, ents[k].esc, strlen(ents[k].esc)) == 0)
				break;
		if (k < RD_ARRAY_LEN(ents)) {
			*o++ = ents[k].c;
			i += strlen(ents[k].esc);
			continue;
		}
		*o++ = text[i++];
	}
	*o = '\0';
	size_t lead = strspn(out, " ");
	memmove(out, out + lead, strlen(out + lead) + 1);
	return out;
}

static void conversation_of(struct message *m, const char *team, const char *channel,
			    const char *thread, int dm)
{
	if (dm)
		snprintf(m->conversation_id, sizeof m->conversation_id, "slack:%s:%s", team, channel);
	else
		snprintf(m->conversation_id, sizeof m->conversation_id, "slack:%s:%s:%s", team, channel,
			 thread);
	json_t *route = dm ? json_pack("{s:s}", "channel", channel)
			   : json_pack("{s:s, s:s}", "channel", channel, "thread_ts", thread);
	m->route = route ? json_dumps(route, JSON_COMPACT) : NULL;
	json_decref(route);
}

static void ingested(struct http_exchange *ex, const struct ingest_result *r, void *arg)
{
	(void)arg;
	if (!ex)
		return;
	if (r->err)
		http_respond_error(ex, 503, "storage unavailable, retry later");
	else
		http_respond(ex, 200, "application/json", "{\"ok\":true}", 11);
}

static void ignore(struct http_exchange *ex)
{
	http_respond(ex, 200, "application/json", "{\"ok\":true}", 11);
}

/* 1 when user is the app's own bot user (authorizations[].user_id with
 * is_bot): our own messages come back as events, not always with bot_id. */
static int from_our_bot(json_t *doc, const char *user)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(doc, "authorizations"), i, a)
		if (json_is_true(json_object_get(a, "is_bot")) && strcmp(jstr(a, "user_id"), user) == 0)
			return 1;
	return 0;
}

enum slack_parsed slack_parse_event(json_t *doc, struct message *m)
{
	memset(m, 0, sizeof *m);
	const char *doc_type = jstr(doc, "type");
	if (strcmp(doc_type, "url_verification") == 0)
		return SLACK_CHALLENGE;
	if (strcmp(doc_type, "event_callback") != 0)
		return SLACK_IGNORE;
	json_t *ev = json_object_get(doc, "event");
	const char *type = jstr(ev, "type"), *team = jstr(doc, "team_id");
	const char *user = jstr(ev, "user"), *channel = jstr(ev, "channel"), *ts = jstr(ev, "ts");
	const char *thread = jstr(ev, "thread_ts"), *subtype = jstr(ev, "subtype");
	if ((strcmp(type, "message") != 0 && strcmp(type, "app_mention") != 0) ||
	    json_object_get(ev, "bot_id") || (subtype[0] && strcmp(subtype, "thread_broadcast") != 0) ||
	    from_our_bot(doc, user))
		return SLACK_IGNORE; /* bots (ourselves included), edits, deletes, joins, other events */
	if (!ok_id(team) || !ok_id(user) || !ok_id(channel) || !ok_ts(ts) || (thread[0] && !ok_ts(thread))) {
		LOG_W("slack", "bad_event", "event without team/user/channel/ts ignored");
		return SLACK_IGNORE;
	}
	if (!(m->text = slack_plain_text(jstr(ev, "text"))))
		return SLACK_NOMEM;
	int dm = strcmp(jstr(ev, "channel_type"), "im") == 0 || channel[0] == 'D';
	snprintf(m->channel, sizeof m->channel, "slack");
	snprintf(m->channel_user_id, sizeof m->channel_user_id, "%s", user);
	snprintf(m->message_id, sizeof m->message_id, "%s:%s", channel, ts);
	conversation_of(m, team, channel, thread[0] ? thread : ts, dm);
	m->kind = m->text[0] ? MSG_TEXT : MSG_UNSUPPORTED;
	m->received_at_ms = now_ms();
	m->platform_ts = strtoll(ts, NULL, 10);
	return SLACK_MESSAGE;
}

/* Hand a parsed message (moved from *m) to the inbound stream. */
static void ingest_one(struct http_exchange *ex, struct message *m)
{
	struct message *copy = malloc(sizeof *copy);
	if (!copy) {
		message_free(m);
		http_respond_error(ex, 503, "out of memory");
		return;
	}
	*copy = *m;
	http_ingest(ex, copy, 1, NULL, ingested, NULL);
}

static void events(void *ctx, struct http_exchange *ex)
{
	struct slack *s = ctx;
	json_error_t jerr;
	size_t len;
	const char *body = http_body(ex, &len);
	if (!verified(s, ex)) {
		http_respond_error(ex, 401, "bad or stale Slack signature");
		return;
	}
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		http_respond_error(ex, 400, "malformed JSON");
		return;
	}
	struct message m;
	switch (slack_parse_event(doc, &m)) {
	case SLACK_CHALLENGE:
		http_respond_json(ex, 200, json_pack("{s:s}", "challenge", jstr(doc, "challenge")));
		break;
	case SLACK_MESSAGE:
		ingest_one(ex, &m);
		break;
	case SLACK_NOMEM:
		http_respond_error(ex, 503, "out of memory");
		break;
	default:
		ignore(ex);
		break;
	}
	json_decref(doc);
}

/* ---- interactivity ---- */

json_t *slack_form_payload(const char *body, size_t len)
{
	const char *p = body;
	while (p < body + len) {
		const char *amp = memchr(p, '&', (size_t)(body + len - p));
		size_t n = amp ? (size_t)(amp - p) : (size_t)(body + len - p);
		if (n > 8 && strncmp(p, "payload=", 8) == 0) {
			char *raw = strndup(p + 8, n - 8);
			if (!raw)
				return NULL;
			for (char *q = raw; *q; q++)
				if (*q == '+')
					*q = ' '; /* form encoding: '+' is a space */
			int dlen = 0;
			char *dec = curl_easy_unescape(NULL, raw, 0, &dlen);
			free(raw);
			json_t *doc = dec ? json_loadb(dec, (size_t)dlen, JSON_REJECT_DUPLICATES, NULL) : NULL;
			curl_free(dec);
			return doc;
		}
		p += n + 1;
	}
	return NULL;
}

static int is_reviewer(const struct slack *s, const char *user)
{
	if (!s->cfg->slack.n_reviewers)
		return 1;
	for (size_t i = 0; i < s->cfg->slack.n_reviewers; i++)
		if (strcmp(s->cfg->slack.reviewers[i], user) == 0)
			return 1;
	return 0;
}

struct refusal {
	struct outbound ob;
	enum rd_err err;
};

static void refusal_run(redisContext *rc, void *arg)
{
	struct refusal *r = arg;
	r->err = rc ? outbox_append(rc, &r->ob) : RD_EREDIS;
}

static void refusal_done(struct http_exchange *ex, void *arg)
{
	struct refusal *r = arg;
	if (ex)
		ignore(ex); /* Slack gets its 200; the clicker gets the note */
	outbound_free(&r->ob);
	free(r);
}

/* Someone outside [slack] reviewers clicked: an ephemeral note, nothing else. */
static void refuse(struct http_exchange *ex, const char *user, const char *ticket, const char *route)
{
	struct refusal *r = calloc(1, sizeof *r);
	char *text = strdup("Only the reviewers set in redress ([slack] reviewers) can decide refunds.");
	if (!r || !text || !(r->ob.route = strdup(route))) {
		free(text);
		if (r)
			free(r->ob.route);
		free(r);
		ignore(ex);
		return;
	}
	snprintf(r->ob.kind, sizeof r->ob.kind, "notice");
	snprintf(r->ob.channel, sizeof r->ob.channel, "slack");
	model_strlcpy(r->ob.channel_user_id, user, sizeof r->ob.channel_user_id);
	snprintf(r->ob.conversation_id, sizeof r->ob.conversation_id, "review:%.60s", ticket);
	model_strlcpy(r->ob.ref, ticket, sizeof r->ob.ref);
	if (outbound_add(&r->ob, "notice", text) != RD_OK) {
		refusal_done(ex, r);
		return;
	}
	http_submit(ex, refusal_run, refusal_done, r);
}

enum slack_parsed slack_parse_block_actions(json_t *doc, struct message *m)
{
	memset(m, 0, sizeof *m);
	if (strcmp(jstr(doc, "type"), "block_actions") != 0)
		return SLACK_IGNORE;
	json_t *action = json_array_get(json_object_get(doc, "actions"), 0);
	json_t *msg = json_object_get(doc, "message"), *container = json_object_get(doc, "container");
	const char *action_id = jstr(action, "action_id"), *value = jstr(action, "value");
	const char *user = jstr(json_object_get(doc, "user"), "id");
	const char *team = jstr(json_object_get(doc, "team"), "id");
	const char *channel = jstr(json_object_get(doc, "channel"), "id");
	const char *msg_ts = jstr(msg, "ts"), *action_ts = jstr(action, "action_ts");
	const char *thread = jstr(msg, "thread_ts");
	if (!thread[0])
		thread = jstr(container, "thread_ts");
	if (!ok_id(user) || !ok_id(channel) || !ok_ts(msg_ts) || !ok_ts(action_ts))
		return SLACK_IGNORE;
	int review = strncmp(action_id, "review_", 7) == 0;
	if (!review && strcmp(action_id, "confirm_yes") != 0 && strcmp(action_id, "confirm_no") != 0)
		return SLACK_IGNORE;
	if (review && (!value[0] || strlen(value) > 40 ||
		       strlen(action_id) + 1 + strlen(value) >= sizeof m->payload))
		return SLACK_IGNORE; /* the payload carries "action_id:ticket" whole, or nothing */
	json_t *route_j = json_pack("{s:s, s:s, s:s}", "channel", channel, "ts", msg_ts, "response_url",
				    jstr(doc, "response_url"));
	char *route = route_j ? json_dumps(route_j, JSON_COMPACT) : NULL;
	json_decref(route_j);
	if (!route)
		return SLACK_NOMEM;
	snprintf(m->channel, sizeof m->channel, "slack");
	snprintf(m->channel_user_id, sizeof m->channel_user_id, "%s", user);
	snprintf(m->message_id, sizeof m->message_id, "action:%s:%s:%s", channel, action_ts, user);
	m->kind = MSG_BUTTON;
	m->received_at_ms = now_ms();
	if (review) {
		snprintf(m->payload, sizeof m->payload, "%s:%s", action_id, value);
		snprintf(m->conversation_id, sizeof m->conversation_id, "review:%s", value);
		m->route = route;
		return SLACK_REVIEW;
	}
	/* the customer's own thread (or DM) */
	snprintf(m->payload, sizeof m->payload, "%s", action_id);
	conversation_of(m, ok_id(team) ? team : "T", channel, thread[0] ? thread : msg_ts,
			channel[0] == 'D');
	free(route);
	return SLACK_MESSAGE;
}

static void interactivity(void *ctx, struct http_exchange *ex)
{
	struct slack *s = ctx;
	size_t len;
	const char *body = http_body(ex, &len);
	if (!verified(s, ex)) {
		http_respond_error(ex, 401, "bad or stale Slack signature");
		return;
	}
	json_t *doc = slack_form_payload(body, len);
	if (!json_is_object(doc)) {
		json_decref(doc);
		http_respond_error(ex, 400, "expected a form body with payload=<JSON>");
		return;
	}
	struct message m;
	switch (slack_parse_block_actions(doc, &m)) {
	case SLACK_REVIEW:
		if (!is_reviewer(s, m.channel_user_id)) {
			/* the ticket is the button's value: conversation "review:<value>" */
			refuse(ex, m.channel_user_id, m.conversation_id + strlen("review:"), m.route);
			message_free(&m);
			break;
		}
		ingest_one(ex, &m);
		break;
	case SLACK_MESSAGE:
		ingest_one(ex, &m);
		break;
	case SLACK_NOMEM:
		http_respond_error(ex, 503, "out of memory");
		break;
	default:
		ignore(ex);
		break;
	}
	json_decref(doc);
}

static size_t sl_routes(void *ctx, struct http_route *out, size_t max)
{
	if (max < 2)
		return 0;
	out[0] = (struct http_route){ "POST", "/webhooks/slack/events", 0, events, ctx };
	out[1] = (struct http_route){ "POST", "/webhooks/slack/interactivity", 0, interactivity, ctx };
	return 2;
}

const struct channel_ops slack_ops = {
	.name = "slack",
	.enabled = sl_enabled,
	.init = sl_init,
	.destroy = sl_destroy,
	.routes = sl_routes,
	.send = slack_send,
};
