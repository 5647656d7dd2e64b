/* config_table.c — every config.ini key: section, name, type, the field it
 * fills, its default (as it would be written in config.ini) and a one-line
 * doc. config.c reads this table; adding a key is adding a line here (and
 * documenting it in config.ini). */
#include "gateway/config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gateway/orders_sql.h"

/* ---- value checks ---------------------------------------------------- */

static const char *check_nonempty(const char *v)
{
	return *v ? NULL : "must not be empty";
}

static const char *check_locale(const char *v)
{
	int ok = isalpha((unsigned char)v[0]);
	for (; ok && *v; v++)
		ok = isalnum((unsigned char)*v) || *v == '-';
	return ok ? NULL : "expected a locale like en or pt-BR";
}

static const char *check_ident(const char *v)
{
	if (!*v)
		return "expected a name like final_sale";
	for (; *v; v++)
		if (!islower((unsigned char)*v) && !isdigit((unsigned char)*v) && *v != '_')
			return "expected lower-case names like final_sale";
	return NULL;
}

static const char *check_redis_url(const char *v)
{
	if ((strncmp(v, "redis://", 8) == 0 && v[8]) || (strncmp(v, "unix://", 7) == 0 && v[7]))
		return NULL;
	return "expected redis://host:port/db or unix:///path/redis.sock?db=0";
}

static const char *check_store(const char *v)
{
	return !strcmp(v, "redis") || !strcmp(v, "postgres") || !strcmp(v, "http")
		       ? NULL : "expected redis, postgres or http";
}

/* Configured SQL: named parameters from names[0..n) only (orders_sql.h),
 * and `must` among them. The reason is built in a static buffer: config
 * loading is single-threaded and copies it at once. */
static const char *check_sql(const char *v, size_t n, const char *must, const char *must2)
{
	static const char *const names[] = { "order_id", "refund_id", "amount" };
	static char why[256];
	char err[200];
	struct orders_sql sql;
	enum rd_err e = orders_sql_translate(v, names, n, &sql, err, sizeof err);
	if (e == RD_ENOMEM)
		return "out of memory";
	if (e != RD_OK) {
		snprintf(why, sizeof why, "%s", err);
		return why;
	}
	int ok1 = 1, ok2 = 1;
	for (size_t i = 0; i < RD_ARRAY_LEN(names); i++) {
		if (must && !strcmp(names[i], must))
			ok1 = orders_sql_uses(&sql, i);
		if (must2 && !strcmp(names[i], must2))
			ok2 = orders_sql_uses(&sql, i);
	}
	orders_sql_free(&sql);
	if (!ok1 || !ok2) {
		snprintf(why, sizeof why, "the statement must use :%s", !ok1 ? must : must2);
		return why;
	}
	return NULL;
}

static const char *check_lookup_sql(const char *v)
{
	return check_sql(v, 1, "order_id", NULL);
}

static const char *check_items_sql(const char *v)
{
	return *v ? check_sql(v, 1, "order_id", NULL) : NULL;
}

static const char *check_refund_sql(const char *v)
{
	return check_sql(v, 3, "order_id", "amount");
}

static const char *check_refund_log_sql(const char *v)
{
	return check_sql(v, 3, "refund_id", NULL);
}

/* "/orders/{id}": a path with the order id in it */
static const char *check_id_path(const char *v)
{
	return v[0] == '/' && strstr(v, "{id}") && !strpbrk(v, " ?#")
		       ? NULL : "expected a path like /orders/{id}";
}

static const char *check_writeback_method(const char *v)
{
	return !strcmp(v, "POST") || !strcmp(v, "PATCH") ? NULL : "expected POST or PATCH";
}

/* a JSON pointer (RFC 6901), "=constant", or empty */
static const char *check_map(const char *v)
{
	if (!*v || *v == '=')
		return NULL;
	if (*v != '/')
		return "expected a JSON pointer like /order/total, =constant, or nothing";
	for (const char *p = v; (p = strchr(p, '~')) != NULL; p++)
		if (p[1] != '0' && p[1] != '1')
			return "in a JSON pointer '~' is followed by 0 ('~') or 1 ('/')";
	return NULL;
}

