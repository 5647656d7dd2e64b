/* pix.c — Pix devoluções through the payer's PSP, on the Banco Central do
 * Brasil "API Pix" standard (BCB, "API Pix", devolução endpoints):
 *
 *   PUT {api_base}/pix/{e2eid}/devolucao/{id}  {"valor":"186.00","natureza":"ORIGINAL","descricao":…}
 *   GET {api_base}/pix/{e2eid}/devolucao/{id}  → status EM_PROCESSAMENTO | DEVOLVIDO | NAO_REALIZADO (motivo)
 *
 * {id} is our devolução id ([a-zA-Z0-9]{1,35}), derived from our refund id:
 * the same for a retry, so the PSP devolves once. Access is OAuth2 client
 * credentials (the token is cached until shortly before it expires, shared
 * by every worker thread) over mutual TLS (cert_file, key_file). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/rails/rail_util.h"
#include "common/log.h"
#include "common/money.h"
#include "common/util.h"

#define PIX_TOKEN_MARGIN_MS 30000 /* renew a token this long before it expires */

struct pix {
	const struct rails_config *cfg;
	pthread_mutex_t mu;           /* guards the token */
	char token[2048];
	int64_t token_expires_ms;     /* mono_ms() */
};

static enum rd_err pix_init(const struct rails_config *cfg, void **ctx)
{
	if (!cfg->pix.api_base || !cfg->pix.api_base[0] || !cfg->pix.token_url || !cfg->pix.token_url[0])
		return RD_ECONFIG; /* [rails.pix] api_base and token_url are required */
	struct pix *p = calloc(1, sizeof *p);
	if (!p)
		return RD_ENOMEM;
	p->cfg = cfg;
	pthread_mutex_init(&p->mu, NULL);
	*ctx = p;
	return RD_OK;
}

static void pix_destroy(void *ctx)
{
	struct pix *p = ctx;
	if (p)
		pthread_mutex_destroy(&p->mu);
	free(p);
}

static void tls(const struct pix *p, struct httpc_req *rq)
{
	rq->cert_file = p->cfg->pix.cert_file;
	rq->key_file = p->cfg->pix.key_file;
	rq->timeout_ms = p->cfg->pix.timeout_ms;
}

/* A valid access token into out (cached). RD_EUNAVAIL when the PSP does not give one. */
static enum rd_err get_token(struct pix *p, char *out, size_t n, int renew)
{
	pthread_mutex_lock(&p->mu);
	if (!renew && p->token[0] && mono_ms() < p->token_expires_ms - PIX_TOKEN_MARGIN_MS) {
		snprintf(out, n, "%s", p->token);
		pthread_mutex_unlock(&p->mu);
		return RD_OK;
	}
	static const char form[] = "grant_type=client_credentials";
	struct httpc_req rq = { .method = "POST", .url = p->cfg->pix.token_url,
				.content_type = "application/x-www-form-urlencoded", .body = form,
				.len = sizeof form - 1, .basic_user = p->cfg->pix.client_id,
				.basic_pass = p->cfg->pix.client_secret };
	tls(p, &rq);
	struct httpc_resp resp;
	CURL *curl = httpc_thread_handle();
	enum rd_err err = curl ? httpc_do(curl, &rq, &resp) : RD_ENOMEM;
	if (!err) {
		json_t *doc = json_loadb(resp.body, resp.len, 0, NULL);
		const char *tok = json_string_value(json_object_get(doc, "access_token"));
		json_int_t ttl = json_integer_value(json_object_get(doc, "expires_in"));
		if (resp.status == 200 && tok && strlen(tok) < sizeof p->token) {
			snprintf(p->token, sizeof p->token, "%s", tok);
			p->token_expires_ms = mono_ms() + (ttl > 0 ? (int64_t)ttl : 300) * 1000;
			snprintf(out, n, "%s", p->token);
		} else {
			LOG_W("pix", "token_refused", "token endpoint answered HTTP %ld", resp.status);
			err = RD_EUNAVAIL;
		}
		json_decref(doc);
	}
	httpc_resp_free(&resp);
	pthread_mutex_unlock(&p->mu);
	return err ? RD_EUNAVAIL : RD_OK;
}

