/* test_order.c — agent/order.c: parsing, validation, relative times,
 * identity checks, and every line of demo/orders.jsonl. Run from the repo root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/order.h"
#include "common/util.h"

#define NOW INT64_C(1795168800) /* 2026-11-20T10:00:00Z */
#define DEMO_ORDERS "demo/orders.jsonl"

static const char good_line[] =
	"{\"id\": \"8421\", \"currency\": \"BRL\", \"total\": 18600, \"refunded\": 0,"
	" \"customer\": {\"name\": \"Marina\", \"email\": \"marina@example.com\","
	" \"phone\": \"+5511987654321\", \"risk_score\": 0.05, \"chargebacks\": 0},"
	" \"items\": [{\"sku\": \"TSHIRT-001\", \"category\": \"apparel\", \"final_sale\": false,"
	" \"price\": 18600, \"quantity\": 1}],"
	" \"payment\": {\"rail\": \"pix\", \"provider\": \"sandbox\","
	" \"id\": \"E18236120202611201530s0123456789\"},"
	" \"created_at\": \"-2d\", \"delivered_at\": \"-1d\", \"delivery_status\": \"delivered\"}";

/* The good line as a document (caller decrefs). */
static json_t *good_doc(void)
{
	json_error_t e;
	json_t *doc = json_loads(good_line, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(doc);
	return doc;
}

/* Set (v non-NULL, reference taken) or delete (v NULL) the value at a dotted
 * path like "customer.email" or "items.0.price". */
static void mutate(json_t *doc, const char *path, json_t *v)
{
	char buf[128], *save = NULL, *seg, *next;
	json_t *cur = doc;
	snprintf(buf, sizeof buf, "%s", path);
	seg = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save)) != NULL) {
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(seg, NULL, 10))
					 : json_object_get(cur, seg);
		assert_non_null(cur);
		seg = next;
	}
	if (json_is_array(cur)) {
		size_t i = strtoul(seg, NULL, 10);
		if (v)
			assert_int_equal(json_array_set_new(cur, i, v), 0);
		else
			assert_int_equal(json_array_remove(cur, i), 0);
	} else if (v) {
		assert_int_equal(json_object_set_new(cur, seg, v), 0);
	} else {
		assert_int_equal(json_object_del(cur, seg), 0);
	}
}

/* order_from_json on the good document with one change; returns the result
 * and leaves the reason in err. */
static enum rd_err parse_mutated(const char *path, json_t *v, struct order *o, char *err,
				 size_t errlen)
{
	json_t *doc = good_doc();
	enum rd_err e;
	mutate(doc, path, v);
	e = order_from_json(doc, NOW, o, err, errlen);
	json_decref(doc);
	return e;
}

static void test_good_line(void **state)
{
	struct order o;
	json_t *doc = NULL;
	char err[256];
	(void)state;
	assert_int_equal(order_parse_line(good_line, strlen(good_line), NOW, &o, &doc, err,
					  sizeof err), RD_OK);
	assert_string_equal(err, "");
	assert_string_equal(o.id, "8421");
	assert_string_equal(o.currency, "BRL");
	assert_int_equal(o.total, 18600);
	assert_int_equal(o.refunded, 0);
	assert_int_equal(order_remaining(&o), 18600);
	assert_string_equal(o.customer.name, "Marina");
	assert_string_equal(o.customer.email, "marina@example.com");
	assert_string_equal(o.customer.phone, "+5511987654321");
	assert_true(o.customer.risk_score > 0.049 && o.customer.risk_score < 0.051);
	assert_int_equal(o.customer.chargebacks, 0);
	assert_int_equal(o.n_items, 1);
	assert_string_equal(o.items[0].sku, "TSHIRT-001");
	assert_string_equal(o.items[0].category, "apparel");
	assert_int_equal(o.items[0].final_sale, 0);
	assert_int_equal(o.items[0].price, 18600);
	assert_int_equal(o.items[0].quantity, 1);
	assert_string_equal(o.payment.rail, "pix");
	assert_string_equal(o.payment.provider, "sandbox");
	assert_string_equal(o.payment.id, "E18236120202611201530s0123456789");
	assert_int_equal(o.created_at, NOW - 2 * 86400);
	assert_int_equal(o.delivered_at, NOW - 86400);
	assert_string_equal(o.delivery_status, "delivered");
	/* relative times written back as RFC 3339 */
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "created_at")),
			    "2026-11-18T10:00:00Z");
	assert_string_equal(json_string_value(json_object_get(doc, "delivered_at")),
			    "2026-11-19T10:00:00Z");
	json_decref(doc);

	/* doc_out may be NULL */
	assert_int_equal(order_parse_line(good_line, strlen(good_line), NOW, &o, NULL, err,
					  sizeof err), RD_OK);
}