static const char *check_http_url(const char *v)
{
	if ((strncmp(v, "https://", 8) == 0 && v[8]) || (strncmp(v, "http://", 7) == 0 && v[7]))
		return v[strlen(v) - 1] == '/' ? "no trailing '/'" : NULL;
	return "expected an http:// or https:// URL";
}

static const char *check_http_url_or_empty(const char *v)
{
	return *v ? check_http_url(v) : NULL;
}

/* "refunded=refund_update/pt_BR, *=redress_update/en_US" (or empty) */
static const char *check_wa_templates(const char *v)
{
	while (*v) {
		while (*v == ' ' || *v == ',')
			v++;
		if (!*v)
			break;
		size_t item = strcspn(v, ",");
		const char *eq = memchr(v, '=', item), *sl = memchr(v, '/', item);
		if (!eq || !sl || eq == v || sl < eq + 2 || sl + 1 >= v + item || v[item - 1] == ' ')
			return "expected name=template/lang items, like *=redress_update/pt_BR";
		v += item;
	}
	return NULL;
}

static const char *check_llm_provider(const char *v)
{
	return !strcmp(v, "openai") || !strcmp(v, "anthropic") ? NULL : "expected openai or anthropic";
}

static const char *check_slack_id(const char *v)
{
	for (const char *p = v; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
			return "expected Slack user ids like U024BE7LH";
	return *v ? NULL : "expected Slack user ids like U024BE7LH";
}

static const char *check_origin(const char *v)
{
	if (strcmp(v, "*") == 0)
		return NULL;
	if ((strncmp(v, "https://", 8) == 0 && v[8]) || (strncmp(v, "http://", 7) == 0 && v[7]))
		return strchr(strchr(v, ':') + 3, '/') ? "an origin has no path: http://shop.example" : NULL;
	return "expected origins like https://shop.example (or *)";
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* api_key, *_secret, *_token, password, conninfo — not max_tokens or key_file. */
int config_is_secret(const struct centry *e)
{
	const char *k = e->key;
	return ends_with(k, "key") || ends_with(k, "secret") || ends_with(k, "token") ||
	       ends_with(k, "password") || strcmp(k, "conninfo") == 0;
}

/* Field offsets, checked against the type the entry parses into: a table line
 * pointing at the wrong kind of field does not compile. */
#define CF(f) (((struct config *)0)->f)
#define OFF(f, T) _Generic(CF(f), T: offsetof(struct config, f))
#define STR(s, k, f, chk, d, h) { .section = s, .key = k, .type = T_STRING, \
	.off = OFF(f, char *), .size = sizeof CF(f), .check = chk, .def = d, .doc = h }
#define LISTEN(s, k, f, d, h) { .section = s, .key = k, .type = T_LISTEN, \
	.off = OFF(f, char *), .size = sizeof CF(f), .def = d, .doc = h }
#define BOOL(s, k, f, d, h) { .section = s, .key = k, .type = T_BOOL, \
	.off = OFF(f, int), .def = d, .doc = h }
#define INT(s, k, f, lo, hi, d, h) { .section = s, .key = k, .type = T_INT, \
	.off = OFF(f, int), .min = lo, .max = hi, .def = d, .doc = h }
#define MS(s, k, f, lo, hi, d, h) { .section = s, .key = k, .type = T_MS, \
	.off = OFF(f, int), .min = lo, .max = hi, .def = d, .doc = h }
#define SIZE(s, k, f, lo, hi, d, h) { .section = s, .key = k, .type = T_SIZE, \
	.off = OFF(f, size_t), .min = lo, .max = hi, .def = d, .doc = h }
#define LEVEL(s, k, f, d, h) { .section = s, .key = k, .type = T_LOGLEVEL, \
	.off = OFF(f, enum log_level), .def = d, .doc = h }
#define MONEY(s, k, f, d, h) { .section = s, .key = k, .type = T_MONEY, \
	.off = OFF(f, struct money_list), .def = d, .doc = h }
