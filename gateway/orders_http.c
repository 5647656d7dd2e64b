/* orders_http.c — the `http` orders store (orders_http.h). */
#include "gateway/orders_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/httpc.h"
#include "common/log.h"
#include "common/money.h"
#include "common/util.h"
#include "gateway/orders_ext.h"

#define HTTP_URL_MAX 1024
#define HTTP_REFUND_ID_MAX 256
#define HTTP_BACKOFF_MS 100      /* first retry after this, doubling */
#define HTTP_EPOCH_MS_ABOVE 100000000000LL /* integers above are epoch milliseconds */

struct httpstore {
	struct orders_http_config cfg;   /* a copy */
	struct orders_prober prober;
};

/* ---- JSON pointers and the mapping ------------------------------------------------ */

json_t *orders_json_pointer(json_t *root, const char *ptr)
{
	char tok[ORDERS_MAP_LEN];
	json_t *v = root;
	if (!ptr || (*ptr && *ptr != '/'))
		return NULL;
	while (v && *ptr) {
		size_t n = 0;
		ptr++; /* the '/' */
		while (*ptr && *ptr != '/') {
			char c = *ptr++;
			if (c == '~') {
				if (*ptr != '0' && *ptr != '1')
					return NULL;
				c = *ptr++ == '0' ? '~' : '/';
			}
			if (n + 1 >= sizeof tok)
				return NULL;
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, tok);
		} else if (json_is_array(v)) {
			/* decimal index, no leading zeros, no "-" (one past the end) */
			if (!n || strspn(tok, "0123456789") != n || (n > 1 && tok[0] == '0') || n > 9)
				return NULL;
			v = json_array_get(v, (size_t)strtoul(tok, NULL, 10));
		} else {
			return NULL;
		}
	}
	return v;
}

int orders_map_valid(const char *v)
{
	if (!*v || *v == '=')
		return 1;
	if (*v != '/')
		return 0;
	for (const char *p = v; (p = strchr(p, '~')) != NULL; p++)
		if (p[1] != '0' && p[1] != '1')
			return 0;
	return 1;
}

enum val { V_TEXT, V_AMOUNT, V_COUNT, V_SCORE, V_BOOL, V_TIME };

/* Where one of our fields comes from. */
struct mapping {
	size_t off;            /* offsetof(struct orders_http_config, map_…) */
	const char *key;       /* "map_total", for errors */
	const char *obj;       /* our object ("customer", "payment") or NULL */
	const char *field;     /* our key */
	enum val kind;
};

#define M(f, o, k, t) { offsetof(struct orders_http_config, f), #f, o, k, t }
static const struct mapping order_map[] = {
	M(map_id, NULL, "id", V_TEXT),
	M(map_currency, NULL, "currency", V_TEXT), /* first: amounts need it */
	M(map_total, NULL, "total", V_AMOUNT),
	M(map_refunded, NULL, "refunded", V_AMOUNT),
	M(map_email, "customer", "email", V_TEXT),
	M(map_phone, "customer", "phone", V_TEXT),
	M(map_name, "customer", "name", V_TEXT),
	M(map_risk_score, "customer", "risk_score", V_SCORE),
	M(map_chargebacks, "customer", "chargebacks", V_COUNT),
	M(map_payment_id, "payment", "id", V_TEXT),
	M(map_rail, "payment", "rail", V_TEXT),
	M(map_provider, "payment", "provider", V_TEXT),
	M(map_created_at, NULL, "created_at", V_TIME),
	M(map_delivered_at, NULL, "delivered_at", V_TIME),
	M(map_delivery_status, NULL, "delivery_status", V_TEXT),
};
static const struct mapping item_map[] = {
	M(map_item_sku, NULL, "sku", V_TEXT),
	M(map_item_category, NULL, "category", V_TEXT),
	M(map_item_final_sale, NULL, "final_sale", V_BOOL),
	M(map_item_price, NULL, "price", V_AMOUNT),
	M(map_item_quantity, NULL, "quantity", V_COUNT),
};
#undef M

