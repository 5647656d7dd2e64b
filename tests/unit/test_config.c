/* test_config.c — gateway/config.c: the shipped config.ini, every value type,
 * the exact "file:line: [section] key: reason" errors, REDRESS_* overrides,
 * cross-checks and config_dump. Writes temporary files with mkstemp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/config.h"

extern char **environ;

/* the test channel needs a key when enabled: appended after a test's own
 * lines so that their line numbers stay as written */
#define KEY "[test_channel]\napi_key = k\n"

static char tmp_path[64];   /* the current test's file, "" if none */
static char err[512];

/* Remove every REDRESS_* variable and the test's file: run before and after
 * each test, so a developer's environment or a failed test changes nothing. */
static int clean(void **state)
{
	char names[64][128];
	size_t n = 0;
	(void)state;
	for (char **e = environ; *e && n < RD_ARRAY_LEN(names); e++)
		if (strncmp(*e, "REDRESS_", 8) == 0)
			snprintf(names[n++], sizeof names[0], "%.*s", (int)strcspn(*e, "="), *e);
	for (size_t i = 0; i < n; i++)
		unsetenv(names[i]);
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = '\0';
	return 0;
}

/* Write text to a fresh temporary file; its path is in tmp_path. */
static void write_tmp(const char *text)
{
	if (tmp_path[0])
		unlink(tmp_path);
	snprintf(tmp_path, sizeof tmp_path, "/tmp/redress-cfg-XXXXXX");
	int fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static enum rd_err load_text(const char *text, struct config *cfg)
{
	write_tmp(text);
	err[0] = '\0';
	return config_load(tmp_path, cfg, err, sizeof err);
}

/* Loading text fails with exactly "<tmp_path>" + tail. */
static void expect_error(const char *text, const char *tail)
{
	struct config cfg;
	char want[600];
	assert_int_equal(load_text(text, &cfg), RD_ECONFIG);
	snprintf(want, sizeof want, "%s%s", tmp_path, tail);
	assert_string_equal(err, want);
}

static char *dump_text(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_dump(cfg, f);
	fclose(f);
	return buf;
}

/* ---- defaults and the shipped file -------------------------------------- */

static void test_defaults(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	assert_string_equal(c.gateway.listen, "127.0.0.1:8080");
	assert_int_equal(c.gateway.workers, 2);
	assert_int_equal(c.gateway.senders, 1);
	assert_int_equal(c.gateway.claim_idle_ms, 30000);
	assert_int_equal(c.gateway.drain_timeout_ms, 10000);
	assert_int_equal(c.gateway.max_body_bytes, 3145728);
	assert_int_equal(c.gateway.log_level, LOG_INFO);
	assert_string_equal(c.redis.url, "redis://127.0.0.1:6379/0");
	assert_int_equal(c.redis.timeout_ms, 2000);
	assert_int_equal(c.test_channel.enabled, 1);
	assert_string_equal(c.test_channel.api_key, "");
	assert_int_equal(c.test_channel.reply_timeout_ms, 5000);
	assert_string_equal(c.agent.default_locale, "en");
	assert_int_equal(c.agent.n_locales, 3);
	assert_string_equal(c.agent.locales[0], "en");
	assert_string_equal(c.agent.locales[1], "pt-BR");
	assert_string_equal(c.agent.locales[2], "es");
	assert_int_equal(c.agent.max_verify_attempts, 3);
	assert_int_equal(c.policy.refund_window_days, 30);
	assert_int_equal(c.policy.n_non_refundable, 2);
	assert_string_equal(c.policy.non_refundable_categories[0], "final_sale");
	assert_string_equal(c.policy.non_refundable_categories[1], "gift_card");
	assert_int_equal(c.policy.auto_approve_max.n, 4);
	assert_int_equal(money_list_get(&c.policy.auto_approve_max, "USD")->minor, 7500);
	assert_int_equal(money_list_get(&c.policy.auto_approve_max, "BRL")->minor, 40000);
	assert_int_equal(money_list_get(&c.policy.auto_approve_max, "USDC")->minor, 7500);
	assert_true(c.policy.auto_approve_max_risk == 0.25);
	assert_int_equal(money_list_get(&c.policy.review_from_amount, "EUR")->minor, 18000);
	assert_int_equal(c.policy.review_from_chargebacks, 2);
	assert_int_equal(money_list_get(&c.policy.evidence_required_above, "BRL")->minor, 50000);
	assert_int_equal(money_list_get(&c.mandate.per_refund_cap, "USD")->minor, 15000);
	assert_int_equal(money_list_get(&c.mandate.daily_cap, "BRL")->minor, 500000);
	assert_int_equal(c.rails.n_enabled, 1);
	assert_string_equal(c.rails.enabled[0], "sandbox");
	assert_string_equal(c.templates.dir, "templates");
	assert_string_equal(c.issuer.name, "Demo Shop");
	assert_string_equal(c.issuer.tax_id, "");
	assert_string_equal(c.issuer.address, "");
	assert_string_equal(c.issuer.credit_note_prefix, "NC-");
	assert_string_equal(c.orders.store, "redis");
}

/* The repo's config.ini (tests run from the repo root) loads and is the
 * defaults, except for the local QA api_key. */
static void test_repo_config_ini(void **state)
{
	struct config file, def;
	(void)state;
	assert_int_equal(config_load("config.ini", &file, err, sizeof err), RD_OK);
	assert_string_equal(file.test_channel.api_key, "dev-test-key");
	config_defaults(&def);
	snprintf(def.path, sizeof def.path, "config.ini");
	snprintf(def.test_channel.api_key, sizeof def.test_channel.api_key, "dev-test-key");
	char *a = dump_text(&file), *b = dump_text(&def);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_memory_equal(&file, &def, sizeof file);
}

/* ---- every type, good and bad ----------------------------------------------- */

struct vcase {
	const char *section, *key, *value;
	const char *why;   /* NULL: accepted; else the reason after "[section] key: " */
};

static const struct vcase vcases[] = {
	{ "gateway", "listen", "127.0.0.1:8080", NULL },
	{ "gateway", "listen", "[::1]:8080", NULL },
	{ "gateway", "listen", "0.0.0.0:80", NULL },
	{ "gateway", "listen", "localhost:65535", NULL },
	{ "gateway", "listen", "127.0.0.1",
	  "expected host:port like 127.0.0.1:8080 or [::1]:8080, got \"127.0.0.1\"" },
	{ "gateway", "listen", "127.0.0.1:0", "expected a port from 1 to 65535, got \"127.0.0.1:0\"" },
	{ "gateway", "listen", "127.0.0.1:65536",
	  "expected a port from 1 to 65535, got \"127.0.0.1:65536\"" },
	{ "gateway", "listen", "127.0.0.1:80x", "expected a port from 1 to 65535, got \"127.0.0.1:80x\"" },
	{ "gateway", "listen", "::1:8080",
	  "an IPv6 address needs brackets like [::1]:8080, got \"::1:8080\"" },
	{ "gateway", "listen", "300.1.1.1:80", "expected an IPv4 address, [IPv6] address or "
	  "localhost before the port, got \"300.1.1.1:80\"" },
	{ "gateway", "listen", "[::1]8080",
	  "expected host:port like 127.0.0.1:8080 or [::1]:8080, got \"[::1]8080\"" },
	{ "gateway", "workers", "64", NULL },
	{ "gateway", "workers", "0", "expected an integer from 1 to 64, got \"0\"" },
	{ "gateway", "workers", "65", "expected an integer from 1 to 64, got \"65\"" },
	{ "gateway", "workers", "two", "expected an integer from 1 to 64, got \"two\"" },
	{ "gateway", "workers", "2.5", "expected an integer from 1 to 64, got \"2.5\"" },
	{ "gateway", "workers", "", "expected an integer from 1 to 64, got \"\"" },
	{ "gateway", "workers", "99999999999999999999",
	  "expected an integer from 1 to 64, got \"99999999999999999999\"" },
	{ "gateway", "claim_idle_ms", "1000", NULL },
	{ "gateway", "claim_idle_ms", "30s",
	  "expected milliseconds from 1000 to 86400000, got \"30s\"" },
	{ "gateway", "drain_timeout_ms", "0", NULL },
	{ "gateway", "max_body_bytes", "3145728", NULL },
	{ "gateway", "max_body_bytes", "4KiB", NULL },
	{ "gateway", "max_body_bytes", "1 MiB", NULL },
	{ "gateway", "max_body_bytes", "3MB",
	  "expected a size from 1KiB to 256MiB like 3145728, 4KiB or 3MiB, got \"3MB\"" },
	{ "gateway", "max_body_bytes", "512",
	  "expected a size from 1KiB to 256MiB like 3145728, 4KiB or 3MiB, got \"512\"" },
	{ "gateway", "max_body_bytes", "1GiB",
	  "expected a size from 1KiB to 256MiB like 3145728, 4KiB or 3MiB, got \"1GiB\"" },
	{ "gateway", "max_body_bytes", "-1KiB",
	  "expected a size from 1KiB to 256MiB like 3145728, 4KiB or 3MiB, got \"-1KiB\"" },
	{ "gateway", "log_level", "debug", NULL },
	{ "gateway", "log_level", "verbose", "expected debug, info, warn or error, got \"verbose\"" },
	{ "redis", "url", "unix:///run/redis.sock?db=1", NULL },
	{ "redis", "url", "http://x",
	  "expected redis://host:port/db or unix:///path/redis.sock?db=0, got \"http://x\"" },
	{ "test_channel", "enabled", "off", NULL },
	{ "test_channel", "enabled", "YES", NULL },
	{ "test_channel", "enabled", "0", NULL },
	{ "test_channel", "enabled", "maybe",
	  "expected true or false (or yes/no, on/off, 1/0), got \"maybe\"" },
	{ "agent", "locales", " en ,pt-BR,es ", NULL },
	{ "agent", "locales", "en,,es", "empty item in \"en,,es\"" },
	{ "agent", "locales", "en, es,", "empty item in \"en, es,\"" },
	{ "agent", "locales", "en, en", "\"en\" is listed twice" },
	{ "agent", "locales", "", "expected at least 1 item" },
	{ "agent", "locales", "en, pt_BR", "expected a locale like en or pt-BR, got \"pt_BR\"" },
	{ "agent", "locales", "en, x-very-long-locale",
	  "\"x-very-long-locale\" is too long (at most 15 characters)" },
	{ "agent", "locales", "en,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", "too many items (at most 16)" },
	{ "agent", "default_locale", "pt_BR", "expected a locale like en or pt-BR, got \"pt_BR\"" },
	{ "policy", "non_refundable_categories", "", NULL },
	{ "policy", "non_refundable_categories", "Final Sale",
	  "expected lower-case names like final_sale, got \"Final Sale\"" },
	{ "policy", "auto_approve_max", "USD 10, JPY 500", NULL },
	{ "policy", "auto_approve_max", "", NULL },
	{ "policy", "auto_approve_max", "USD 75.00, EUR 7,0",
	  "expected amounts like USD 75.00, got \"EUR 7,0\"" },
	{ "policy", "auto_approve_max", "USD 75.001",
	  "expected amounts like USD 75.00, got \"USD 75.001\"" },
	{ "policy", "auto_approve_max", "USD 1, XYZ 2", "expected amounts like USD 75.00, got \"XYZ 2\"" },
	{ "policy", "auto_approve_max", "USD 1, USD 2", "USD is given twice" },
	{ "policy", "auto_approve_max", "USD 1, EUR 1, BRL 1, GBP 1, MXN 1, ARS 1, COP 1, PEN 1, "
	  "UYU 1, CAD 1, AUD 1, CHF 1, INR 1, CNY 1, SEK 1, NOK 1, DKK 1",
	  "too many amounts (at most 16)" },
	{ "policy", "auto_approve_max_risk", "0", NULL },
	{ "policy", "auto_approve_max_risk", "1", NULL },
	{ "policy", "auto_approve_max_risk", "1.5",
	  "expected a number from 0 to 1 like 0.25, got \"1.5\"" },
	{ "policy", "auto_approve_max_risk", "-0.1",
	  "expected a number from 0 to 1 like 0.25, got \"-0.1\"" },
	{ "policy", "auto_approve_max_risk", "nan",
	  "expected a number from 0 to 1 like 0.25, got \"nan\"" },
	{ "policy", "auto_approve_max_risk", "0.", NULL },
	{ "policy", "auto_approve_max_risk", ".", "expected a number from 0 to 1 like 0.25, got \".\"" },
	{ "mandate", "daily_cap", "abc", "expected amounts like USD 1000.00, got \"abc\"" },
	{ "rails", "enabled", "sandbox, stripe", NULL },
	{ "rails", "enabled", "", "expected at least 1 item" },
	{ "templates", "dir", "", "must not be empty" },
	{ "issuer", "credit_note_prefix", "NC-0123456789ABCDEF", "too long (at most 15 characters)" },
	{ "issuer", "tax_id", "", NULL },
	{ "orders", "store", "mysql", "expected redis, postgres or http, got \"mysql\"" },
	{ "orders.postgres", "lookup_sql", "SELECT * FROM orders WHERE id = :id",
	  "unknown parameter :id (allowed: :order_id), got \"SELECT * FROM orders WHERE id = :id\"" },
	{ "orders.postgres", "refund_sql", "UPDATE orders SET refunded_amount = 0",
	  "the statement must use :order_id, got \"UPDATE orders SET refunded_amount = 0\"" },
	{ "orders.postgres", "items_sql", "", NULL },
	{ "orders.http", "writeback_method", "PUT", "expected POST or PATCH, got \"PUT\"" },
	{ "orders.http", "map_total", "order.total",
	  "expected a JSON pointer like /order/total, =constant, or nothing, got \"order.total\"" },
	{ "orders.http", "map_provider", "=sandbox", NULL },
};

static void test_value_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < RD_ARRAY_LEN(vcases); i++) {
		const struct vcase *v = &vcases[i];
		struct config cfg;
		char text[512], want[700];
		/* the value on line 2; the test channel's key where it cannot clash */
		if (strcmp(v->section, "test_channel") == 0)
			snprintf(text, sizeof text, "[%s]\n%s = %s\napi_key = k\n", v->section, v->key,
				 v->value);
		else
			snprintf(text, sizeof text, "[%s]\n%s = %s\n" KEY, v->section, v->key, v->value);
		enum rd_err rc = load_text(text, &cfg);
		if (!v->why) {
			if (rc != RD_OK)
				fail_msg("[%s] %s = %s: %s", v->section, v->key, v->value, err);
			continue;
		}
		snprintf(want, sizeof want, "%s:2: [%s] %s: %s", tmp_path, v->section, v->key, v->why);
		if (rc != RD_ECONFIG || strcmp(err, want) != 0)
			fail_msg("[%s] %s = %s:\n  got  %s\n  want %s", v->section, v->key, v->value,
				 err, want);
	}
}

