/* test_iplimit.c — per-address budgets of the public endpoints
 * (gateway/iplimit.h), on a clock the test drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "gateway/iplimit.h"

#define T0 1000000 /* any monotonic start */

static int reset(void **state)
{
	(void)state;
	iplimit_reset();
	return 0;
}

static void test_budget_and_retry_after(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(iplimit_hit(IPLIMIT_TEST, "203.0.113.7", 3, T0 + i), 0);
	/* the 4th inside the minute: wait until the window that opened at T0 ends */
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "203.0.113.7", 3, T0 + 10), 60);
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "203.0.113.7", 3, T0 + 30500), 30);
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "203.0.113.7", 3, T0 + 59999), 1);
	/* a new window */
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "203.0.113.7", 3, T0 + 60000), 0);
}

static void test_addresses_and_scopes_apart(void **state)
{
	(void)state;
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "198.51.100.1", 1, T0), 0);
	assert_int_not_equal(iplimit_hit(IPLIMIT_TEST, "198.51.100.1", 1, T0), 0);
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "198.51.100.2", 1, T0), 0);
	assert_int_equal(iplimit_hit(IPLIMIT_WEBCHAT, "198.51.100.1", 1, T0), 0);
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "2001:db8::1", 1, T0), 0);
	assert_int_not_equal(iplimit_hit(IPLIMIT_TEST, "2001:db8::1", 1, T0), 0);
}

static void test_zero_is_no_limit(void **state)
{
	(void)state;
	for (int i = 0; i < 10000; i++)
		assert_int_equal(iplimit_hit(IPLIMIT_TEST, "192.0.2.1", 0, T0), 0);
}

/* More addresses than slots: bounded memory, and an address that was just
 * over its budget is still remembered while its window lasts (the oldest
 * windows are the ones forgotten). */
static void test_full_table(void **state)
{
	(void)state;
	char addr[32];
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, "192.0.2.99", 1, T0 + 50000), 0);
	for (int i = 0; i < 3 * IPLIMIT_SLOTS; i++) {
		snprintf(addr, sizeof addr, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		assert_int_equal(iplimit_hit(IPLIMIT_TEST, addr, 5, T0 + i % 1000), 0);
	}
	assert_int_not_equal(iplimit_hit(IPLIMIT_TEST, "192.0.2.99", 1, T0 + 50001), 0);
	assert_int_equal(iplimit_hit(IPLIMIT_TEST, NULL, 1, T0), 0); /* no address: one bucket */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_budget_and_retry_after, reset),
		cmocka_unit_test_setup(test_addresses_and_scopes_apart, reset),
		cmocka_unit_test_setup(test_zero_is_no_limit, reset),
		cmocka_unit_test_setup(test_full_table, reset),
	};
	return cmocka_run_group_tests_name("iplimit", tests, NULL, NULL);
}