/* Convert one foreign value to ours. *out NULL: leave the field out. */
static enum rd_err convert(json_t *v, enum val kind, const char *cur, json_t **out,
			   const char **why)
{
	char buf[48];
	int64_t i;
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (kind == V_TIME && v)
			*out = json_null(); /* delivered_at: null = not delivered */
		return RD_OK;
	}
	switch (kind) {
	case V_TEXT:
		if (json_is_string(v))
			*out = json_copy(v);
		else if (json_is_integer(v) && snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)) > 0)
			*out = json_string(buf);
		else
			return *why = "expected a string or an integer", RD_EINVAL;
		break;
	case V_AMOUNT:
		if (json_is_integer(v)) {
			*out = json_copy(v);
		} else if (json_is_string(v)) {
			struct money m;
			char text[64];
			snprintf(text, sizeof text, "%s %s", cur ? cur : "", json_string_value(v));
			if (!cur || money_parse(text, &m) != RD_OK)
				return *why = "expected a decimal in the order's currency like \"49.00\"",
				       RD_EINVAL;
			*out = json_integer(m.minor);
		} else {
			return *why = "expected an integer (minor units) or a decimal string "
				      "(never a JSON real)", RD_EINVAL;
		}
		break;
	case V_COUNT:
		if (json_is_integer(v))
			*out = json_copy(v);
		else if (json_is_string(v) && !orders_ext_int(json_string_value(v), &i))
			*out = json_integer(i);
		else
			return *why = "expected an integer", RD_EINVAL;
		break;
	case V_SCORE:
		if (json_is_number(v)) {
			*out = json_copy(v);
		} else if (json_is_string(v)) {
			char *end;
			double d = strtod(json_string_value(v), &end);
			if (!*json_string_value(v) || *end)
				return *why = "expected a number", RD_EINVAL;
			*out = json_real(d);
		} else {
			return *why = "expected a number", RD_EINVAL;
		}
		break;
	case V_BOOL:
		if (json_is_boolean(v))
			*out = json_copy(v);
		else if (json_is_integer(v) && (json_integer_value(v) | 1) == 1)
			*out = json_boolean(json_integer_value(v));
		else if (json_is_string(v) && (!strcmp(json_string_value(v), "true") ||
					       !strcmp(json_string_value(v), "false")))
			*out = json_boolean(!strcmp(json_string_value(v), "true"));
		else
			return *why = "expected true or false", RD_EINVAL;
		break;
	case V_TIME:
		if (json_is_string(v)) {
			*out = json_copy(v);
		} else if (json_is_integer(v) && json_integer_value(v) > 0) {
			i = json_integer_value(v);
			rfc3339_format(i > HTTP_EPOCH_MS_ABOVE ? i / 1000 : i, buf, sizeof buf);
			*out = json_string(buf);
		} else {
			return *why = "expected an RFC 3339 time or epoch seconds", RD_EINVAL;
		}
		break;
	}
	return *out ? RD_OK : RD_ENOMEM;
}

/* Apply table to src into dst; amounts are read in the currency already
 * mapped into doc (map_currency comes before every amount). */
static enum rd_err map_fields(const struct orders_http_config *m, const struct mapping *table,
			      size_t n, json_t *src, json_t *dst, json_t *doc, char *err,
			      size_t errlen)
{
	for (size_t k = 0; k < n; k++) {
		const char *ptr = (const char *)m + table[k].off, *why = NULL;
		const char *cur = json_string_value(json_object_get(doc, "currency"));
		json_t *v, *konst = NULL, *out;
		if (!*ptr)
			continue;
		if (*ptr == '=')
			v = konst = json_string(ptr + 1);
		else
			v = orders_json_pointer(src, ptr);
		enum rd_err e = convert(v, table[k].kind, cur, &out, &why);
		json_decref(konst);
		if (e == RD_EINVAL) {
			snprintf(err, errlen, "%s (%s): %s", table[k].key, ptr, why);
			return e;
		}
		if (e != RD_OK || orders_ext_set(dst, table[k].obj, table[k].field, out) != RD_OK)
			return RD_ENOMEM;
	}
	return RD_OK;
}

enum rd_err orders_http_map(const struct orders_http_config *m, json_t *src, json_t **doc,
			    char *err, size_t errlen)
{
	enum rd_err e;
	json_t *d = json_object(), *items = json_array();
	*doc = NULL;
	if (!d || !items || json_object_set_new(d, "items", items) != 0) {
		json_decref(d);
		return RD_ENOMEM;
	}
	if ((e = map_fields(m, order_map, RD_ARRAY_LEN(order_map), src, d, d, err, errlen)))
		goto out;
	json_t *src_items = m->map_items[0] ? orders_json_pointer(src, m->map_items) : NULL;
	if (m->map_items[0] && !json_is_array(src_items)) {
		snprintf(err, errlen, "map_items (%s): expected an array", m->map_items);
		e = RD_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(src_items); i++) {
		json_t *it = json_object();
		if (!it || json_array_append_new(items, it) != 0) {
			e = RD_ENOMEM;
			goto out;
		}
		if ((e = map_fields(m, item_map, RD_ARRAY_LEN(item_map), json_array_get(src_items, i),
				    it, d, err, errlen)))
			goto out;
	}
out:
	if (e != RD_OK)
		json_decref(d);
	else
		*doc = d;
	return e;
}

