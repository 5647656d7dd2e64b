/* whatsapp.c — the WhatsApp channel over Meta's WhatsApp Cloud API.
 *
 * In (Meta, "Webhooks" and "Webhooks components: messages"):
 *   GET  /webhooks/whatsapp   verification handshake: hub.mode=subscribe and
 *                             hub.verify_token == [whatsapp] verify_token →
 *                             200 with hub.challenge; else 403. No signature.
 *   POST /webhooks/whatsapp   X-Hub-Signature-256: "sha256=" + hex
 *                             HMAC-SHA256(app_secret, raw body), checked in
 *                             constant time over the exact bytes received
 *                             (never re-serialized JSON). 401 when missing or
 *                             wrong, 400 for malformed JSON; 200 once every
 *                             message is in the inbound stream.
 * Every entry[].changes[].value is read: messages[] (text; interactive
 * button_reply / list_reply and template quick-reply "button" → a button
 * message with its id; any other type → unsupported, answered politely),
 * contacts[] (profile name, wa_id) and statuses[] (delivery record of our
 * outbound message). The wa_id is the customer's verified phone.
 *
 * Out (Meta, "Cloud API: Messages"): POST {graph_api_base}/{phone_number_id}/messages
 * with a Bearer token — text, interactive buttons (≤ 3, titles ≤ 20
 * characters, body ≤ 1024), read receipts, and templates outside the 24 h
 * customer service window or after error 131047. 130429 / 131056 / 429 /
 * 5xx are retried from the outbox (per-customer order is kept by the
 * sender); other errors are final and logged with Meta's code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"

#include "channels/whatsapp_int.h"

static int wa_enabled(const struct config *cfg)
{
	return cfg->whatsapp.enabled;
}

/* "refunded=refund_update/pt_BR, *=redress_update/en_US" (syntax checked by config) */
static void parse_templates(struct wa *w, const char *v)
{
	while (*v && w->n_tpls < WA_MAX_TEMPLATES) {
		while (*v == ' ' || *v == ',')
			v++;
		size_t item = strcspn(v, ",");
		if (!item)
			break;
		const char *eq = memchr(v, '=', item), *sl = memchr(v, '/', item);
		if (eq && sl && sl > eq) {
			struct wa_template *t = &w->tpls[w->n_tpls++];
			snprintf(t->name, sizeof t->name, "%.*s", (int)(eq - v), v);
			snprintf(t->tpl, sizeof t->tpl, "%.*s", (int)(sl - eq - 1), eq + 1);
			snprintf(t->lang, sizeof t->lang, "%.*s", (int)(v + item - sl - 1), sl + 1);
		}
		v += item;
	}
}

static enum rd_err wa_init(const struct config *cfg, void **ctx)
{
	struct wa *w = calloc(1, sizeof *w);
	if (!w)
		return RD_ENOMEM;
	w->cfg = cfg;
	parse_templates(w, cfg->whatsapp.templates);
	*ctx = w;
	return RD_OK;
}

static void wa_destroy(void *ctx)
{
	free(ctx);
}

/* ---- in ---- */

static void handshake(void *ctx, struct http_exchange *ex)
{
	struct wa *w = ctx;
	char mode[32], token[256], challenge[256];
	if (http_query(ex, "hub.mode", mode, sizeof mode) < 0 || strcmp(mode, "subscribe") != 0 ||
	    http_query(ex, "hub.verify_token", token, sizeof token) < 0 ||
	    !ct_equal(token, strlen(token), w->cfg->whatsapp.verify_token,
		      strlen(w->cfg->whatsapp.verify_token)) ||
	    http_query(ex, "hub.challenge", challenge, sizeof challenge) < 0) {
		http_respond(ex, 403, "text/plain", "forbidden\n", 10);
		return;
	}
	http_respond(ex, 200, "text/plain", challenge, strlen(challenge));
}

