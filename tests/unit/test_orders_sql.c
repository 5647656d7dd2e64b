/* test_orders_sql.c — gateway/orders_sql.c: named parameters (":order_id")
 * to positional ones ("$1"), and everything that must stay as written:
 * casts, string literals, quoted identifiers, dollar quotes, comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/orders_sql.h"

static const char *const names[] = { "order_id", "refund_id", "amount" };
static char err[256];

/* Translate sql with every name allowed; the result text (static copy). */
static const char *tr(const char *sql, struct orders_sql *out)
{
	static char text[1024];
	err[0] = '\0';
	enum rd_err e = orders_sql_translate(sql, names, 3, out, err, sizeof err);
	if (e != RD_OK)
		fail_msg("%s: %s", sql, err);
	snprintf(text, sizeof text, "%s", out->text);
	return text;
}

/* Translating sql fails, and the reason contains want. */
static void refused(const char *sql, size_t n_names, const char *want)
{
	struct orders_sql s;
	err[0] = '\0';
	assert_int_equal(orders_sql_translate(sql, names, n_names, &s, err, sizeof err), RD_EINVAL);
	assert_null(s.text);
	assert_int_equal(s.n_params, 0);
	if (!strstr(err, want))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", sql, err, want);
}

static void test_one_name(void **state)
{
	struct orders_sql s;
	(void)state;
	assert_string_equal(tr("SELECT * FROM orders WHERE id = :order_id", &s),
			    "SELECT * FROM orders WHERE id = $1");
	assert_int_equal(s.n_params, 1);
	assert_int_equal(s.param[0], 0);
	assert_true(orders_sql_uses(&s, 0));
	assert_false(orders_sql_uses(&s, 1));
	orders_sql_free(&s);
	assert_null(s.text);
}

static void test_numbered_by_first_use(void **state)
{
	struct orders_sql s;
	const char *vals[ORDERS_SQL_MAX_PARAMS];
	const char *values[] = { "1001", "rf_1", "4900" };
	(void)state;
	assert_string_equal(tr("INSERT INTO refunds VALUES (:refund_id, :order_id, :amount)", &s),
			    "INSERT INTO refunds VALUES ($1, $2, $3)");
	assert_int_equal(s.n_params, 3);
	assert_int_equal(s.param[0], 1);
	assert_int_equal(s.param[1], 0);
	assert_int_equal(s.param[2], 2);
	orders_sql_bind(&s, values, vals);
	assert_string_equal(vals[0], "rf_1");
	assert_string_equal(vals[1], "1001");
	assert_string_equal(vals[2], "4900");
	orders_sql_free(&s);
}

static void test_repeated_name_same_number(void **state)
{
	struct orders_sql s;
	(void)state;
	assert_string_equal(tr("UPDATE orders SET refunded_amount = refunded_amount + :amount "
			       "WHERE id = :order_id AND refunded_amount + :amount <= amount", &s),
			    "UPDATE orders SET refunded_amount = refunded_amount + $1 "
			    "WHERE id = $2 AND refunded_amount + $1 <= amount");
	assert_int_equal(s.n_params, 2);
	orders_sql_free(&s);
}

static void test_casts_untouched(void **state)
{
	struct orders_sql s;
	(void)state;
	assert_string_equal(tr("SELECT :order_id::text, amount::bigint FROM orders WHERE id = "
			       ":order_id::int", &s),
			    "SELECT $1::text, amount::bigint FROM orders WHERE id = $1::int");
	orders_sql_free(&s);
	/* ":=" (named arguments) and slices "a[1:2]" are not parameters either */
	assert_string_equal(tr("SELECT f(x := :amount), a[1:2] FROM t", &s),
			    "SELECT f(x := $1), a[1:2] FROM t");
	orders_sql_free(&s);
}

static void test_literals_untouched(void **state)
{
	struct orders_sql s;
	(void)state;
	assert_string_equal(tr("SELECT ':order_id', 'it''s :amount', E'\\' :refund_id' "
			       "FROM orders WHERE id = :order_id", &s),
			    "SELECT ':order_id', 'it''s :amount', E'\\' :refund_id' "
			    "FROM orders WHERE id = $1");
	assert_int_equal(s.n_params, 1);
	orders_sql_free(&s);
	assert_string_equal(tr("SELECT \":amount\", \"a\"\":x\" FROM t WHERE id = :order_id", &s),
			    "SELECT \":amount\", \"a\"\":x\" FROM t WHERE id = $1");
	orders_sql_free(&s);
	assert_string_equal(tr("SELECT $$ :amount $$, $t$ :x $$ $t$ WHERE id = :order_id", &s),
			    "SELECT $$ :amount $$, $t$ :x $$ $t$ WHERE id = $1");
	orders_sql_free(&s);
	/* names inside literals are not checked: ":nope" in a string is text */
	assert_string_equal(tr("SELECT ':nope' WHERE id = :order_id", &s),
			    "SELECT ':nope' WHERE id = $1");
	orders_sql_free(&s);
}

static void test_comments_untouched(void **state)
{
	struct orders_sql s;
	(void)state;
	assert_string_equal(tr("SELECT 1 -- :nope\nFROM t /* :x /* nested :y */ still */ WHERE "
			       "id = :order_id", &s),
			    "SELECT 1 -- :nope\nFROM t /* :x /* nested :y */ still */ WHERE id = $1");
	orders_sql_free(&s);
}

static void test_unknown_names_refused(void **state)
{
	(void)state;
	refused("SELECT * FROM orders WHERE id = :ordr_id", 3,
		"unknown parameter :ordr_id (allowed: :order_id, :refund_id, :amount)");
	/* a lookup only knows the order id */
	refused("SELECT * FROM orders WHERE id = :order_id AND x = :amount", 1,
		"unknown parameter :amount (allowed: :order_id)");
	refused("SELECT :Order_id", 3, "unknown parameter :Order_id");
}

static void test_malformed_refused(void **state)
{
	(void)state;
	refused("SELECT * FROM orders WHERE id = $1", 3, "write a named one like :order_id");
	refused("SELECT 'open", 3, "unterminated string literal");
	refused("SELECT \"open", 3, "unterminated quoted identifier");
	refused("SELECT $a$ open $b$", 3, "unterminated dollar-quoted string");
	refused("SELECT 1 /* open /* */", 3, "unterminated comment");
	refused("SELECT E'\\'", 3, "unterminated string literal");
}

static void test_identifiers_with_dollar(void **state)
{
	struct orders_sql s;
	(void)state;
	/* "$" inside an identifier is neither a parameter nor a dollar quote */
	assert_string_equal(tr("SELECT a$1, b$x$ FROM t WHERE id = :order_id", &s),
			    "SELECT a$1, b$x$ FROM t WHERE id = $1");
	orders_sql_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_name),
		cmocka_unit_test(test_numbered_by_first_use),
		cmocka_unit_test(test_repeated_name_same_number),
		cmocka_unit_test(test_casts_untouched),
		cmocka_unit_test(test_literals_untouched),
		cmocka_unit_test(test_comments_untouched),
		cmocka_unit_test(test_unknown_names_refused),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_identifiers_with_dollar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