static void test_parsed_values(void **state)
{
	struct config c;
	(void)state;
	assert_int_equal(load_text("[gateway]\nlisten = [::1]:9090\nmax_body_bytes = 4KiB\n"
				   "log_level = warn\n"
				   "[test_channel]\nenabled = off\n"
				   "[agent]\nlocales =  pt-BR ,  es\ndefault_locale = es\n"
				   "[policy]\nauto_approve_max = JPY 500, USD 1.5\n"
				   "auto_approve_max_risk = 0.5\nnon_refundable_categories =\n", &c),
			 RD_OK);
	assert_string_equal(c.gateway.listen, "[::1]:9090");
	assert_int_equal(c.gateway.max_body_bytes, 4096);
	assert_int_equal(c.gateway.log_level, LOG_WARN);
	assert_int_equal(c.test_channel.enabled, 0);
	assert_int_equal(c.agent.n_locales, 2);
	assert_string_equal(c.agent.locales[0], "pt-BR");
	assert_string_equal(c.agent.locales[1], "es");
	assert_string_equal(c.agent.locales[2], "");
	assert_int_equal(c.policy.auto_approve_max.n, 2);
	assert_int_equal(money_list_get(&c.policy.auto_approve_max, "JPY")->minor, 500);
	assert_int_equal(money_list_get(&c.policy.auto_approve_max, "USD")->minor, 150);
	assert_null(money_list_get(&c.policy.auto_approve_max, "EUR"));
	assert_true(c.policy.auto_approve_max_risk == 0.5);
	assert_int_equal(c.policy.n_non_refundable, 0);
}

