#include "gateway/webhooks_rails.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/gateway.h"

int stripe_signature_ok(const char *secret, const char *header, const char *body, size_t len,
			int64_t now)
{
	char t[24] = "", want[65];
	const char *sigs[8];
	size_t sig_len[8], n = 0;
	for (const char *p = header; *p;) {
		size_t item = strcspn(p, ",");
		if (item > 2 && strncmp(p, "t=", 2) == 0 && item - 2 < sizeof t) {
			memcpy(t, p + 2, item - 2);
			t[item - 2] = '\0';
		} else if (item > 3 && strncmp(p, "v1=", 3) == 0 && n < 8) {
			sigs[n] = p + 3;
			sig_len[n++] = item - 3;
		}
		p += item + (p[item] == ',');
	}
	char *end;
	long long ts = strtoll(t, &end, 10);
	if (!t[0] || *end || ts <= 0 || now - ts > STRIPE_TOLERANCE_S || ts - now > STRIPE_TOLERANCE_S)
		return 0;
	size_t tl = strlen(t);
	char *signed_payload = malloc(tl + 1 + len + 1);
	if (!signed_payload)
		return 0;
	memcpy(signed_payload, t, tl);
	signed_payload[tl] = '.';
	if (len)
		memcpy(signed_payload + tl + 1, body, len);
	hmac_sha256_hex(secret, strlen(secret), signed_payload, tl + 1 + len, want);
	free(signed_payload);
	int ok = 0;
	for (size_t i = 0; i < n; i++)
		ok |= ct_equal(sigs[i], sig_len[i], want, 64);
	return ok;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* A Stripe refund object that reached a final status → a rail_update message. */
static int news_of(json_t *refund, struct message *m)
{
	json_t *meta = json_object_get(refund, "metadata");
	const char *key = jstr(meta, "refund_id"), *cid = jstr(meta, "conversation_id");
	const char *status = jstr(refund, "status");
	const char *st = strcmp(status, "succeeded") == 0 ? "succeeded"
		       : (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0) ? "failed"
											      : NULL;
	if (!st || !key[0] || !cid[0] || strlen(key) > 80 || strlen(cid) >= MODEL_ID_LEN)
		return -1; /* not ours, or nothing to do yet */
	json_t *news = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "refund_id", key, "status", st,
				 "provider_refund_id", jstr(refund, "id"), "order_id",
				 jstr(meta, "order_id"), "amount",
				 (json_int_t)json_integer_value(json_object_get(refund, "amount")),
				 "failure", jstr(refund, "failure_reason"), "tx_hash", "");
	memset(m, 0, sizeof *m);
	m->text = news ? json_dumps(news, JSON_COMPACT) : NULL;
	json_decref(news);
	if (!m->text)
		return -1;
	snprintf(m->channel, sizeof m->channel, "system");
	snprintf(m->channel_user_id, sizeof m->channel_user_id, "stripe");
	snprintf(m->conversation_id, sizeof m->conversation_id, "%s", cid);
	snprintf(m->message_id, sizeof m->message_id, "rail:%s:%s", key, st);
	snprintf(m->payload, sizeof m->payload, "rail_update");
	m->kind = MSG_BUTTON;
	m->received_at_ms = now_ms();
	return 0;
}

static void ingested(struct http_exchange *ex, const struct ingest_result *r, void *arg)
{
	(void)arg;
	if (!ex)
		return;
	if (r->err)
		http_respond_error(ex, 503, "storage unavailable, retry later");
	else
		http_respond(ex, 200, "application/json", "{\"received\":true}", 17);
}

enum rd_err stripe_parse_event(const char *body, size_t len, struct message *msgs, size_t max,
			       size_t *n)
{
	*n = 0;
	json_t *ev = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return RD_EPROTO;
	}
	const char *type = jstr(ev, "type");
	json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
	json_t *refunds = json_array();
	if (!strcmp(type, "refund.created") || !strcmp(type, "refund.updated") || !strcmp(type, "refund.failed"))
		json_array_append(refunds, obj);
	else if (!strcmp(type, "charge.refunded"))
		json_array_extend(refunds, json_object_get(json_object_get(obj, "refunds"), "data"));
	size_t i;
	json_t *r;
	json_array_foreach(refunds, i, r)
		if (*n < max && news_of(r, &msgs[*n]) == 0)
			(*n)++;
	json_decref(refunds);
	json_decref(ev);
	return RD_OK;
}

#define STRIPE_MAX_REFUNDS 16

static void stripe_webhook(void *ctx, struct http_exchange *ex)
{
	(void)ctx;
	char sig[1024];
	size_t len;
	const char *body = http_body(ex, &len);
	if (http_header(ex, "stripe-signature", sig, sizeof sig) < 0 ||
	    !stripe_signature_ok(gw.cfg->stripe.webhook_secret, sig, body, len, now_ms() / 1000)) {
		http_respond_error(ex, 401, "bad or stale Stripe-Signature");
		return;
	}
	struct message *msgs = calloc(STRIPE_MAX_REFUNDS, sizeof *msgs);
	size_t n = 0;
	if (stripe_parse_event(body, len, msgs, msgs ? STRIPE_MAX_REFUNDS : 0, &n) != RD_OK) {
		free(msgs);
		http_respond_error(ex, 400, "malformed JSON");
		return;
	}
	if (!n) {
		free(msgs);
		http_respond(ex, 200, "application/json", "{\"received\":true}", 17);
		return;
	}
	http_ingest(ex, msgs, n, NULL, ingested, NULL);
}

size_t routes_rail_webhooks(struct http_route *out, size_t max)
{
	int stripe = 0;
	for (size_t i = 0; i < gw.cfg->rails.n_enabled; i++)
		stripe |= strcmp(gw.cfg->rails.enabled[i], "stripe") == 0;
	if (!stripe || !gw.cfg->stripe.webhook_secret[0] || max < 1)
		return 0;
	out[0] = (struct http_route){ "POST", "/webhooks/stripe", 0, stripe_webhook, NULL };
	return 1;
}