static void test_offsets(void **state)
{
	static const struct { const char *s; int64_t secs; } ok[] = {
		{ "-2d", -2 * 86400 }, { "-36h", -36 * 3600 }, { "-90m", -90 * 60 },
		{ "-30s", -30 }, { "+1h", 3600 }, { "1h", 3600 }, { "-0s", 0 },
		{ "-999999999s", -999999999 },
	};
	static const char *const bad[] = {
		"", "-", "-d", "-2", "2", "-2w", "--2d", "-2dd", " -2d", "-2d ", "-2 d",
		"-1000000000d", "2026-11-20T10:00:00Z", "-2D", "d2",
	};
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t secs = 12345;
		assert_int_equal(order_parse_offset(ok[i].s, &secs), RD_OK);
		assert_int_equal(secs, ok[i].secs);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t secs;
		if (order_parse_offset(bad[i], &secs) != RD_EINVAL)
			fail_msg("offset \"%s\" accepted", bad[i]);
	}
	assert_int_equal(order_parse_offset(NULL, &(int64_t){ 0 }), RD_EINVAL);
}

/* Every relative form inside a document, resolved and written back. */
static void test_relative_times_in_doc(void **state)
{
	static const struct { const char *rel; const char *abs; int64_t t; } cases[] = {
		{ "-2d", "2026-11-18T10:00:00Z", NOW - 172800 },
		{ "-36h", "2026-11-18T22:00:00Z", NOW - 129600 },
		{ "-90m", "2026-11-20T08:30:00Z", NOW - 5400 },
		{ "-30s", "2026-11-20T09:59:30Z", NOW - 30 },
		{ "+1d", "2026-11-21T10:00:00Z", NOW + 86400 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *doc = good_doc();
		struct order o;
		char err[256];
		mutate(doc, "created_at", json_string(cases[i].rel));
		mutate(doc, "delivered_at", json_string(cases[i].rel));
		assert_int_equal(order_from_json(doc, NOW, &o, err, sizeof err), RD_OK);
		assert_int_equal(o.created_at, cases[i].t);
		assert_int_equal(o.delivered_at, cases[i].t);
		assert_string_equal(json_string_value(json_object_get(doc, "created_at")),
				    cases[i].abs);
		assert_string_equal(json_string_value(json_object_get(doc, "delivered_at")),
				    cases[i].abs);
		/* a second pass over the written-back document gives the same order */
		struct order again;
		assert_int_equal(order_from_json(doc, NOW + 999, &again, err, sizeof err), RD_OK);
		assert_int_equal(again.created_at, cases[i].t);
		json_decref(doc);
	}
}

static void test_rfc3339_times(void **state)
{
	static const struct { const char *s; int64_t t; } cases[] = {
		{ "2026-11-20T10:00:00Z", NOW },
		{ "2026-11-20T11:00:00+01:00", NOW },
		{ "2026-11-20T07:00:00-03:00", NOW },
		{ "2026-11-20T10:00:00.250Z", NOW },
		{ "2026-11-20t10:00:00z", NOW },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *doc = good_doc();
		struct order o;
		char err[256];
		mutate(doc, "created_at", json_string(cases[i].s));
		assert_int_equal(order_from_json(doc, NOW, &o, err, sizeof err), RD_OK);
		assert_int_equal(o.created_at, cases[i].t);
		/* absolute times are left as they were */
		assert_string_equal(json_string_value(json_object_get(doc, "created_at")),
				    cases[i].s);
		json_decref(doc);
	}
}

static void test_delivered_at_optional(void **state)
{
	struct order o;
	char err[256];
	(void)state;
	assert_int_equal(parse_mutated("delivered_at", json_null(), &o, err, sizeof err), RD_OK);
	assert_int_equal(o.delivered_at, 0);
	assert_int_equal(parse_mutated("delivered_at", NULL, &o, err, sizeof err), RD_OK);
	assert_int_equal(o.delivered_at, 0);
	assert_int_equal(o.created_at, NOW - 2 * 86400);
}

static void test_optional_defaults(void **state)
{
	static const char line[] =
		"{\"id\": 55419, \"currency\": \"USD\", \"total\": 100, \"customer\": {},"
		" \"items\": [{\"price\": 100}], \"payment\": {\"rail\": \"card\","
		" \"provider\": \"sandbox\", \"id\": \"pi_1\"}, \"created_at\": \"-1h\"}";
	struct order o;
	char err[256];
	(void)state;
	assert_int_equal(order_parse_line(line, strlen(line), NOW, &o, NULL, err, sizeof err),
			 RD_OK);
	assert_string_equal(o.id, "55419"); /* integer id stored as text */
	assert_int_equal(o.refunded, 0);
	assert_string_equal(o.customer.name, "");
	assert_string_equal(o.customer.email, "");
	assert_string_equal(o.customer.phone, "");
	assert_true(o.customer.risk_score == 0.0);
	assert_int_equal(o.customer.chargebacks, 0);
	assert_int_equal(o.items[0].quantity, 1);
	assert_string_equal(o.items[0].sku, "");
	assert_int_equal(o.delivered_at, 0);
	assert_string_equal(o.delivery_status, "");
}

static void test_missing_required(void **state)
{
	static const struct { const char *path, *err; } cases[] = {
		{ "id", "id: required" },
		{ "currency", "currency: required" },
		{ "total", "total: required" },
		{ "customer", "customer: required" },
		{ "items", "items: required" },
		{ "payment", "payment: required" },
		{ "created_at", "created_at: required" },
		{ "payment.rail", "payment.rail: required" },
		{ "payment.provider", "payment.provider: required" },
		{ "payment.id", "payment.id: required" },
		{ "items.0.price", "items[0].price: required" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct order o;
		char err[256];
		assert_int_equal(parse_mutated(cases[i].path, NULL, &o, err, sizeof err), RD_EINVAL);
		assert_string_equal(err, cases[i].err);
		assert_string_equal(o.id, ""); /* *out is zeroed on error */
	}
}

/* One change to the good document and the exact reason expected. */
struct bad_case {
	const char *path;
	json_t *(*make)(void);
	const char *err;
};

static json_t *real_186(void) { return json_real(186.0); }
static json_t *str_18600(void) { return json_string("18600"); }
static json_t *int_neg(void) { return json_integer(-1); }
static json_t *int_0(void) { return json_integer(0); }
static json_t *int_big(void) { return json_integer(20000); }
static json_t *real_15(void) { return json_real(1.5); }
static json_t *str_yes(void) { return json_string("yes"); }
static json_t *str_empty(void) { return json_string(""); }
static json_t *str_blank(void) { return json_string("   "); }
static json_t *j_null(void) { return json_null(); }
static json_t *j_true(void) { return json_true(); }
static json_t *j_obj(void) { return json_object(); }
static json_t *j_arr(void) { return json_array(); }
static json_t *real_id(void) { return json_real(8421.0); }
static json_t *cur_xyz(void) { return json_string("XYZ"); }
static json_t *cur_lower(void) { return json_string("usd"); }
static json_t *cur_long(void) { return json_string("DOLLARS\"\n"); }
static json_t *phone_spaced(void) { return json_string("+55 11 98765-4321"); }
static json_t *phone_noplus(void) { return json_string("5511987654321"); }
static json_t *phone_short(void) { return json_string("+1234567"); }
static json_t *phone_long(void) { return json_string("+1234567890123456"); }
static json_t *email_noat(void) { return json_string("marina.example.com"); }
static json_t *time_bad(void) { return json_string("yesterday"); }
static json_t *time_far(void) { return json_string("-999999999d"); }
static json_t *time_old(void) { return json_string("1969-12-31T23:59:59Z"); }
static json_t *time_num(void) { return json_integer(1795168800); }
static json_t *ctrl_name(void) { return json_string("Mar\tina"); }
static json_t *long_name(void)
{
	char s[200];
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	return json_string(s);
}
static json_t *nul_sku(void) { return json_stringn("AB\0CD", 5); }

static void test_wrong_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "total", real_186, "total: expected an integer (minor units)" },
		{ "total", str_18600, "total: expected an integer (minor units)" },
		{ "total", j_null, "total: expected an integer (minor units)" },
		{ "total", int_neg, "total: must not be negative" },
		{ "refunded", real_186, "refunded: expected an integer (minor units)" },
		{ "refunded", int_neg, "refunded: must not be negative" },
		{ "refunded", int_big, "refunded: must be between 0 and total" },
		{ "items.0.price", real_186, "items[0].price: expected an integer (minor units)" },
		{ "items.0.price", str_18600, "items[0].price: expected an integer (minor units)" },
		{ "items.0.quantity", int_0, "items[0].quantity: must be between 1 and 2147483647" },
		{ "items.0.quantity", real_15, "items[0].quantity: expected an integer" },
		{ "items.0.final_sale", str_yes, "items[0].final_sale: expected true or false" },
		{ "items.0.sku", int_0, "items[0].sku: expected a string" },
		{ "items.0.sku", nul_sku, "items[0].sku: contains a NUL byte" },
		{ "items.0", str_yes, "items[0]: expected an object" },
		{ "id", real_id, "id: expected a string or an integer" },
		{ "id", j_true, "id: expected a string or an integer" },
		{ "id", int_neg, "id: must not be negative" },
		{ "id", str_empty, "id: must not be empty" },
		{ "currency", int_0, "currency: expected a string" },
		{ "currency", cur_xyz, "currency: unknown currency \"XYZ\"" },
		{ "currency", cur_lower, "currency: unknown currency \"usd\"" },
		{ "currency", cur_long, "currency: unknown currency \"DOLLARS??\"" },
		{ "customer", j_arr, "customer: expected an object" },
		{ "customer", j_null, "customer: expected an object" },
		{ "items", j_obj, "items: expected an array" },
		{ "payment", str_yes, "payment: expected an object" },
		{ "customer.email", int_0, "customer.email: expected a string" },
		{ "customer.email", email_noat, "customer.email: expected an address with '@'" },
		{ "customer.name", ctrl_name, "customer.name: contains a control character" },
		{ "customer.name", long_name, "customer.name: too long (at most 127 bytes)" },
		{ "customer.phone", phone_spaced,
		  "customer.phone: expected E.164 like \"+5511987654321\"" },
		{ "customer.phone", phone_noplus,
		  "customer.phone: expected E.164 like \"+5511987654321\"" },
		{ "customer.phone", phone_short,
		  "customer.phone: expected E.164 like \"+5511987654321\"" },
		{ "customer.phone", phone_long,
		  "customer.phone: expected E.164 like \"+5511987654321\"" },
		{ "customer.risk_score", real_15,
		  "customer.risk_score: expected a number between 0 and 1" },
		{ "customer.risk_score", str_yes,
		  "customer.risk_score: expected a number between 0 and 1" },
		{ "customer.chargebacks", int_neg,
		  "customer.chargebacks: must be between 0 and 2147483647" },
		{ "customer.chargebacks", real_15, "customer.chargebacks: expected an integer" },
		{ "payment.id", str_empty, "payment.id: must not be empty" },
		{ "payment.rail", str_blank, "payment.rail: must not be empty" },
		{ "payment.provider", j_null, "payment.provider: expected a string" },
		{ "created_at", time_bad,
		  "created_at: expected an RFC 3339 time or an offset like \"-2d\"" },
		{ "created_at", time_num,
		  "created_at: expected an RFC 3339 time or an offset like \"-2d\"" },
		{ "created_at", time_far, "created_at: out of range" },
		{ "created_at", time_old, "created_at: out of range" },
		{ "delivered_at", time_bad,
		  "delivered_at: expected an RFC 3339 time or an offset like \"-2d\"" },
		{ "delivery_status", int_0, "delivery_status: expected a string" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct order o;
		char err[256];
		enum rd_err e = parse_mutated(cases[i].path, cases[i].make(), &o, err, sizeof err);
		if (e != RD_EINVAL || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu (%s): got %d \"%s\", want \"%s\"", i, cases[i].path,
				 (int)e, err, cases[i].err);
	}
}