/* ---- errors with file:line ----------------------------------------------------- */

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("; comment\n[gateway]\n\n# another\nworkers = 2\n\nlisen = 127.0.0.1:80\n" KEY,
		     ":7: [gateway] lisen: unknown key");
}

static void test_unknown_section(void **state)
{
	(void)state;
	expect_error("[gateway]\nworkers = 2\n[bogus]\nx = 1\n" KEY, ":3: [bogus]: unknown section");
	expect_error(KEY "[bogus]\n", ":3: [bogus]: unknown section"); /* even empty */
	expect_error("workers = 2\n" KEY, ":1: workers: key outside any [section]");
}

static void test_bad_money_list(void **state)
{
	(void)state;
	expect_error("[mandate]\nper_refund_cap = USD 150.00\ndaily_cap = abc\n" KEY,
		     ":3: [mandate] daily_cap: expected amounts like USD 1000.00, got \"abc\"");
}

static void test_int_out_of_range(void **state)
{
	(void)state;
	expect_error("[gateway]\nlisten = 127.0.0.1:8080\nworkers = 100\n" KEY,
		     ":3: [gateway] workers: expected an integer from 1 to 64, got \"100\"");
}

static void test_string_too_long(void **state)
{
	(void)state;
	expect_error("[issuer]\nname = Shop\ncredit_note_prefix = CREDIT-NOTE-NUMBER-\n" KEY,
		     ":3: [issuer] credit_note_prefix: too long (at most 15 characters)");
}