/* Our devolução id: the refund id's letters and digits, at most 35. */
static void devolucao_id(const char *key, char out[36])
{
	size_t n = 0;
	for (; *key && n < 35; key++)
		if ((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') || (*key >= '0' && *key <= '9'))
			out[n++] = *key;
	out[n] = '\0';
}

static void read_devolucao(json_t *o, struct rail_refund_res *res)
{
	const char *st = json_string_value(json_object_get(o, "status"));
	const char *rtr = json_string_value(json_object_get(o, "rtrId"));
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *why = json_string_value(json_object_get(o, "motivo"));
	snprintf(res->provider_refund_id, sizeof res->provider_refund_id, "%s", rtr ? rtr : id ? id : "");
	res->retryable = 0;
	if (st && strcmp(st, "DEVOLVIDO") == 0) {
		res->status = REFUND_SUCCEEDED;
	} else if (st && strcmp(st, "NAO_REALIZADO") == 0) {
		res->status = REFUND_FAILED;
		snprintf(res->failure, sizeof res->failure, "NAO_REALIZADO: %s", why ? why : "");
	} else {
		res->status = REFUND_PENDING; /* EM_PROCESSAMENTO */
	}
}

/* PUT (create) or GET (status) the devolução. */
static enum rd_err devolucao(struct pix *p, const struct rail_refund_req *req, const char *method,
			     struct rail_refund_res *res)
{
	char url[512], id[36], token[2048], valor[32];
	char *body = NULL;
	memset(res, 0, sizeof *res);
	devolucao_id(req->idempotency_key, id);
	if (!id[0] || strchr(req->payment_id, '/') || strchr(req->payment_id, '?'))
		return RD_EINVAL;
	snprintf(url, sizeof url, "%s/pix/%s/devolucao/%s", p->cfg->pix.api_base, req->payment_id, id);
	if (strcmp(method, "PUT") == 0) {
		if (money_decimal(req->amount, req->currency, valor, sizeof valor) != RD_OK)
			return RD_EINVAL;
		char desc[140];
		snprintf(desc, sizeof desc, "Reembolso do pedido %s", req->order_id);
		json_t *b = json_pack("{s:s, s:s, s:s}", "valor", valor, "natureza", "ORIGINAL", "descricao", desc);
		body = b ? json_dumps(b, JSON_COMPACT) : NULL;
		json_decref(b);
		if (!body)
			return rail_unknown(res, RD_ENOMEM);
	}
	enum rd_err err = RD_OK;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (get_token(p, token, sizeof token, attempt > 0)) {
			err = rail_unknown(res, RD_EUNAVAIL);
			break;
		}
		struct httpc_req rq = { .method = method, .url = url, .bearer = token,
					.content_type = body ? "application/json" : NULL, .body = body,
					.len = body ? strlen(body) : 0 };
		tls(p, &rq);
		struct httpc_resp resp;
		err = httpc_do(httpc_thread_handle(), &rq, &resp);
		if (err) {
			httpc_resp_free(&resp);
			err = rail_unknown(res, err == RD_ETIMEOUT ? RD_ETIMEOUT : RD_EUNAVAIL);
			break;
		}
		json_t *doc = json_loadb(resp.body, resp.len, 0, NULL);
		long st = resp.status;
		if (st == 401 && attempt == 0) { /* the token went stale: a new one, once */
			json_decref(doc);
			httpc_resp_free(&resp);
			continue;
		}
		if (st >= 200 && st < 300 && json_is_object(doc)) {
			read_devolucao(doc, res);
		} else if (body == NULL || rail_http_retryable(st) || !json_is_object(doc)) {
			LOG_W("pix", "devolucao_deferred", "%s HTTP %ld: will retry", method, st);
			err = rail_unknown(res, RD_EUNAVAIL);
		} else { /* RFC 7807 problem: {"title","status","detail"} */
			const char *t = json_string_value(json_object_get(doc, "title"));
			const char *d = json_string_value(json_object_get(doc, "detail"));
			snprintf(res->failure, sizeof res->failure, "%s%s%s", t ? t : "refused", d ? ": " : "",
				 d ? d : "");
			LOG_W("pix", "devolucao_refused", "HTTP %ld: %s", st, res->failure);
			err = rail_refused(res);
		}
		json_decref(doc);
		httpc_resp_free(&resp);
		break;
	}
	free(body);
	return err;
}

static enum rd_err pix_refund(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			      struct rail_refund_res *res)
{
	(void)rc;
	return devolucao(ctx, req, "PUT", res);
}

static enum rd_err pix_status(void *ctx, redisContext *rc, const struct rail_refund_req *req,
			      const char *provider_refund_id, struct rail_refund_res *res)
{
	(void)rc;
	(void)provider_refund_id;
	return devolucao(ctx, req, "GET", res);
}

const struct rail_ops rail_pix = {
	.name = "pix",
	.init = pix_init,
	.destroy = pix_destroy,
	.refund = pix_refund,
	.status = pix_status,
	.polled = 1,
};
