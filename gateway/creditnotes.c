#include "gateway/creditnotes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/creditnote.h"
#include "agent/templates.h"
#include "common/money.h"
#include "common/util.h"
#include "gateway/gateway.h"

#define CN_FIELDS 16
static const char *const fields[CN_FIELDS] = {
	"number", "issued_at", "issuer", "tax_id", "address", "customer", "order_id", "payment_id",
	"rail", "currency", "amount", "lines", "reason", "refund_id", "seal", "locale",
};

struct doc_job {
	char number[64];
	int json;                 /* Accept: application/json */
	redisReply *r;            /* HMGET of the fields, NULL on failure */
};

static void doc_run(redisContext *rc, void *arg)
{
	struct doc_job *j = arg;
	if (!rc)
		return;
	const char *argv[2 + CN_FIELDS];
	char key[96];
	snprintf(key, sizeof key, "rd:cn:%s", j->number);
	argv[0] = "HMGET";
	argv[1] = key;
	for (size_t i = 0; i < CN_FIELDS; i++)
		argv[2 + i] = fields[i];
	j->r = redisCommandArgv(rc, 2 + CN_FIELDS, argv, NULL);
}

/* &, <, >, " escaped for HTML; caller frees. */
static char *html_escape(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : *p == '"' ? 6 : 1;
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
			      : *p == '"' ? "&quot;" : NULL;
		if (e) {
			memcpy(o, e, strlen(e));
			o += strlen(e);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static void money_text(int64_t minor, const char *cur, const char *locale, char *buf, size_t n)
{
	if (money_format(minor, cur, locale, buf, n) != RD_OK)
		snprintf(buf, n, "%lld %s", (long long)minor, cur);
}

/* The refunded lines as HTML table rows (escaped). */
static char *lines_html(const char *lines, const char *cur, const char *locale)
{
	json_t *a = json_loads(lines, 0, NULL);
	size_t cap = 256, used = 0, i;
	char *out = calloc(1, cap);
	json_t *it;
	json_array_foreach(a, i, it) {
		char price[64], row[640];
		money_text(json_integer_value(json_object_get(it, "price")), cur, locale, price, sizeof price);
		char *sku = html_escape(json_string_value(json_object_get(it, "sku")) ?
						json_string_value(json_object_get(it, "sku")) : "");
		int w = snprintf(row, sizeof row, "<tr><td>%s</td><td class=\"num\">%lld</td><td class=\"num\">%s</td></tr>",
				 sku ? sku : "", (long long)json_integer_value(json_object_get(it, "quantity")), price);
		free(sku);
		if (w < 0 || !out)
			break;
		if (used + (size_t)w + 1 > cap) {
			cap = (used + (size_t)w + 1) * 2;
			char *b = realloc(out, cap);
			if (!b)
				break;
			out = b;
		}
		memcpy(out + used, row, (size_t)w + 1);
		used += (size_t)w;
	}
	json_decref(a);
	return out;
}

static void respond_doc(struct http_exchange *ex, struct doc_job *j)
{
	const char *v[CN_FIELDS];
	for (size_t i = 0; i < CN_FIELDS; i++)
		v[i] = j->r->element[i]->type == REDIS_REPLY_STRING ? j->r->element[i]->str : "";
	int64_t amount = strtoll(v[10], NULL, 10);
	if (j->json) {
		json_t *lines = json_loads(v[11], 0, NULL);
		json_t *o = json_pack("{s:s, s:I, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:s}",
				      "number", v[0], "issued_at", (json_int_t)strtoll(v[1], NULL, 10),
				      "issuer", "name", v[2], "tax_id", v[3], "address", v[4],
				      "customer", v[5], "order_id", v[6], "payment_id", v[7], "rail", v[8],
				      "currency", v[9], "amount", (json_int_t)amount,
				      "lines", lines ? lines : json_array(), "reason", v[12], "refund_id", v[13],
				      "seal", v[14]);
		http_respond_json(ex, 200, o);
		return;
	}
	const char *locale = templates_locale(gw.tpl, v[15], gw.cfg->agent.default_locale);
	char amt[64], date[32];
	money_text(amount, v[9], locale, amt, sizeof amt);
	rfc3339_format(strtoll(v[1], NULL, 10), date, sizeof date);
	date[10] = '\0'; /* the day */
	char *esc[CN_FIELDS] = { 0 };
	for (size_t i = 0; i < CN_FIELDS; i++)
		esc[i] = html_escape(v[i]);
	char *lines = lines_html(v[11], v[9], locale), *page = NULL;
	const char *vars[] = { "number", esc[0], "date", date, "issuer", esc[2], "tax_id", esc[3],
			       "address", esc[4], "customer", esc[5], "order", esc[6], "payment", esc[7],
			       "rail", esc[8], "lines", lines ? lines : "", "amount", amt, "reason", esc[12],
			       "refund_id", esc[13], "seal", esc[14], NULL };
	int ok = 1;
	for (size_t i = 0; i < CN_FIELDS; i++)
		ok &= esc[i] != NULL;
	if (ok && templates_render(gw.tpl, locale, TPL_credit_note_doc, vars, &page) == RD_OK) {
		http_respond(ex, 200, "text/html; charset=utf-8", page, strlen(page));
	} else {
		http_respond_error(ex, 500, "cannot render the credit note");
	}
	free(page);
	free(lines);
	for (size_t i = 0; i < CN_FIELDS; i++)
		free(esc[i]);
}

static void doc_done(struct http_exchange *ex, void *arg)
{
	struct doc_job *j = arg;
	if (ex) {
		if (!j->r || j->r->type != REDIS_REPLY_ARRAY || j->r->elements != CN_FIELDS)
			http_respond_error(ex, 503, "storage unavailable, retry later");
		else if (j->r->element[0]->type != REDIS_REPLY_STRING)
			http_respond_error(ex, 404, "no such credit note");
		else
			respond_doc(ex, j);
	}
	if (j->r)
		freeReplyObject(j->r);
	free(j);
}

static void credit_note(void *ctx, struct http_exchange *ex)
{
	(void)ctx;
	static const char prefix[] = "/v1/credit-notes/";
	const char *number = http_path(ex) + sizeof prefix - 1;
	char exp[32], sig[80], accept[256];
	if (!*number || strlen(number) >= 64 || strchr(number, '/') ||
	    http_query(ex, "exp", exp, sizeof exp) < 0 || http_query(ex, "sig", sig, sizeof sig) < 0 ||
	    !creditnote_link_ok(gw.link_secret, number, exp, sig, now_ms() / 1000)) {
		http_respond_error(ex, 403, "this link is not valid (or has expired)");
		return;
	}
	struct doc_job *j = calloc(1, sizeof *j);
	if (!j) {
		http_respond_error(ex, 503, "out of memory");
		return;
	}
	snprintf(j->number, sizeof j->number, "%s", number);
	j->json = http_header(ex, "accept", accept, sizeof accept) > 0 && strstr(accept, "application/json");
	http_submit(ex, doc_run, doc_done, j);
}

size_t routes_credit_notes(struct http_route *out, size_t max)
{
	if (max < 1)
		return 0;
	out[0] = (struct http_route){ "GET", "/v1/credit-notes/", 1, credit_note, NULL };
	return 1;
}