static void test_set_twice(void **state)
{
	(void)state;
	expect_error("[gateway]\nworkers = 2\nsenders = 1\nworkers = 3\n" KEY,
		     ":4: [gateway] workers: set twice (first at line 2)");
	expect_error("[gateway]\nworkers = 2\n[redis]\ntimeout_ms = 1\n[gateway]\nworkers = 2\n" KEY,
		     ":6: [gateway] workers: set twice (first at line 2)");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("[gateway]\nworkers\n" KEY, ":2: syntax error");
	expect_error("[gateway\nworkers = 2\n" KEY, ":1: syntax error");
	/* the first bad line wins, whoever finds it */
	expect_error("[gateway]\nnoeq\nworkers = 0\n" KEY, ":2: syntax error");
	expect_error("[gateway]\nworkers = 0\nnoeq\n" KEY,
		     ":2: [gateway] workers: expected an integer from 1 to 64, got \"0\"");
}

static void test_missing_file(void **state)
{
	struct config cfg;
	(void)state;
	assert_int_equal(config_load("/nonexistent/redress.ini", &cfg, err, sizeof err), RD_ECONFIG);
	assert_string_equal(err, "/nonexistent/redress.ini: cannot open: No such file or directory");
	assert_int_equal(config_load("/tmp", &cfg, err, sizeof err), RD_ECONFIG);
	assert_string_equal(err, "/tmp: cannot read: Is a directory");
}