static void test_good_values(void **state)
{
	static const struct { const char *path; json_t *(*make)(void); } cases[] = {
		{ "customer.risk_score", int_0 },   /* an integer score is fine */
		{ "customer.email", j_null },       /* optional: null is "" */
		{ "customer.phone", str_empty },
		{ "items", j_arr },                 /* no items */
		{ "refunded", int_0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct order o;
		char err[256];
		if (parse_mutated(cases[i].path, cases[i].make(), &o, err, sizeof err) != RD_OK)
			fail_msg("case %s: %s", cases[i].path, err);
	}
	struct order o;
	char err[256];
	assert_int_equal(parse_mutated("customer.risk_score", json_integer(1), &o, err, sizeof err),
			 RD_OK);
	assert_true(o.customer.risk_score == 1.0);
	assert_int_equal(parse_mutated("customer.email", json_string("  Marina@Example.COM \t"),
				       &o, err, sizeof err), RD_OK);
	assert_string_equal(o.customer.email, "Marina@Example.COM");
	assert_int_equal(parse_mutated("customer.phone", json_string(" +12345678 "), &o, err,
				       sizeof err), RD_OK);
	assert_string_equal(o.customer.phone, "+12345678");
	assert_int_equal(parse_mutated("customer.phone", json_string("+123456789012345"), &o, err,
				       sizeof err), RD_OK);
	assert_int_equal(parse_mutated("refunded", json_integer(18600), &o, err, sizeof err), RD_OK);
	assert_int_equal(order_remaining(&o), 0);
	assert_int_equal(parse_mutated("currency", json_string("USDC"), &o, err, sizeof err), RD_OK);
	assert_string_equal(o.currency, "USDC");
}

static void test_too_many_items(void **state)
{
	json_t *doc = good_doc(), *items = json_object_get(doc, "items");
	struct order o;
	char err[256];
	(void)state;
	for (int i = 1; i < ORDER_MAX_ITEMS; i++)
		assert_int_equal(json_array_append_new(items, json_deep_copy(json_array_get(items, 0))),
				 0);
	assert_int_equal(order_from_json(doc, NOW, &o, err, sizeof err), RD_OK);
	assert_int_equal(o.n_items, ORDER_MAX_ITEMS);
	assert_int_equal(json_array_append_new(items, json_deep_copy(json_array_get(items, 0))), 0);
	assert_int_equal(order_from_json(doc, NOW, &o, err, sizeof err), RD_EINVAL);
	assert_string_equal(err, "items: at most 32 items");
	json_decref(doc);
}

static void test_bad_json(void **state)
{
	static const char *const lines[] = {
		/* duplicate keys, top level and nested */
		"{\"id\": \"1\", \"id\": \"2\"}",
		"{\"id\": \"1\", \"customer\": {\"email\": \"a@b.c\", \"email\": \"d@e.f\"}}",
		"{\"id\": \"1\"",
		"{\"id\": \"1\"} trailing",
		"",
		"{\"id\": \"a\\u0000b\"}",
		"\"just a string\"",
	};
	(void)state;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct order o;
		json_t *doc = (json_t *)1;
		char err[256];
		assert_int_equal(order_parse_line(lines[i], strlen(lines[i]), NOW, &o, &doc, err,
						  sizeof err), RD_EPROTO);
		assert_null(doc);
		assert_non_null(strstr(err, "invalid JSON"));
		assert_null(strstr(err, "near")); /* no input echoed */
	}
	struct order o;
	char err[256];
	static const char dup[] = "{\"id\": \"1\", \"id\": \"2\"}";
	assert_int_equal(order_parse_line(dup, strlen(dup), NOW, &o, NULL, err, sizeof err),
			 RD_EPROTO);
	assert_non_null(strstr(err, "duplicate object key"));

	static const char arr[] = "[1, 2]";
	assert_int_equal(order_parse_line(arr, strlen(arr), NOW, &o, NULL, err, sizeof err),
			 RD_EINVAL);
	assert_string_equal(err, "order: expected a JSON object");
}

