/* test_orders_http.c — gateway/orders_http.c without a network: JSON
 * pointers (RFC 6901's own examples), {id} escaping in paths, and mapping
 * an OMS's nested JSON to our order (then validated like an import). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/order.h"
#include "gateway/config.h"
#include "gateway/orders_ext.h"
#include "gateway/orders_http.h"

/* RFC 6901 section 5 */
static const char rfc_doc[] =
	"{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3, \"g|h\": 4,"
	" \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8}";

static void test_pointer_rfc6901(void **state)
{
	(void)state;
	json_t *doc = json_loads(rfc_doc, 0, NULL);
	assert_non_null(doc);
	assert_ptr_equal(orders_json_pointer(doc, ""), doc);
	assert_string_equal(json_string_value(orders_json_pointer(doc, "/foo/0")), "bar");
	assert_int_equal(json_array_size(orders_json_pointer(doc, "/foo")), 2);
	static const struct { const char *ptr; int want; } cases[] = {
		{ "/", 0 }, { "/a~1b", 1 }, { "/c%d", 2 }, { "/e^f", 3 }, { "/g|h", 4 },
		{ "/i\\j", 5 }, { "/k\"l", 6 }, { "/ ", 7 }, { "/m~0n", 8 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *v = orders_json_pointer(doc, cases[i].ptr);
		if (!json_is_integer(v) || json_integer_value(v) != cases[i].want)
			fail_msg("%s: expected %d", cases[i].ptr, cases[i].want);
	}
	/* none, or malformed */
	assert_null(orders_json_pointer(doc, "/foo/2"));
	assert_null(orders_json_pointer(doc, "/foo/01"));
	assert_null(orders_json_pointer(doc, "/foo/-"));
	assert_null(orders_json_pointer(doc, "/nope/x"));
	assert_null(orders_json_pointer(doc, "/m~2n"));
	assert_null(orders_json_pointer(doc, "foo"));
	assert_null(orders_json_pointer(doc, "/foo/0/deeper"));
	json_decref(doc);
	assert_true(orders_map_valid(""));
	assert_true(orders_map_valid("=sandbox"));
	assert_true(orders_map_valid("/a~0b~1c"));
	assert_false(orders_map_valid("a/b"));
	assert_false(orders_map_valid("/a~b"));
}

static void test_path_escapes_the_id(void **state)
{
	char out[128];
	(void)state;
	assert_int_equal(orders_http_path("/orders/{id}", "1001", out, sizeof out), RD_OK);
	assert_string_equal(out, "/orders/1001");
	assert_int_equal(orders_http_path("/o/{id}/refunds?x={id}", "A-1_b.c~", out, sizeof out),
			 RD_OK);
	assert_string_equal(out, "/o/A-1_b.c~/refunds?x=A-1_b.c~");
	assert_int_equal(orders_http_path("/orders/{id}", "1001' OR '1'='1", out, sizeof out), RD_OK);
	assert_string_equal(out, "/orders/1001%27%20OR%20%271%27%3D%271");
	assert_int_equal(orders_http_path("/orders/{id}", "../admin/#?", out, sizeof out), RD_OK);
	assert_string_equal(out, "/orders/..%2Fadmin%2F%23%3F");
	assert_int_equal(orders_http_path("/orders/{id}", "é", out, sizeof out), RD_OK);
	assert_string_equal(out, "/orders/%C3%A9");
	assert_int_equal(orders_http_path("/orders/{id}", "12345", out, 12), RD_ELIMIT);
}

/* An ERP-like shape: nested, decimal strings, its own names. */
static const char erp_doc[] =
	"{\"order\": {\"number\": 1001, \"money\": {\"total\": {\"amount\": \"49.00\", \"currency\": \"USD\"},"
	"  \"refunded\": {\"cents\": 900}},"
	" \"buyer\": {\"contact\": {\"email\": \"alex@example.com\", \"phone\": \"+1 (415) 555-0101\"},"
	"  \"display\": \"Alex Doe\", \"risk\": \"0.02\", \"disputes\": 0},"
	" \"lines\": [{\"code\": \"MUG-014\", \"family\": \"home\", \"clearance\": 0,"
	"   \"unit\": {\"cents\": 2450}, \"qty\": \"2\"}],"
	" \"paid\": {\"ref\": \"pi_1001\"}, \"placed\": 1763366400, \"shipped\": {\"at\": null},"
	" \"status\": \"in_transit\"}}";

static void erp_mapping(struct orders_http_config *m)
{
	struct config cfg;
	config_defaults(&cfg);
	*m = cfg.orders_http;
#define SET(f, v) snprintf(m->f, sizeof m->f, "%s", v)
	SET(map_id, "/order/number");
	SET(map_currency, "/order/money/total/currency");
	SET(map_total, "/order/money/total/amount");
	SET(map_refunded, "/order/money/refunded/cents");
	SET(map_email, "/order/buyer/contact/email");
	SET(map_phone, "/order/buyer/contact/phone");
	SET(map_name, "/order/buyer/display");
	SET(map_risk_score, "/order/buyer/risk");
	SET(map_chargebacks, "/order/buyer/disputes");
	SET(map_payment_id, "/order/paid/ref");
	SET(map_rail, "=card");
	SET(map_provider, "=sandbox");
	SET(map_created_at, "/order/placed");
	SET(map_delivered_at, "/order/shipped/at");
	SET(map_delivery_status, "/order/status");
	SET(map_items, "/order/lines");
	SET(map_item_sku, "/code");
	SET(map_item_category, "/family");
	SET(map_item_final_sale, "/clearance");
	SET(map_item_price, "/unit/cents");
	SET(map_item_quantity, "/qty");
#undef SET
}

static void test_map_nested_shape(void **state)
{
	struct orders_http_config m;
	struct order o;
	json_t *doc = NULL;
	char err[256];
	(void)state;
	erp_mapping(&m);
	json_t *src = json_loads(erp_doc, 0, NULL);
	assert_non_null(src);
	assert_int_equal(orders_http_map(&m, src, &doc, err, sizeof err), RD_OK);
	/* what a lookup does next: validate as an import, phone made E.164 */
	assert_int_equal(orders_ext_finish(doc, "1001", "http", &o), RD_OK);
	assert_string_equal(o.id, "1001");
	assert_string_equal(o.customer.phone, "+14155550101");
	assert_string_equal(o.currency, "USD");
	assert_int_equal(o.total, 4900);
	assert_int_equal(o.refunded, 900);
	assert_string_equal(o.customer.email, "alex@example.com");
	assert_string_equal(o.customer.name, "Alex Doe");
	assert_true(o.customer.risk_score > 0.019 && o.customer.risk_score < 0.021);
	assert_string_equal(o.payment.id, "pi_1001");
	assert_string_equal(o.payment.rail, "card");
	assert_string_equal(o.payment.provider, "sandbox");
	assert_int_equal(o.created_at, 1763366400);
	assert_int_equal(o.delivered_at, 0);
	assert_string_equal(o.delivery_status, "in_transit");
	assert_int_equal(o.n_items, 1);
	assert_string_equal(o.items[0].sku, "MUG-014");
	assert_string_equal(o.items[0].category, "home");
	assert_int_equal(o.items[0].final_sale, 0);
	assert_int_equal(o.items[0].price, 2450);
	assert_int_equal(o.items[0].quantity, 2);
	/* the OMS answering with another order is "not found", never that order */
	json_decref(doc);
	assert_int_equal(orders_http_map(&m, src, &doc, err, sizeof err), RD_OK);
	assert_int_equal(orders_ext_finish(doc, "1002", "http", &o), RD_ENOTFOUND);
	json_decref(doc);
	json_decref(src);
}

static void test_map_defaults_read_our_json(void **state)
{
	struct config cfg;
	struct order o;
	json_t *doc = NULL;
	char err[256];
	(void)state;
	config_defaults(&cfg);
	json_t *src = json_loads(
		"{\"id\": \"8421\", \"currency\": \"BRL\", \"total\": 18600, \"refunded\": 0,"
		" \"customer\": {\"name\": \"Marina\", \"email\": \"marina@example.com\","
		"  \"phone\": \"+5511987654321\", \"risk_score\": 0.05, \"chargebacks\": 0},"
		" \"items\": [{\"sku\": \"TSHIRT-001\", \"category\": \"apparel\", \"final_sale\": false,"
		"  \"price\": 18600, \"quantity\": 1}],"
		" \"payment\": {\"rail\": \"pix\", \"provider\": \"sandbox\", \"id\": \"E1823\"},"
		" \"created_at\": \"2026-11-19T10:00:00Z\", \"delivered_at\": \"2026-11-20T10:00:00Z\","
		" \"delivery_status\": \"delivered\"}", 0, NULL);
	assert_int_equal(orders_http_map(&cfg.orders_http, src, &doc, err, sizeof err), RD_OK);
	assert_int_equal(order_from_json(doc, 1763400000, &o, err, sizeof err), RD_OK);
	assert_string_equal(o.id, "8421");
	assert_int_equal(o.total, 18600);
	assert_string_equal(o.customer.phone, "+5511987654321");
	assert_string_equal(o.payment.rail, "pix");
	assert_int_equal(o.n_items, 1);
	json_decref(doc);
	json_decref(src);
}

static void test_map_refuses_wrong_types(void **state)
{
	struct orders_http_config m;
	json_t *doc = NULL;
	char err[256];
	(void)state;
	erp_mapping(&m);
	/* a JSON real for an amount: never floats */
	json_t *src = json_loads("{\"order\": {\"number\": \"1\", \"money\": {\"total\": "
				 "{\"amount\": 49.0, \"currency\": \"USD\"}}, \"lines\": []}}", 0, NULL);
	assert_int_equal(orders_http_map(&m, src, &doc, err, sizeof err), RD_EINVAL);
	assert_null(doc);
	assert_non_null(strstr(err, "map_total (/order/money/total/amount): expected an integer"));
	json_decref(src);
	/* more decimals than the currency has */
	src = json_loads("{\"order\": {\"money\": {\"total\": {\"amount\": \"49.001\", "
			 "\"currency\": \"USD\"}}, \"lines\": []}}", 0, NULL);
	assert_int_equal(orders_http_map(&m, src, &doc, err, sizeof err), RD_EINVAL);
	json_decref(src);
	/* an object where a text goes */
	src = json_loads("{\"order\": {\"number\": {\"x\": 1}, \"lines\": []}}", 0, NULL);
	assert_int_equal(orders_http_map(&m, src, &doc, err, sizeof err), RD_EINVAL);
	assert_non_null(strstr(err, "map_id"));
	json_decref(src);
	/* no items array where map_items points */
	src = json_loads("{\"order\": {\"number\": \"1\"}}", 0, NULL);
	assert_int_equal(orders_http_map(&m, src, &doc, err, sizeof err), RD_EINVAL);
	assert_non_null(strstr(err, "map_items"));
	json_decref(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pointer_rfc6901),
		cmocka_unit_test(test_path_escapes_the_id),
		cmocka_unit_test(test_map_nested_shape),
		cmocka_unit_test(test_map_defaults_read_our_json),
		cmocka_unit_test(test_map_refuses_wrong_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
