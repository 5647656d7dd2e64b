/* usdc.c — USDC refunds to the paying wallet through a wallet provider's
 * REST API, of the kind agent-payment platforms expose:
 *
 *   POST {api_base}/v1/payments/refund   Bearer api_key, Idempotency-Key: our refund id,
 *        {"agent_id", "payment_id", "amount": "24.99", "reason"}
 *   → {"refund_id", "payment_id", "amount", "token": "USDC", "tx_hash",
 *      "status": "confirmed" | "pending", "reason"}
 *   GET  {api_base}/v1/payments/refund/{refund_id}   the same object
 *
 * The provider enforces caps of its own: an error with code
 * POLICY_VIOLATION (like any 4xx) is final, and its message is the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/rails/rail_util.h"
#include "common/log.h"
#include "common/money.h"

struct usdc {
	const struct rails_config *cfg;
};

static enum rd_err usdc_init(const struct rails_config *cfg, void **ctx)
{
	if (!cfg->usdc.api_base || !cfg->usdc.api_base[0])
		return RD_ECONFIG; /* [rails.usdc] api_base is required */
	struct usdc *u = calloc(1, sizeof *u);
	if (!u)
		return RD_ENOMEM;
	u->cfg = cfg;
	*ctx = u;
	return RD_OK;
}

static void usdc_destroy(void *ctx)
{
	free(ctx);
}

static enum rd_err call(struct usdc *u, struct httpc_req *rq, struct rail_refund_res *res, int lookup)
{
	struct httpc_resp resp;
	CURL *curl = httpc_thread_handle();
	if (!curl)
		return rail_unknown(res, RD_ENOMEM);
	rq->bearer = u->cfg->usdc.api_key;
	rq->timeout_ms = u->cfg->usdc.timeout_ms;
	enum rd_err err = httpc_do(curl, rq, &resp);
	if (err) {
		httpc_resp_free(&resp);
		return rail_unknown(res, err == RD_ETIMEOUT ? RD_ETIMEOUT : RD_EUNAVAIL);
	}
	json_t *doc = json_loadb(resp.body, resp.len, 0, NULL);
	if (resp.status >= 200 && resp.status < 300 && json_is_object(doc)) {
		const char *id = json_string_value(json_object_get(doc, "refund_id"));
		const char *tx = json_string_value(json_object_get(doc, "tx_hash"));
		const char *st = json_string_value(json_object_get(doc, "status"));
		snprintf(res->provider_refund_id, sizeof res->provider_refund_id, "%s", id ? id : "");
		snprintf(res->tx_hash, sizeof res->tx_hash, "%s", tx ? tx : "");
		res->retryable = 0;
		if (st && strcmp(st, "confirmed") == 0) {
			res->status = REFUND_SUCCEEDED;
		} else if (st && strcmp(st, "failed") == 0) {
			res->status = REFUND_FAILED;
			snprintf(res->failure, sizeof res->failure, "failed on chain");
		} else {
			res->status = REFUND_PENDING;
		}
	} else if (lookup || rail_http_retryable(resp.status) || !json_is_object(doc)) {
		LOG_W("usdc", "refund_deferred", "HTTP %ld: will retry with the same key", resp.status);
		err = rail_unknown(res, RD_EUNAVAIL);
	} else {
		json_t *e = json_object_get(doc, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		snprintf(res->failure, sizeof res->failure, "%s%s%s", code ? code : "refused",
			 msg ? ": " : "", msg ? msg : "");
		LOG_W("usdc", "refund_refused", "HTTP %ld %s", resp.status, res->failure);
		err = rail_refused(res);
	}
	json_decref(doc);
	httpc_resp_free(&resp);
	return err;
}

static enum rd_err usdc_refund(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			       struct rail_refund_res *res)
{
	struct usdc *u = ctx;
	(void)rc;
	char url[512], amount[32];
	memset(res, 0, sizeof *res);
	if (money_decimal(req->amount, req->currency, amount, sizeof amount) != RD_OK)
		return RD_EINVAL;
	json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "agent_id", u->cfg->usdc.agent_id ? u->cfg->usdc.agent_id : "",
			      "payment_id", req->payment_id, "amount", amount, "reason",
			      req->reason && req->reason[0] ? req->reason : "requested_by_customer");
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!body)
		return rail_unknown(res, RD_ENOMEM);
	snprintf(url, sizeof url, "%s/v1/payments/refund", u->cfg->usdc.api_base);
	struct httpc_req rq = { .method = "POST", .url = url, .content_type = "application/json",
				.body = body, .len = strlen(body), .idempotency_key = req->idempotency_key };
	enum rd_err err = call(u, &rq, res, 0);
	free(body);
	return err;
}

static enum rd_err usdc_status(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			       const char *provider_refund_id, struct rail_refund_res *res)
{
	struct usdc *u = ctx;
	(void)rc;
	(void)req;
	char url[512];
	memset(res, 0, sizeof *res);
	if (!provider_refund_id[0] || strchr(provider_refund_id, '/'))
		return RD_EINVAL;
	snprintf(url, sizeof url, "%s/v1/payments/refund/%s", u->cfg->usdc.api_base, provider_refund_id);
	struct httpc_req rq = { .method = "GET", .url = url };
	return call(u, &rq, res, 1);
}

const struct rail_ops rail_usdc = {
	.name = "usdc",
	.init = usdc_init,
	.destroy = usdc_destroy,
	.refund = usdc_refund,
	.status = usdc_status,
	.polled = 1,
};
