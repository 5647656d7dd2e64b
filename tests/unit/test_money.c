/* test_money.c — parsing config amounts, decimal text, and ICU formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/money.h"

#define NBSP "\xc2\xa0"

static void test_exponents(void **state)
{
	(void)state;
	assert_int_equal(money_exponent("USD"), 2);
	assert_int_equal(money_exponent("BRL"), 2);
	assert_int_equal(money_exponent("JPY"), 0);
	assert_int_equal(money_exponent("KWD"), 3);
	assert_int_equal(money_exponent("USDC"), 2);
	assert_int_equal(money_exponent("XYZ"), -1);
	assert_int_equal(money_exponent("usd"), -1);
}

static void test_parse(void **state)
{
	(void)state;
	static const struct { const char *in; int64_t minor; const char *cur; } good[] = {
		{ "USD 75.00", 7500, "USD" }, { "USD 75", 7500, "USD" }, { "usd 75.5", 7550, "USD" },
		{ "  BRL 400.00  ", 40000, "BRL" }, { "JPY 500", 500, "JPY" }, { "KWD 1.234", 1234, "KWD" },
		{ "EUR 0.01", 1, "EUR" }, { "USDC 24.99", 2499, "USDC" },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct money m;
		assert_int_equal(money_parse(good[i].in, &m), RD_OK);
		assert_int_equal(m.minor, good[i].minor);
		assert_string_equal(m.cur, good[i].cur);
	}
	static const char *const bad[] = {
		"", "75.00", "USD", "USD 75.001", "JPY 5.5", "USD 7,50", "USD -5", "USD 75.", "USD .5",
		"XYZ 1.00", "USD 75.00 extra", "USD75.00", "USD 99999999999999999999",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct money m;
		assert_int_equal(money_parse(bad[i], &m), RD_EINVAL);
	}
}

static void test_list(void **state)
{
	(void)state;
	struct money_list l;
	const char *bad = NULL;
	assert_int_equal(money_list_parse("USD 75.00, EUR 70.00,BRL 400.00", &l, &bad), RD_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(money_list_get(&l, "BRL")->minor, 40000);
	assert_null(money_list_get(&l, "GBP"));
	assert_int_equal(money_list_parse("", &l, &bad), RD_OK);
	assert_int_equal(l.n, 0);
	const char *s = "USD 75.00, EUR 7.x";
	assert_int_equal(money_list_parse(s, &l, &bad), RD_EINVAL);
	assert_ptr_equal(bad, s + 10); /* points at the bad item */
	assert_int_equal(money_list_parse("USD 1.00, USD 2.00", &l, &bad), RD_EINVAL); /* twice */
	assert_int_equal(money_list_parse("USD 1.00,, EUR 2.00", &l, &bad), RD_EINVAL);
}

static void test_decimal(void **state)
{
	(void)state;
	char buf[32];
	assert_int_equal(money_decimal(18600, "BRL", buf, sizeof buf), RD_OK);
	assert_string_equal(buf, "186.00");
	assert_int_equal(money_decimal(5, "USD", buf, sizeof buf), RD_OK);
	assert_string_equal(buf, "0.05");
	assert_int_equal(money_decimal(-1250, "EUR", buf, sizeof buf), RD_OK);
	assert_string_equal(buf, "-12.50");
	assert_int_equal(money_decimal(500, "JPY", buf, sizeof buf), RD_OK);
	assert_string_equal(buf, "500");
	assert_int_equal(money_decimal(1234, "KWD", buf, sizeof buf), RD_OK);
	assert_string_equal(buf, "1.234");
	assert_int_equal(money_decimal(INT64_MIN, "USD", buf, sizeof buf), RD_OK);
	assert_string_equal(buf, "-92233720368547758.08");
	assert_int_equal(money_decimal(18600, "XYZ", buf, sizeof buf), RD_EINVAL);
	assert_int_equal(money_decimal(18600, "BRL", buf, 6), RD_ELIMIT);
}

/* The strings a customer sees; ICU puts U+00A0 where a space shows. */
static void test_format(void **state)
{
	(void)state;
	static const struct { int64_t minor; const char *cur, *loc, *want; } cases[] = {
		{ 18600, "BRL", "pt-BR", "R$" NBSP "186,00" },
		{ 4900, "USD", "en", "$49.00" },
		{ 4900, "USD", "en-US", "$49.00" },
		{ 1250, "EUR", "de", "12,50" NBSP "\xe2\x82\xac" },
		{ 1250, "EUR", "es", "12,50" NBSP "\xe2\x82\xac" },
		{ 4900, "USD", "pt-BR", "US$" NBSP "49,00" },
		{ 123456789, "BRL", "pt-BR", "R$" NBSP "1.234.567,89" },
		{ 123456789, "USD", "en", "$1,234,567.89" },
		{ 2499, "USDC", "en", "24.99 USDC" },
		{ 2499, "USDC", "pt-BR", "24,99 USDC" },
		{ 500, "JPY", "en", "\xc2\xa5" "500" },
		{ 4900, "USD", "xx-unknown", "$49.00" }, /* unknown locale → en, not ICU's root */
		{ 4900, "USD", NULL, "$49.00" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[64];
		assert_int_equal(money_format(cases[i].minor, cases[i].cur, cases[i].loc, buf, sizeof buf), RD_OK);
		assert_string_equal(buf, cases[i].want);
	}
	char small[4];
	assert_int_equal(money_format(18600, "BRL", "pt-BR", small, sizeof small), RD_ELIMIT);
	char buf[64];
	assert_int_equal(money_format(100, "XYZ", "en", buf, sizeof buf), RD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exponents), cmocka_unit_test(test_parse),
		cmocka_unit_test(test_list),      cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