static void test_unknown_keys_kept(void **state)
{
	json_t *doc = good_doc(), *out = NULL;
	struct order o;
	char err[256], *line;
	(void)state;
	mutate(doc, "notes", json_string("gift wrap"));
	mutate(doc, "customer.vip", json_true());
	mutate(doc, "items.0.color", json_string("blue"));
	mutate(doc, "payment.extra", json_pack("{s:i}", "fee", 42));
	line = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_non_null(line);
	assert_int_equal(order_parse_line(line, strlen(line), NOW, &o, &out, err, sizeof err),
			 RD_OK);
	free(line);
	assert_string_equal(json_string_value(json_object_get(out, "notes")), "gift wrap");
	assert_true(json_is_true(json_object_get(json_object_get(out, "customer"), "vip")));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(out, "items"), 0), "color")),
			    "blue");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
				 json_object_get(out, "payment"), "extra"), "fee")), 42);
	json_decref(out);
}

static void test_identity(void **state)
{
	struct order o;
	char err[256];
	(void)state;
	assert_int_equal(order_parse_line(good_line, strlen(good_line), NOW, &o, NULL, err,
					  sizeof err), RD_OK);
	assert_true(order_identity_matches(&o, "marina@example.com", NULL));
	assert_true(order_identity_matches(&o, "Marina@EXAMPLE.com", NULL));
	assert_true(order_identity_matches(&o, "  marina@example.com\n", NULL));
	assert_false(order_identity_matches(&o, "marina@example.org", NULL));
	assert_false(order_identity_matches(&o, "marina@example.co", NULL));
	assert_false(order_identity_matches(&o, "xmarina@example.com", NULL));
	assert_true(order_identity_matches(&o, NULL, "+5511987654321"));
	assert_true(order_identity_matches(&o, NULL, "+55 11 98765-4321"));
	assert_true(order_identity_matches(&o, NULL, "55 (11) 98765.4321"));
	assert_true(order_identity_matches(&o, "wrong@example.com", "+5511987654321"));
	assert_false(order_identity_matches(&o, NULL, "+5511987654320"));
	assert_false(order_identity_matches(&o, NULL, "11987654321"));  /* no country code */
	assert_false(order_identity_matches(&o, NULL, "+55 11 98765-4321 ext 2"));
	/* empty and NULL never match */
	assert_false(order_identity_matches(&o, NULL, NULL));
	assert_false(order_identity_matches(&o, "", ""));
	assert_false(order_identity_matches(&o, "   ", "  "));
	o.customer.email[0] = '\0';
	o.customer.phone[0] = '\0';
	assert_false(order_identity_matches(&o, "", ""));
	assert_false(order_identity_matches(&o, "marina@example.com", "+5511987654321"));
	/* fewer than 8 digits never match, even when equal */
	snprintf(o.customer.phone, sizeof o.customer.phone, "+1234567");
	assert_false(order_identity_matches(&o, NULL, "+1234567"));
	snprintf(o.customer.phone, sizeof o.customer.phone, "+12345678");
	assert_true(order_identity_matches(&o, NULL, "1234 5678"));
}