enum rd_err orders_http_path(const char *tmpl, const char *id, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	while (*tmpl) {
		if (strncmp(tmpl, "{id}", 4) == 0) {
			for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
				int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					   (*p >= '0' && *p <= '9') || strchr("-._~", *p);
				if (o + (keep ? 1 : 3) >= n)
					return RD_ELIMIT;
				if (keep) {
					out[o++] = (char)*p;
				} else {
					out[o++] = '%';
					out[o++] = hex[*p >> 4];
					out[o++] = hex[*p & 15];
				}
			}
			tmpl += 4;
			continue;
		}
		if (o + 1 >= n)
			return RD_ELIMIT;
		out[o++] = *tmpl++;
	}
	out[o] = '\0';
	return RD_OK;
}

/* ---- requests ------------------------------------------------------------------ */

/* One request with retries on transport failures and 5xx. RD_OK when an
 * answer below 500 came (resp filled: caller frees), RD_EUNAVAIL otherwise
 * (resp freed), RD_ENOMEM. */
static enum rd_err call(struct httpstore *h, const char *method, const char *url,
			const char *body, const char *idem, int retries, struct httpc_resp *resp)
{
	const struct orders_http_config *c = &h->cfg;
	struct httpc_req req = {
		.method = method, .url = url, .timeout_ms = c->timeout_ms,
		.content_type = body ? "application/json" : NULL,
		.body = body, .len = body ? strlen(body) : 0, .idempotency_key = idem,
		.bearer = c->bearer_token[0] ? c->bearer_token : NULL,
		.basic_user = c->username[0] ? c->username : NULL,
		.basic_pass = c->username[0] ? c->password : NULL,
	};
	for (int attempt = 0;; attempt++) {
		CURL *curl = httpc_thread_handle();
		if (!curl)
			return RD_ENOMEM;
		enum rd_err e = httpc_do(curl, &req, resp);
		if (e == RD_ENOMEM) {
			httpc_resp_free(resp);
			return e;
		}
		if (e == RD_OK && resp->status < 500)
			return RD_OK;
		if (e == RD_OK)
			LOG_W("orders", "oms_5xx", "%s %s: HTTP %ld (attempt %d of %d)", method, url,
			      resp->status, attempt + 1, retries + 1);
		httpc_resp_free(resp);
		if (attempt >= retries)
			return RD_EUNAVAIL;
		int ms = HTTP_BACKOFF_MS << (attempt < 4 ? attempt : 4);
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static enum rd_err url_for(const struct httpstore *h, const char *tmpl, const char *id,
			   char *url, size_t n)
{
	size_t bl = strlen(h->cfg.base_url);
	if (bl >= n)
		return RD_ELIMIT;
	memcpy(url, h->cfg.base_url, bl);
	return orders_http_path(tmpl, id, url + bl, n - bl);
}

static enum rd_err http_lookup(void *ctx, redisContext *rc, const char *id, struct order *out)
{
	struct httpstore *h = ctx;
	char url[HTTP_URL_MAX], err[256];
	struct httpc_resp resp;
	json_t *src = NULL, *doc = NULL;
	enum rd_err e;

	(void)rc;
	memset(out, 0, sizeof *out);
	if (!id || !id[0] || strlen(id) >= ORDER_ID_LEN ||
	    url_for(h, h->cfg.lookup_path, id, url, sizeof url) != RD_OK)
		return RD_ENOTFOUND;
	if ((e = call(h, "GET", url, NULL, NULL, h->cfg.retries, &resp)) != RD_OK) {
		if (e == RD_EUNAVAIL)
			orders_prober_note(&h->prober, 0);
		return e;
	}
	orders_prober_note(&h->prober, 1);
	long st = resp.status;
	if (st == 404 || st == 410 || st == 400 || st == 422) {
		e = RD_ENOTFOUND;
	} else if (st < 200 || st > 299) {
		LOG_E("orders", "oms_refused", "GET %s: HTTP %ld (check [orders.http] credentials and "
		      "lookup_path)", url, st);
		e = RD_EUNAVAIL;
	} else if ((src = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		LOG_E("orders", "oms_bad_json", "GET %s: the answer is not JSON", url);
		e = RD_EUNAVAIL;
	} else if ((e = orders_http_map(&h->cfg, src, &doc, err, sizeof err)) != RD_OK) {
		if (e == RD_EINVAL)
			LOG_E("orders", "oms_bad_order", "GET %s: %s", url, err);
		e = e == RD_ENOMEM ? e : RD_EUNAVAIL;
	} else {
		e = orders_ext_finish(doc, id, "http", out);
	}
	json_decref(doc);
	json_decref(src);
	httpc_resp_free(&resp);
	return e;
}

static enum rd_err http_record_refund(void *ctx, redisContext *rc, const char *order_id,
				      const char *refund_id, int64_t amount)
{
	struct httpstore *h = ctx;
	char url[HTTP_URL_MAX];
	struct httpc_resp resp;
	struct order o;
	enum rd_err e;

	if (!refund_id || !refund_id[0] || strlen(refund_id) > HTTP_REFUND_ID_MAX || amount <= 0)
		return RD_EINVAL;
	/* the currency is the order's: read it (and that the order is there) */
	if ((e = http_lookup(ctx, rc, order_id, &o)) != RD_OK)
		return e;
	if (url_for(h, h->cfg.writeback_path, order_id, url, sizeof url) != RD_OK)
		return RD_ENOTFOUND;
	json_t *body = json_pack("{s:s, s:I, s:s}", "refund_id", refund_id, "amount",
				 (json_int_t)amount, "currency", o.currency);
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (!text)
		return RD_ENOMEM;
	e = call(h, h->cfg.writeback_method, url, text, refund_id, h->cfg.retries, &resp);
	free(text);
	if (e != RD_OK) {
		if (e == RD_EUNAVAIL)
			orders_prober_note(&h->prober, 0);
		return e;
	}
	long st = resp.status;
	if (st >= 200 && st <= 299) {
		e = RD_OK;
	} else if (st == 404 || st == 410) {
		e = RD_ENOTFOUND;
	} else if (st == 409 || st == 422) {
		LOG_W("orders", "oms_refund_refused", "%s %s: HTTP %ld: the OMS refuses the refund "
		      "(above what remains?)", h->cfg.writeback_method, url, st);
		e = RD_ELIMIT;
	} else {
		LOG_E("orders", "oms_refused", "%s %s: HTTP %ld (check [orders.http] credentials and "
		      "writeback_path)", h->cfg.writeback_method, url, st);
		e = RD_EUNAVAIL;
	}
	httpc_resp_free(&resp);
	return e;
}

static enum rd_err http_ping(void *ctx)
{
	struct httpstore *h = ctx;
	return atomic_load(&h->prober.up) ? RD_OK : RD_EUNAVAIL;
}

/* The prober: GET base_url, no retries; any answer below 500 is up. */
static enum rd_err http_probe(void *arg)
{
	struct httpstore *h = arg;
	struct httpc_resp resp;
	enum rd_err e = call(h, "GET", h->cfg.base_url, NULL, NULL, 0, &resp);
	if (e == RD_OK)
		httpc_resp_free(&resp);
	return e;
}

const struct orders_store_ops orders_http = {
	.name = "http",
	.lookup = http_lookup,
	.record_refund = http_record_refund,
	.ping = http_ping,
};

enum rd_err orders_http_open(const struct orders_http_config *cfg, void **ctx, char *err,
			     size_t errlen)
{
	*ctx = NULL;
	if (!cfg->base_url[0]) {
		snprintf(err, errlen, "[orders.http] base_url: required");
		return RD_ECONFIG;
	}
	struct httpstore *h = calloc(1, sizeof *h);
	if (!h)
		return RD_ENOMEM;
	h->cfg = *cfg;
	h->prober.probe = http_probe;
	h->prober.arg = h;
	h->prober.interval_ms = ORDERS_PROBE_INTERVAL_MS;
	if (orders_prober_start(&h->prober) != RD_OK) {
		snprintf(err, errlen, "cannot start the orders prober thread");
		free(h);
		return RD_ENOMEM;
	}
	*ctx = h;
	return RD_OK;
}

void orders_http_close(void *ctx)
{
	struct httpstore *h = ctx;
	if (!h)
		return;
	orders_prober_stop(&h->prober);
	free(h);
}