/* inih would cut a long line and parse its tail as a line of its own */
static void test_long_line(void **state)
{
	char text[400];
	(void)state;
	snprintf(text, sizeof text, "[issuer]\naddress = %0190d, x = y\n" KEY, 0);
	expect_error(text, ":2: line longer than 197 characters (inih would cut it); "
		     "give long values through REDRESS_* environment variables");
}

/* inih reads an indented line after a key as more of that key's value */
static void test_indentation(void **state)
{
	struct config c;
	(void)state;
	expect_error("[gateway]\nworkers = 2\n  senders = 1\n" KEY,
		     ":3: [gateway] workers: indented line read as a continuation of the value "
		     "above; remove the leading blanks");
	/* right after a [section] an indented key is a key; indented comments too */
	assert_int_equal(load_text("[agent]\nmax_verify_attempts = 3\n[gateway]\n  workers = 4\n"
				   "  ; four\n" KEY, &c), RD_OK);
	assert_int_equal(c.gateway.workers, 4);
}

/* the documented traps: " ;" ends a value; CRLF files are fine */
static void test_inline_comment_and_crlf(void **state)
{
	struct config c;
	(void)state;
	assert_int_equal(load_text("[issuer]\r\nname = Shop ; a comment\r\n"
				   "[test_channel]\r\napi_key = k\r\n", &c), RD_OK);
	assert_string_equal(c.issuer.name, "Shop");
	assert_string_equal(c.test_channel.api_key, "k");
}