static void test_remaining(void **state)
{
	struct order o;
	(void)state;
	memset(&o, 0, sizeof o);
	o.total = 8000;
	o.refunded = 3000;
	assert_int_equal(order_remaining(&o), 5000);
	o.refunded = 8000;
	assert_int_equal(order_remaining(&o), 0);
	o.refunded = 9000; /* not from order_from_json, but never negative */
	assert_int_equal(order_remaining(&o), 0);
}

static void test_demo_orders(void **state)
{
	FILE *f = fopen(DEMO_ORDERS, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	(void)state;
	if (!f)
		fail_msg("cannot open %s: run from the repository root", DEMO_ORDERS);
	while ((len = getline(&line, &cap, f)) != -1) {
		struct order o;
		json_t *doc = NULL;
		char err[256];
		n++;
		if (order_parse_line(line, (size_t)len, NOW, &o, &doc, err, sizeof err) != RD_OK)
			fail_msg("%s:%zu: %s", DEMO_ORDERS, n, err);
		assert_true(o.customer.email[0] && o.customer.phone[0]);
		assert_true(o.created_at <= NOW && o.delivered_at <= NOW);
		json_decref(doc);
	}
	free(line);
	fclose(f);
	assert_true(n >= 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_line),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_relative_times_in_doc),
		cmocka_unit_test(test_rfc3339_times),
		cmocka_unit_test(test_delivered_at_optional),
		cmocka_unit_test(test_optional_defaults),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_wrong_values),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_too_many_items),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_unknown_keys_kept),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_remaining),
		cmocka_unit_test(test_demo_orders),
	};
	return cmocka_run_group_tests_name("order", tests, NULL, NULL);
}