#define RATIO(s, k, f, d, h) { .section = s, .key = k, .type = T_RATIO, \
	.off = OFF(f, double), .def = d, .doc = h }
#define LIST(s, k, f, n, least, chk, d, h) { .section = s, .key = k, .type = T_STRLIST, \
	.off = offsetof(struct config, f), .size = sizeof CF(f)[0], \
	.count_off = OFF(n, size_t), .max_items = RD_ARRAY_LEN(CF(f)), .min = least, \
	.check = chk, .def = d, .doc = h }


const struct centry config_entries[] = {
	LISTEN("gateway", "listen", gateway.listen, "127.0.0.1:8080",
	       "HTTP listen address, host:port ([v6]:port for IPv6)"),
	INT("gateway", "workers", gateway.workers, 1, 64, "2", "agent worker threads"),
	INT("gateway", "senders", gateway.senders, 1, 32, "1", "outbox sender threads"),
	MS("gateway", "claim_idle_ms", gateway.claim_idle_ms, 1000, 86400000, "30000",
	   "reclaim pending stream entries idle this long, ms"),
	INT("gateway", "stream_retention_s", gateway.stream_retention_s, 1, 2592000, "86400",
	    "keep handled inbound and outbox stream entries this long, s"),
	MS("gateway", "drain_timeout_ms", gateway.drain_timeout_ms, 0, 600000, "10000",
	   "on SIGTERM, longest wait for in-flight work, ms"),
	SIZE("gateway", "max_body_bytes", gateway.max_body_bytes, 1024, 256 * MiB, "3MiB",
	     "request body cap, bytes (KiB/MiB/GiB suffixes accepted)"),
	LEVEL("gateway", "log_level", gateway.log_level, "info", "debug | info | warn | error"),

	STR("redis", "url", redis.url, check_redis_url, "redis://127.0.0.1:6379/0",
	    "redis://host:port/db or unix:///path/redis.sock?db=0"),
	MS("redis", "timeout_ms", redis.timeout_ms, 1, 600000, "2000",
	   "connect and command timeout, ms"),

	BOOL("test_channel", "enabled", test_channel.enabled, "true",
	     "serve POST /v1/test/messages"),
	STR("test_channel", "api_key", test_channel.api_key, NULL, "",
	    "bearer key of the test channel; required when enabled"),
	MS("test_channel", "reply_timeout_ms", test_channel.reply_timeout_ms, 1, 600000, "5000",
	   "how long a test message waits for the reply, ms"),

	STR("agent", "default_locale", agent.default_locale, check_locale, "en",
	    "locale when the customer's is unknown; one of locales"),
	LIST("agent", "locales", agent.locales, agent.n_locales, 1, check_locale, "en, pt-BR, es",
	     "locales the agent answers in (BCP 47)"),
	INT("agent", "max_verify_attempts", agent.max_verify_attempts, 1, 20, "3",
	    "failed order/identity checks before a human takes over"),

	INT("policy", "refund_window_days", policy.refund_window_days, 0, 3650, "30",
	    "days from delivery (or creation) a refund may be asked"),
	LIST("policy", "non_refundable_categories", policy.non_refundable_categories,
	     policy.n_non_refundable, 0, check_ident, "final_sale, gift_card",
	     "item categories never refunded"),
	MONEY("policy", "auto_approve_max", policy.auto_approve_max,
	      "USD 75.00, EUR 70.00, BRL 400.00, USDC 75.00",
	      "largest refund approved without a human, per currency"),
	RATIO("policy", "auto_approve_max_risk", policy.auto_approve_max_risk, "0.25",
	      "highest customer risk score (0..1) still auto-approved"),
	MONEY("policy", "review_from_amount", policy.review_from_amount,
	      "USD 200.00, EUR 180.00, BRL 1000.00, USDC 200.00",
	      "refunds of this amount or more go to a human"),
	INT("policy", "review_from_chargebacks", policy.review_from_chargebacks, 1, 1000, "2",
	    "customers with this many chargebacks or more go to a human"),
	MONEY("policy", "evidence_required_above", policy.evidence_required_above,
	      "USD 100.00, EUR 90.00, BRL 500.00, USDC 100.00",
	      "missing-delivery claims above this go to a human"),

	MONEY("mandate", "per_refund_cap", mandate.per_refund_cap,
	      "USD 150.00, EUR 140.00, BRL 800.00, USDC 150.00",
	      "hard cap per refund; a currency absent here never executes"),
	MONEY("mandate", "daily_cap", mandate.daily_cap,
	      "USD 1000.00, EUR 900.00, BRL 5000.00, USDC 1000.00",
	      "hard cap per currency per UTC day"),

	LIST("rails", "enabled", rails.enabled, rails.n_enabled, 1, check_ident, "sandbox",
	     "rails (payment providers) that may execute refunds"),
	INT("rails", "max_attempts", rails.max_attempts, 1, 1000, "5",
	    "deliveries of a refund turn whose rail outcome stays unknown (5xx, timeout) "
	    "before it goes to a person"),

	STR("rails.stripe", "api_base", stripe.api_base, check_http_url, "https://api.stripe.com",
	    "Stripe API base URL"),
	STR("rails.stripe", "secret_key", stripe.secret_key, NULL, "",
	    "Stripe secret key (give it as REDRESS_RAILS_STRIPE_SECRET_KEY)"),
	STR("rails.stripe", "webhook_secret", stripe.webhook_secret, NULL, "",
	    "endpoint secret: Stripe-Signature is HMAC-SHA256 with it"),
	MS("rails.stripe", "timeout_ms", stripe.timeout_ms, 100, 600000, "10000", "request timeout, ms"),

	STR("rails.pix", "api_base", pix.api_base, check_http_url_or_empty, "",
	    "the PSP's API Pix base URL (Banco Central do Brasil standard)"),
	STR("rails.pix", "token_url", pix.token_url, check_http_url_or_empty, "",
	    "OAuth2 client-credentials token endpoint"),
	STR("rails.pix", "client_id", pix.client_id, NULL, "", "OAuth2 client id"),
	STR("rails.pix", "client_secret", pix.client_secret, NULL, "",
	    "OAuth2 client secret (give it as REDRESS_RAILS_PIX_CLIENT_SECRET)"),
	STR("rails.pix", "cert_file", pix.cert_file, NULL, "", "mutual TLS client certificate, PEM"),
	STR("rails.pix", "key_file", pix.key_file, NULL, "", "mutual TLS client key, PEM"),
	MS("rails.pix", "timeout_ms", pix.timeout_ms, 100, 600000, "10000", "request timeout, ms"),
	INT("rails.pix", "poll_interval_s", pix.poll_interval_s, 1, 86400, "30",
	    "pending devolucoes are polled this often, s"),

	STR("rails.usdc", "api_base", usdc.api_base, check_http_url_or_empty, "",
	    "the USDC wallet provider's REST API base URL"),
	STR("rails.usdc", "api_key", usdc.api_key, NULL, "",
	    "wallet provider API key (give it as REDRESS_RAILS_USDC_API_KEY)"),
	STR("rails.usdc", "agent_id", usdc.agent_id, NULL, "", "our agent id at the wallet provider"),
	MS("rails.usdc", "timeout_ms", usdc.timeout_ms, 100, 600000, "10000", "request timeout, ms"),

	STR("templates", "dir", templates.dir, check_nonempty, "templates",
	    "directory of reply and credit-note templates"),

	STR("issuer", "name", issuer.name, check_nonempty, "Demo Shop", "legal name on credit notes"),
	STR("issuer", "tax_id", issuer.tax_id, NULL, "", "tax id on credit notes"),
	STR("issuer", "address", issuer.address, NULL, "", "address on credit notes"),
	STR("issuer", "credit_note_prefix", issuer.credit_note_prefix, NULL, "NC-",
	    "prefix of credit note numbers"),
	STR("issuer", "link_secret", issuer.link_secret, NULL, "",
	    "signs credit-note links (empty: a random secret at each start)"),
	INT("issuer", "link_ttl_days", issuer.link_ttl_days, 1, 3650, "90",
	    "credit-note links stop working after this many days"),

	STR("site", "public_url", site.public_url, check_http_url, "http://127.0.0.1:8080",
	    "the gateway's address as customers reach it (links in messages)"),

	STR("orders", "store", orders.store, check_store, "redis",
	    "where orders are read: redis, postgres or http"),

	STR("orders.postgres", "conninfo", orders_pg.conninfo, NULL, "",
	    "libpq conninfo or URI (give it as REDRESS_ORDERS_POSTGRES_CONNINFO)"),
	INT("orders.postgres", "pool_size", orders_pg.pool_size, 1, 64, "4",
	    "connections, shared by the workers"),
	MS("orders.postgres", "statement_timeout_ms", orders_pg.statement_timeout_ms, 100, 600000,
	   "2000", "per statement, and longest wait for a connection, ms"),
	STR("orders.postgres", "lookup_sql", orders_pg.lookup_sql, check_lookup_sql,
	    "SELECT o.*, c.risk_score, c.chargebacks FROM orders o LEFT JOIN customers c "
	    "ON c.email = o.customer_email WHERE o.id = :order_id",
	    "one order row for :order_id, columns by name"),
	STR("orders.postgres", "items_sql", orders_pg.items_sql, check_items_sql,
	    "SELECT sku, category, final_sale, price, quantity FROM order_items "
	    "WHERE order_id = :order_id ORDER BY line",
	    "the order's item rows (empty: none)"),
	STR("orders.postgres", "refund_log_sql", orders_pg.refund_log_sql, check_refund_log_sql,
	    "INSERT INTO refunds (order_id, refund_id, amount) VALUES (:order_id, :refund_id, "
	    ":amount) ON CONFLICT (refund_id) DO NOTHING",
	    "records :refund_id; 0 rows = a replay"),
	STR("orders.postgres", "refund_sql", orders_pg.refund_sql, check_refund_sql,
	    "UPDATE orders SET refunded_amount = refunded_amount + :amount "
	    "WHERE id = :order_id AND refunded_amount + :amount <= amount",
	    "guarded write-back: 1 row = counted"),

	STR("orders.http", "base_url", orders_http.base_url, check_http_url_or_empty, "",
	    "the OMS/ERP REST API base URL, no trailing slash"),
	STR("orders.http", "bearer_token", orders_http.bearer_token, NULL, "",
	    "Authorization: Bearer token (give it as REDRESS_ORDERS_HTTP_BEARER_TOKEN)"),
	STR("orders.http", "username", orders_http.username, NULL, "",
	    "HTTP basic auth user, instead of a bearer token"),
	STR("orders.http", "password", orders_http.password, NULL, "",
	    "HTTP basic auth password (give it as REDRESS_ORDERS_HTTP_PASSWORD)"),
	MS("orders.http", "timeout_ms", orders_http.timeout_ms, 100, 600000, "3000",
	   "request timeout, per attempt, ms"),
	INT("orders.http", "retries", orders_http.retries, 0, 10, "2",
	    "more attempts after a 5xx or a timeout (never after a 4xx)"),
	STR("orders.http", "lookup_path", orders_http.lookup_path, check_id_path, "/orders/{id}",
	    "GET base_url + this; {id} is URL-escaped"),
	STR("orders.http", "writeback_method", orders_http.writeback_method, check_writeback_method,
	    "POST", "POST or PATCH"),
	STR("orders.http", "writeback_path", orders_http.writeback_path, check_id_path,
	    "/orders/{id}/refunds", "where a refund is written back"),
	STR("orders.http", "map_id", orders_http.map_id, check_map, "/id", "order id"),
	STR("orders.http", "map_currency", orders_http.map_currency, check_map, "/currency",
	    "currency code"),
	STR("orders.http", "map_total", orders_http.map_total, check_map, "/total",
	    "amount paid (integer: minor units; \"49.00\": major)"),
	STR("orders.http", "map_refunded", orders_http.map_refunded, check_map, "/refunded",
	    "amount refunded so far"),
	STR("orders.http", "map_email", orders_http.map_email, check_map, "/customer/email",
	    "customer email"),
	STR("orders.http", "map_phone", orders_http.map_phone, check_map, "/customer/phone",
	    "customer phone"),
	STR("orders.http", "map_name", orders_http.map_name, check_map, "/customer/name",
	    "customer name"),
	STR("orders.http", "map_risk_score", orders_http.map_risk_score, check_map,
	    "/customer/risk_score", "customer risk score, 0..1"),
	STR("orders.http", "map_chargebacks", orders_http.map_chargebacks, check_map,
	    "/customer/chargebacks", "customer chargebacks"),
	STR("orders.http", "map_payment_id", orders_http.map_payment_id, check_map, "/payment/id",
	    "the payment provider's payment id"),
	STR("orders.http", "map_rail", orders_http.map_rail, check_map, "/payment/rail",
	    "how it was paid: card, pix, usdc"),
	STR("orders.http", "map_provider", orders_http.map_provider, check_map, "/payment/provider",
	    "who executes refunds: sandbox, stripe"),
	STR("orders.http", "map_created_at", orders_http.map_created_at, check_map, "/created_at",
	    "order time (RFC 3339 or epoch seconds)"),
	STR("orders.http", "map_delivered_at", orders_http.map_delivered_at, check_map,
	    "/delivered_at", "delivery time (null: not delivered)"),
	STR("orders.http", "map_delivery_status", orders_http.map_delivery_status, check_map,
	    "/delivery_status", "delivered, in_transit, lost"),
	STR("orders.http", "map_items", orders_http.map_items, check_map, "/items",
	    "the items array"),
	STR("orders.http", "map_item_sku", orders_http.map_item_sku, check_map, "/sku",
	    "in each item: sku"),
	STR("orders.http", "map_item_category", orders_http.map_item_category, check_map,
	    "/category", "in each item: category"),
	STR("orders.http", "map_item_final_sale", orders_http.map_item_final_sale, check_map,
	    "/final_sale", "in each item: final sale (true/false)"),
	STR("orders.http", "map_item_price", orders_http.map_item_price, check_map, "/price",
	    "in each item: unit price"),
	STR("orders.http", "map_item_quantity", orders_http.map_item_quantity, check_map,
	    "/quantity", "in each item: quantity"),

	BOOL("whatsapp", "enabled", whatsapp.enabled, "false", "serve /webhooks/whatsapp"),
	STR("whatsapp", "verify_token", whatsapp.verify_token, NULL, "",
	    "token Meta sends in the verification handshake"),
	STR("whatsapp", "app_secret", whatsapp.app_secret, NULL, "",
	    "app secret: X-Hub-Signature-256 is HMAC-SHA256 of the body with it"),
	STR("whatsapp", "access_token", whatsapp.access_token, NULL, "",
	    "Graph API bearer token (give it as REDRESS_WHATSAPP_ACCESS_TOKEN)"),
	STR("whatsapp", "phone_number_id", whatsapp.phone_number_id, NULL, "",
	    "the WhatsApp Business phone number id replies are sent from"),
	STR("whatsapp", "graph_api_base", whatsapp.graph_api_base, check_http_url,
	    "https://graph.facebook.com/v21.0", "Graph API base URL, version included"),
	INT("whatsapp", "max_messages_per_second", whatsapp.max_messages_per_second, 1, 1000, "80",
	    "outbound messages per second per phone number"),
	STR("whatsapp", "templates", whatsapp.templates, check_wa_templates, "",
	    "approved templates for replies outside the 24 h window: name=template/lang, …"),
	INT("whatsapp", "service_window_s", whatsapp.service_window_s, 60, 30 * 86400, "86400",
	    "free-form replies only this long after the customer's last message, s"),
	MS("whatsapp", "timeout_ms", whatsapp.timeout_ms, 100, 600000, "10000",
	   "Graph API request timeout, ms"),

	BOOL("slack", "enabled", slack.enabled, "false",
	     "serve /webhooks/slack/events and /webhooks/slack/interactivity"),
	STR("slack", "signing_secret", slack.signing_secret, NULL, "",
	    "app signing secret: X-Slack-Signature is HMAC-SHA256 with it"),
	STR("slack", "bot_token", slack.bot_token, NULL, "",
	    "bot token (xoxb-…) for the Web API (give it as REDRESS_SLACK_BOT_TOKEN)"),
	STR("slack", "api_base", slack.api_base, check_http_url, "https://slack.com/api",
	    "Web API base URL, no trailing slash"),
	STR("slack", "review_channel", slack.review_channel, NULL, "",
	    "channel id where review cards are posted (empty: no cards)"),
	LIST("slack", "reviewers", slack.reviewers, slack.n_reviewers, 0, check_slack_id, "",
	     "Slack user ids allowed to approve or deny; empty = anyone in the review channel"),
	MS("slack", "timeout_ms", slack.timeout_ms, 100, 600000, "10000", "Web API request timeout, ms"),

	BOOL("webchat", "enabled", webchat.enabled, "true",
	     "serve the chat bubble (/webchat/) and its WebSocket (/webchat/ws)"),
	LIST("webchat", "allowed_origins", webchat.allowed_origins, webchat.n_allowed_origins, 0,
	     check_origin, "", "pages that may open the chat, besides [site] public_url (\"*\": any)"),
	INT("webchat", "max_message_bytes", webchat.max_message_bytes, 256, 1 << 20, "4096",
	    "largest frame a browser may send, bytes"),
	INT("webchat", "session_ttl_days", webchat.session_ttl_days, 1, 3650, "30",
	    "a chat session idle this long is forgotten"),
	STR("webchat", "assets_dir", webchat.assets_dir, check_nonempty, "channels/webchat",
	    "directory of widget.js and index.html"),

	INT("limits", "customer_messages_per_minute", limits.customer_messages_per_minute, 0, 100000,
	    "30", "messages one customer (channel + user) may send a minute; more are kept, not "
	    "acted on, and answered once politely; 0: no limit"),
	INT("limits", "ip_requests_per_minute", limits.ip_requests_per_minute, 0, 10000000, "600",
	    "requests a minute from one address to the web chat and the test channel (never "
	    "the platform webhooks); 0: no limit"),

	INT("review", "ttl_days", review.ttl_days, 1, 365, "7",
	    "review tickets expire after this many days; the customer is told"),
	INT("review", "sweep_interval_s", review.sweep_interval_s, 1, 86400, "60",
	    "how often open tickets are checked for expiry, s"),

	BOOL("llm", "enabled", llm.enabled, "false",
	     "ask an LLM what customers mean (the policy still decides everything)"),
	STR("llm", "provider", llm.provider, check_llm_provider, "openai",
	    "openai (Chat Completions: also vLLM, llama.cpp, Ollama) or anthropic (Messages)"),
	STR("llm", "base_url", llm.base_url, check_http_url_or_empty, "",
	    "API base URL, no trailing slash; empty: the provider's public API"),
	STR("llm", "model", llm.model, NULL, "", "model name; required when enabled"),
	STR("llm", "api_key", llm.api_key, NULL, "",
	    "API key (give it as REDRESS_LLM_API_KEY); empty for servers that want none"),
	MS("llm", "timeout_ms", llm.timeout_ms, 100, 120000, "3000",
	   "longest wait for one answer, connect included, ms; then the built-in understanding"),
	INT("llm", "max_tokens", llm.max_tokens, 16, 32768, "512", "largest answer, tokens"),
	RATIO("llm", "temperature", llm.temperature, "0", "sampling temperature, 0..1"),
	BOOL("llm", "phrase_replies", llm.phrase_replies, "false",
	     "let the model phrase the free text of replies (slots, amounts and links stay)"),
};

const size_t config_n_entries = RD_ARRAY_LEN(config_entries);
_Static_assert(RD_ARRAY_LEN(config_entries) <= CONFIG_MAX_ENTRIES, "raise CONFIG_MAX_ENTRIES");