/* ---- environment ----------------------------------------------------------------- */

static void test_env_overrides_file(void **state)
{
	struct config c;
	(void)state;
	setenv("REDRESS_GATEWAY_WORKERS", "8", 1);
	setenv("REDRESS_POLICY_AUTO_APPROVE_MAX", "EUR 1.00", 1);
	setenv("REDRESS_TEST_CHANNEL_API_KEY", "from-env", 1);
	setenv("REDRESS_ISSUER_TAX_ID", "", 1);
	assert_int_equal(load_text("[gateway]\nworkers = 4\n[issuer]\ntax_id = X1\n" KEY, &c), RD_OK);
	assert_int_equal(c.gateway.workers, 8);
	assert_int_equal(c.policy.auto_approve_max.n, 1);
	assert_int_equal(money_list_get(&c.policy.auto_approve_max, "EUR")->minor, 100);
	assert_string_equal(c.test_channel.api_key, "from-env");
	assert_string_equal(c.issuer.tax_id, "");
	/* the env key alone satisfies the test channel */
	assert_int_equal(load_text("[gateway]\nworkers = 4\n", &c), RD_OK);
	assert_string_equal(c.test_channel.api_key, "from-env");
}

static void test_env_bad_value(void **state)
{
	struct config c;
	char key[300];
	(void)state;
	setenv("REDRESS_GATEWAY_WORKERS", "0", 1);
	assert_int_equal(load_text(KEY, &c), RD_ECONFIG);
	assert_string_equal(err, "env REDRESS_GATEWAY_WORKERS: [gateway] workers: "
			    "expected an integer from 1 to 64, got \"0\"");
	unsetenv("REDRESS_GATEWAY_WORKERS");
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	setenv("REDRESS_TEST_CHANNEL_API_KEY", key, 1);
	assert_int_equal(load_text(KEY, &c), RD_ECONFIG);
	assert_string_equal(err, "env REDRESS_TEST_CHANNEL_API_KEY: [test_channel] api_key: "
			    "too long (at most 255 characters)");
	unsetenv("REDRESS_TEST_CHANNEL_API_KEY");
	setenv("REDRESS_MANDATE_DAILY_CAP", "USD 10, EUR 7,5", 1);
	assert_int_equal(load_text(KEY, &c), RD_ECONFIG);
	assert_string_equal(err, "env REDRESS_MANDATE_DAILY_CAP: [mandate] daily_cap: "
			    "expected amounts like USD 1000.00, got \"EUR 7,5\"");
}

/* ---- cross-checks ------------------------------------------------------------------ */