int wa_signature_ok(const char *secret, const char *header, const char *body, size_t len)
{
	char hex[64], want[65];
	if (strlen(header) != 7 + 64 || strncmp(header, "sha256=", 7) != 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		char c = header[7 + i];
		hex[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
	}
	hmac_sha256_hex(secret, strlen(secret), body, len, want);
	return ct_equal(hex, 64, want, 64);
}

/* 1 when the X-Hub-Signature-256 header signs the raw body. */
static int signature_ok(struct wa *w, struct http_exchange *ex)
{
	char hdr[128];
	size_t len;
	const char *body = http_body(ex, &len);
	if (http_header(ex, "x-hub-signature-256", hdr, sizeof hdr) < 0)
		return 0;
	return wa_signature_ok(w->cfg->whatsapp.app_secret, hdr, body, len);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int all_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return 0;
	return strspn(s, "0123456789") == n;
}

/* One messages[] item → *m. Returns 0, or -1 when it cannot be a message. */
static int normalize(json_t *msg, json_t *contacts, const char *phone_number_id, struct message *m)
{
	const char *from = jstr(msg, "from"), *id = jstr(msg, "id"), *type = jstr(msg, "type");
	if (!all_digits(from, 6, 20) || !id[0] || strlen(id) >= sizeof m->message_id)
		return -1;
	memset(m, 0, sizeof *m);
	snprintf(m->channel, sizeof m->channel, "whatsapp");
	snprintf(m->channel_user_id, sizeof m->channel_user_id, "%s", from);
	snprintf(m->conversation_id, sizeof m->conversation_id, "whatsapp:%s", from);
	snprintf(m->message_id, sizeof m->message_id, "%s", id);
	snprintf(m->verified_phone, sizeof m->verified_phone, "+%s", from);
	m->received_at_ms = now_ms();
	m->platform_ts = strtoll(jstr(msg, "timestamp"), NULL, 10);
	size_t i;
	json_t *c;
	json_array_foreach(contacts, i, c)
		if (strcmp(jstr(c, "wa_id"), from) == 0)
			model_strlcpy(m->display_name, jstr(json_object_get(c, "profile"), "name"),
				      sizeof m->display_name);
	json_t *route = json_pack("{s:s}", "phone_number_id", phone_number_id);
	m->route = route ? json_dumps(route, JSON_COMPACT) : NULL;
	json_decref(route);

	const char *text = NULL, *button = NULL;
	if (strcmp(type, "text") == 0) {
		text = jstr(json_object_get(msg, "text"), "body");
	} else if (strcmp(type, "interactive") == 0) {
		json_t *in = json_object_get(msg, "interactive");
		const char *itype = jstr(in, "type");
		if (strcmp(itype, "button_reply") == 0 || strcmp(itype, "list_reply") == 0)
			button = jstr(json_object_get(in, itype), "id");
	} else if (strcmp(type, "button") == 0) {
		button = jstr(json_object_get(msg, "button"), "payload");
	}
	if (text && text[0]) {
		m->kind = MSG_TEXT;
		size_t n = strlen(text);
		if (n > MODEL_MAX_TEXT)
			n = MODEL_MAX_TEXT;
		m->text = malloc(n + 1);
		if (!m->text) {
			message_free(m);
			return -1;
		}
		model_strlcpy(m->text, text, n + 1);
	} else if (button && button[0]) {
		m->kind = MSG_BUTTON;
		model_strlcpy(m->payload, button, sizeof m->payload);
	} else {
		m->kind = MSG_UNSUPPORTED; /* image, audio, location, … */
	}
	return 0;
}

struct notification {
	struct wa_status *statuses;
	size_t n_statuses;
	enum rd_err err;
};

static void store_statuses(redisContext *rc, void *arg)
{
	struct notification *nt = arg;
	if (!rc) {
		nt->err = RD_EREDIS;
		return;
	}
	for (size_t i = 0; i < nt->n_statuses; i++) {
		const struct wa_status *s = &nt->statuses[i];
		redisAppendCommand(rc, "HSET rd:delivery:%s status %s error_code %s updated_at %lld",
				   s->wamid, s->status, s->error_code, (long long)now_ms());
		redisAppendCommand(rc, "EXPIRE rd:delivery:%s %d", s->wamid, WA_DELIVERY_TTL_S);
	}
	for (size_t i = 0; i < 2 * nt->n_statuses; i++) {
		redisReply *r = NULL;
		if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
			nt->err = RD_EREDIS;
		if (r)
			freeReplyObject(r);
		if (nt->err && rc->err)
			return;
	}
}

static void notification_free(struct notification *nt)
{
	free(nt->statuses);
	free(nt);
}

static void statuses_done(struct http_exchange *ex, void *arg)
{
	struct notification *nt = arg;
	if (ex) {
		if (nt->err)
			http_respond_error(ex, 503, "storage unavailable, retry later");
		else
			http_respond(ex, 200, "application/json", "{\"ok\":true}", 11);
	}
	notification_free(nt);
}

static void messages_done(struct http_exchange *ex, const struct ingest_result *r, void *arg)
{
	struct notification *nt = arg;
	if (!ex || r->err) {
		if (ex)
			http_respond_error(ex, 503, "storage unavailable, retry later");
		notification_free(nt);
		return;
	}
	if (nt->n_statuses) {
		http_submit(ex, store_statuses, statuses_done, nt);
		return;
	}
	http_respond(ex, 200, "application/json", "{\"ok\":true}", 11);
	notification_free(nt);
}

/* One statuses[] item → *s. Returns 0, or -1 when it has no usable id/status. */
static int read_status(json_t *st, struct wa_status *s)
{
	const char *id = jstr(st, "id"), *status = jstr(st, "status");
	if (!id[0] || strlen(id) >= MODEL_ID_LEN || !status[0] || strlen(status) >= 16)
		return -1;
	memset(s, 0, sizeof *s);
	snprintf(s->wamid, sizeof s->wamid, "%s", id);
	snprintf(s->status, sizeof s->status, "%s", status);
	json_t *errs = json_object_get(st, "errors");
	json_t *e0 = json_array_get(errs, 0);
	if (json_is_integer(json_object_get(e0, "code")))
		snprintf(s->error_code, sizeof s->error_code, "%lld",
			 (long long)json_integer_value(json_object_get(e0, "code")));
	if (strcmp(status, "failed") == 0)
		LOG_W("whatsapp", "delivery_failed", "message %s: Meta error %s (%s)", s->wamid,
		      s->error_code[0] ? s->error_code : "?", jstr(e0, "title"));
	return 0;
}

enum rd_err wa_parse_notification(const char *body, size_t len, const char *default_pnid,
				  struct message *msgs, size_t *n_msgs, struct wa_status *statuses,
				  size_t *n_statuses, char *why, size_t whylen)
{
	json_error_t jerr;
	*n_msgs = *n_statuses = 0;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		if (doc)
			snprintf(why, whylen, "body must be a JSON object");
		else
			snprintf(why, whylen, "malformed JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
		json_decref(doc);
		return RD_EPROTO;
	}
	size_t ie, ic, im;
	json_t *entry, *change, *msg;
	json_array_foreach(json_object_get(doc, "entry"), ie, entry) {
		json_array_foreach(json_object_get(entry, "changes"), ic, change) {
			json_t *value = json_object_get(change, "value");
			const char *pnid = jstr(json_object_get(value, "metadata"), "phone_number_id");
			json_t *contacts = json_object_get(value, "contacts");
			json_array_foreach(json_object_get(value, "messages"), im, msg) {
				if (*n_msgs == WA_MAX_MESSAGES)
					break;
				if (normalize(msg, contacts, pnid[0] ? pnid : default_pnid, &msgs[*n_msgs]) == 0)
					(*n_msgs)++;
				else
					LOG_W("whatsapp", "bad_message", "a message without from/id was skipped");
			}
			json_array_foreach(json_object_get(value, "statuses"), im, msg)
				if (*n_statuses < WA_MAX_MESSAGES && read_status(msg, &statuses[*n_statuses]) == 0)
					(*n_statuses)++;
		}
	}
	json_decref(doc);
	return RD_OK;
}

static void notify(void *ctx, struct http_exchange *ex)
{
	struct wa *w = ctx;
	char reason[200];
	size_t len, n;
	const char *body = http_body(ex, &len);

	if (!signature_ok(w, ex)) {
		http_respond_error(ex, 401, "missing or wrong X-Hub-Signature-256");
		return;
	}
	/* Parsed into scratch slots, then moved into arrays of the size used:
	 * zeroing WA_MAX_MESSAGES slots (~300 KB) for every notification was
	 * half the service thread's instructions (bench/NOTES.md). The service
	 * thread is the only caller, so static scratch is safe. */
	static struct message scratch_msgs[WA_MAX_MESSAGES];
	static struct wa_status scratch_st[WA_MAX_MESSAGES];
	size_t n_st;
	if (wa_parse_notification(body, len, w->cfg->whatsapp.phone_number_id, scratch_msgs, &n,
				  scratch_st, &n_st, reason, sizeof reason) != RD_OK) {
		http_respond_error(ex, 400, reason);
		return;
	}
	struct message *msgs = n ? malloc(n * sizeof *msgs) : NULL;
	struct notification *nt = calloc(1, sizeof *nt);
	if (nt && n_st)
		nt->statuses = malloc(n_st * sizeof *nt->statuses);
	if ((n && !msgs) || !nt || (n_st && !nt->statuses)) {
		for (size_t i = 0; i < n; i++)
			message_free(&scratch_msgs[i]);
		free(msgs);
		if (nt)
			notification_free(nt);
		http_respond_error(ex, 503, "out of memory");
		return;
	}
	if (n) /* ownership of each message's text and route moves with it */
		memcpy(msgs, scratch_msgs, n * sizeof *msgs);
	if (n_st)
		memcpy(nt->statuses, scratch_st, n_st * sizeof *nt->statuses);
	nt->n_statuses = n_st;
	if (n) {
		http_ingest(ex, msgs, n, NULL, messages_done, nt);
		return;
	}
	if (nt->n_statuses) {
		http_submit(ex, store_statuses, statuses_done, nt);
		return;
	}
	notification_free(nt); /* nothing for us (another field, an empty batch) */
	http_respond(ex, 200, "application/json", "{\"ok\":true}", 11);
}

static size_t wa_routes(void *ctx, struct http_route *out, size_t max)
{
	if (max < 2)
		return 0;
	out[0] = (struct http_route){ "GET", "/webhooks/whatsapp", 0, handshake, ctx };
	out[1] = (struct http_route){ "POST", "/webhooks/whatsapp", 0, notify, ctx };
	return 2;
}

const struct channel_ops whatsapp_ops = {
	.name = "whatsapp",
	.enabled = wa_enabled,
	.init = wa_init,
	.destroy = wa_destroy,
	.routes = wa_routes,
	.send = wa_send,
	.mark_read = wa_mark_read,
};
