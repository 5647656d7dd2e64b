/* stripe.c — card refunds through Stripe (Stripe API: "Create a refund",
 * "Retrieve a refund", "Idempotent requests", "Error codes").
 *
 * POST {api_base}/v1/refunds, form-encoded, Bearer secret key, with an
 * Idempotency-Key that is our refund id: a retry after a timeout, a 429 or a
 * 5xx reuses it, so Stripe pays once. A 4xx is final and its code
 * (charge_already_refunded, amount_too_large, charge_disputed, …) is the
 * failure reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/rails/rail_util.h"
#include "common/log.h"

struct stripe {
	const struct rails_config *cfg;
};

static enum rd_err stripe_init(const struct rails_config *cfg, void **ctx)
{
	if (!cfg->stripe.secret_key || !cfg->stripe.secret_key[0])
		return RD_ECONFIG; /* [rails.stripe] secret_key is required */
	struct stripe *s = calloc(1, sizeof *s);
	if (!s)
		return RD_ENOMEM;
	s->cfg = cfg;
	*ctx = s;
	return RD_OK;
}

static void stripe_destroy(void *ctx)
{
	free(ctx);
}

/* Stripe's refund object → res. */
static void read_refund(json_t *o, struct rail_refund_res *res)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *st = json_string_value(json_object_get(o, "status"));
	const char *why = json_string_value(json_object_get(o, "failure_reason"));
	snprintf(res->provider_refund_id, sizeof res->provider_refund_id, "%s", id ? id : "");
	res->retryable = 0;
	if (st && strcmp(st, "succeeded") == 0) {
		res->status = REFUND_SUCCEEDED;
	} else if (st && (strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0)) {
		res->status = REFUND_FAILED;
		snprintf(res->failure, sizeof res->failure, "%s", why ? why : st);
	} else {
		res->status = REFUND_PENDING; /* pending, requires_action */
	}
}

/* One call; the response body is parsed into res. */
/* lookup = 1 for a status read: any refusal there says nothing about the refund. */
static enum rd_err call(struct stripe *s, struct httpc_req *rq, struct rail_refund_res *res,
			int lookup)
{
	CURL *curl = httpc_thread_handle();
	struct httpc_resp resp;
	if (!curl)
		return rail_unknown(res, RD_ENOMEM);
	rq->bearer = s->cfg->stripe.secret_key;
	rq->timeout_ms = s->cfg->stripe.timeout_ms;
	enum rd_err err = httpc_do(curl, rq, &resp);
	if (err) {
		httpc_resp_free(&resp);
		return rail_unknown(res, err == RD_ETIMEOUT ? RD_ETIMEOUT : RD_EUNAVAIL);
	}
	json_t *doc = json_loadb(resp.body, resp.len, 0, NULL);
	if (resp.status >= 200 && resp.status < 300 && json_is_object(doc)) {
		read_refund(doc, res);
	} else if (lookup || rail_http_retryable(resp.status) || !json_is_object(doc)) {
		LOG_W("stripe", "refund_deferred", "HTTP %ld: will retry with the same key", resp.status);
		err = rail_unknown(res, RD_EUNAVAIL);
	} else {
		json_t *e = json_object_get(doc, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		snprintf(res->failure, sizeof res->failure, "%s", code ? code : type ? type : "refused");
		LOG_W("stripe", "refund_refused", "HTTP %ld %s: %s", resp.status, res->failure,
		      msg ? msg : "");
		err = rail_refused(res);
	}
	json_decref(doc);
	httpc_resp_free(&resp);
	return err;
}

static void add_field(char *buf, size_t n, size_t *used, CURL *curl, const char *name, const char *v)
{
	char *e = curl_easy_escape(curl, v, 0);
	int w = snprintf(buf + *used, n - *used, "%s%s=%s", *used ? "&" : "", name, e ? e : "");
	curl_free(e);
	if (w > 0 && (size_t)w < n - *used)
		*used += (size_t)w;
}

static enum rd_err stripe_refund(void *ctx, redisContext *rc, const struct rail_refund_req *req,
				 struct rail_refund_res *res)
{
	struct stripe *s = ctx;
	(void)rc;
	char url[512], form[2048], amount[24];
	size_t used = 0;
	CURL *curl = httpc_thread_handle();
	if (!curl)
		return rail_unknown(res, RD_ENOMEM);
	memset(res, 0, sizeof *res);
	snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
	add_field(form, sizeof form, &used, curl,
		  strncmp(req->payment_id, "ch_", 3) == 0 ? "charge" : "payment_intent", req->payment_id);
	add_field(form, sizeof form, &used, curl, "amount", amount);
	add_field(form, sizeof form, &used, curl, "reason", "requested_by_customer");
	add_field(form, sizeof form, &used, curl, "metadata[refund_id]", req->idempotency_key);
	add_field(form, sizeof form, &used, curl, "metadata[order_id]", req->order_id);
	add_field(form, sizeof form, &used, curl, "metadata[conversation_id]", req->conversation_id);
	snprintf(url, sizeof url, "%s/v1/refunds", s->cfg->stripe.api_base);
	struct httpc_req rq = { .method = "POST", .url = url,
				.content_type = "application/x-www-form-urlencoded", .body = form,
				.len = used, .idempotency_key = req->idempotency_key };
	return call(s, &rq, res, 0);
}

static enum rd_err stripe_status(void *ctx, redisContext *rc, const struct rail_refund_req *req,
				 const char *provider_refund_id, struct rail_refund_res *res)
{
	struct stripe *s = ctx;
	(void)rc;
	(void)req;
	char url[512];
	memset(res, 0, sizeof *res);
	if (!provider_refund_id[0] || strchr(provider_refund_id, '/'))
		return RD_EINVAL;
	snprintf(url, sizeof url, "%s/v1/refunds/%s", s->cfg->stripe.api_base, provider_refund_id);
	struct httpc_req rq = { .method = "GET", .url = url };
	return call(s, &rq, res, 1);
}

const struct rail_ops rail_stripe = {
	.name = "stripe",
	.init = stripe_init,
	.destroy = stripe_destroy,
	.refund = stripe_refund,
	.status = stripe_status,
};