static void test_cross_checks(void **state)
{
	struct config c;
	(void)state;
	expect_error("[agent]\ndefault_locale = fr\n" KEY,
		     ":2: [agent] default_locale: \"fr\" is not in locales");
	/* the default is what clashes: no line to point at */
	expect_error("[agent]\nlocales = pt-BR, es\n" KEY,
		     ": [agent] default_locale: \"en\" is not in locales");
	setenv("REDRESS_AGENT_DEFAULT_LOCALE", "de", 1);
	assert_int_equal(load_text(KEY, &c), RD_ECONFIG);
	assert_string_equal(err, "env REDRESS_AGENT_DEFAULT_LOCALE: [agent] default_locale: "
			    "\"de\" is not in locales");
	unsetenv("REDRESS_AGENT_DEFAULT_LOCALE");

	expect_error("[gateway]\nworkers = 2\n",
		     ": [test_channel] api_key: required when the test channel is enabled "
		     "(or set REDRESS_TEST_CHANNEL_API_KEY)");
	expect_error("[test_channel]\napi_key =\n",
		     ":2: [test_channel] api_key: required when the test channel is enabled "
		     "(or set REDRESS_TEST_CHANNEL_API_KEY)");
	assert_int_equal(load_text("[test_channel]\nenabled = false\n", &c), RD_OK);
	assert_int_equal(load_text("[agent]\nlocales = fr, en\ndefault_locale = fr\n" KEY, &c),
			 RD_OK);
}

/* ---- dump ---------------------------------------------------------------------------- */

static void test_dump(void **state)
{
	struct config c, again;
	(void)state;
	assert_int_equal(config_load("config.ini", &c, err, sizeof err), RD_OK);
	char *text = dump_text(&c);
	assert_non_null(strstr(text, "\n[gateway]\n; "));
	assert_non_null(strstr(text, "\nlisten = 127.0.0.1:8080\n"));
	assert_non_null(strstr(text, "\n; agent worker threads (default: 2)\nworkers = 2\n"));
	assert_non_null(strstr(text, "\nmax_body_bytes = 3MiB\n"));
	assert_non_null(strstr(text, "\napi_key = (set)\n"));
	assert_null(strstr(text, "dev-test-key"));
	assert_non_null(strstr(text, "\nauto_approve_max = USD 75.00, EUR 70.00, BRL 400.00, "
				     "USDC 75.00\n"));
	assert_non_null(strstr(text, "\nauto_approve_max_risk = 0.25\n"));
	assert_non_null(strstr(text, "\nlocales = en, pt-BR, es\n"));
	assert_non_null(strstr(text, "\ntax_id =\n"));
	/* the dump is a config file that loads to the same dump */
	assert_int_equal(load_text(text, &again), RD_OK);
	char *text2 = dump_text(&again);
	assert_string_equal(strchr(text, '\n'), strchr(text2, '\n')); /* past the path line */
	free(text);
	free(text2);

	config_defaults(&c);
	setenv("REDRESS_REDIS_URL", "redis://:hunter2@db:6379/0", 1);
	setenv("REDRESS_TEST_CHANNEL_API_KEY", "k", 1);
	assert_int_equal(load_text("[gateway]\nworkers = 2\n", &c), RD_OK);
	text = dump_text(&c);
	assert_non_null(strstr(text, "\nurl = redis://(set)@db:6379/0\n"));
	assert_null(strstr(text, "hunter2"));
	free(text);
	config_defaults(&c);
	text = dump_text(&c);
	assert_non_null(strstr(text, "\napi_key =\n"));
	free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, clean, clean)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_repo_config_ini),
		T(test_value_types),
		T(test_parsed_values),
		T(test_unknown_key),
		T(test_unknown_section),
		T(test_bad_money_list),
		T(test_int_out_of_range),
		T(test_string_too_long),
		T(test_set_twice),
		T(test_syntax_errors),
		T(test_missing_file),
		T(test_long_line),
		T(test_indentation),
		T(test_inline_comment_and_crlf),
		T(test_env_overrides_file),
		T(test_env_bad_value),
		T(test_cross_checks),
		T(test_dump),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
