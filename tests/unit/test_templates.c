/* test_templates.c — agent/templates.c: the repo's templates, the load-time
 * checks (exact error text), rendering and locale resolution. Run from the
 * repository root ("templates" is a relative directory). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/templates.h"

static const char *const repo_locales[] = { "en", "pt-BR", "es" };

static const char *const tpl_vars[TPL__COUNT] = {
#define X(name, vars) vars,
	TEMPLATE_LIST(X)
#undef X
};

/* A value for every placeholder any template may use. */
static const char *all_vars[] = {
	"amount", "R$ 186,00", "order", "1001", "rail", "Pix", "refund_id", "rf_123",
	"number", "NC-0001", "reason", "it has already been fully refunded.",
	"days", "30", "ticket", "T-42", "note", "NC-0001", "tx_hash", "0xabc",
	"settlement", "Pix refunds usually arrive within seconds.",
	"link", "http://127.0.0.1:8080/v1/credit-notes/NC-0001?exp=1&sig=00",
	"date", "2026-11-22", "issuer", "Demo Shop", "tax_id", "-", "address", "-",
	"customer", "Marina", "payment", "E1823", "lines", "<tr></tr>", "seal", "00", NULL,
};

/* ---- helpers --------------------------------------------------------- */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void path_of(char *out, size_t n, const char *dir, const char *loc, const char *name)
{
	snprintf(out, n, "%s/%s/%s.txt", dir, loc, name);
}

/* dir/loc/<every template>.txt, each "T" + " {var}" for each declared var. */
static void write_valid_set(const char *dir, const char *loc)
{
	char path[512], body[256];
	snprintf(path, sizeof path, "%s/%s", dir, loc);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int k = 0; k < TPL__COUNT; k++) {
		size_t n = (size_t)snprintf(body, sizeof body, "T");
		const char *p = tpl_vars[k];
		while (*p) {
			while (*p == ' ')
				p++;
			size_t m = strcspn(p, " ");
			if (m)
				n += (size_t)snprintf(body + n, sizeof body - n, " {%.*s}", (int)m, p);
			p += m;
		}
		path_of(path, sizeof path, dir, loc, template_name((enum template_id)k));
		write_file(path, body, n);
	}
}

static char *make_tmp(void)
{
	char *d = strdup("/tmp/rd_tpl_XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

/* Write a valid set for loc, replace one file (data NULL: delete it), load,
 * and return the error code; err receives the message. */
static enum rd_err load_with(const char *loc, const char *name, const char *data, size_t len,
			     char *err, size_t errlen, char *dir_out, size_t dir_n)
{
	char *dir = make_tmp(), path[512];
	struct templates *t = (struct templates *)(uintptr_t)1;
	write_valid_set(dir, loc);
	path_of(path, sizeof path, dir, loc, name);
	if (data)
		write_file(path, data, len);
	else
		assert_int_equal(unlink(path), 0);
	const char *locs[] = { loc };
	enum rd_err rc = templates_load(dir, locs, 1, &t, err, errlen);
	if (rc)
		assert_null(t);
	templates_free(t);
	snprintf(dir_out, dir_n, "%s", dir);
	rm_tree(dir);
	free(dir);
	return rc;
}

#define EXPECT_LOAD_ERR(loc, name, data, len, msg)                                        \
	do {                                                                              \
		char err_[512], dir_[128], want_[640];                                    \
		assert_int_equal(load_with(loc, name, data, len, err_, sizeof err_, dir_, \
					   sizeof dir_),                                  \
				 RD_ECONFIG);                                             \
		snprintf(want_, sizeof want_, "%s/%s/%s.txt: %s", dir_, loc, name, msg);  \
		assert_string_equal(err_, want_);                                         \
	} while (0)

/* ---- the repository's templates -------------------------------------- */

static int repo_setup(void **state)
{
	char err[256];
	struct templates *t = NULL;
	enum rd_err rc = templates_load("templates", repo_locales, 3, &t, err, sizeof err);
	if (rc) {
		fprintf(stderr, "templates_load: %s\n", err);
		return -1;
	}
	*state = t;
	return 0;
}

static int repo_teardown(void **state)
{
	templates_free(*state);
	return 0;
}

static void test_repo_loads(void **state)
{
	assert_non_null(*state);
	/* and with a trailing slash on the directory */
	struct templates *t = NULL;
	char err[256];
	assert_int_equal(templates_load("templates/", repo_locales, 3, &t, err, sizeof err), RD_OK);
	templates_free(t);
}

/* Every template, every locale, with exactly its declared vars. */
static void test_repo_renders_all(void **state)
{
	const struct templates *t = *state;
	for (size_t l = 0; l < 3; l++) {
		for (int k = 0; k < TPL__COUNT; k++) {
			const char *vars[64];
			size_t nv = 0;
			for (size_t i = 0; all_vars[i]; i += 2) {
				const char *p = strstr(tpl_vars[k], all_vars[i]);
				size_t n = strlen(all_vars[i]);
				if (p && (p == tpl_vars[k] || p[-1] == ' ') && (p[n] == ' ' || !p[n])) {
					vars[nv++] = all_vars[i];
					vars[nv++] = all_vars[i + 1];
				}
			}
			vars[nv] = NULL;
			char *out = NULL;
			enum rd_err rc = templates_render(t, repo_locales[l], (enum template_id)k,
							  vars, &out);
			if (rc)
				fprintf(stderr, "%s/%s: %s\n", repo_locales[l],
					template_name((enum template_id)k), rd_strerror(rc));
			assert_int_equal(rc, RD_OK);
			assert_non_null(out);
			assert_true(strlen(out) > 0);
			if (k != TPL_credit_note_doc) { /* the document is a page: CSS, lines */
				assert_null(strchr(out, '{'));
				assert_null(strchr(out, '\n'));
			}
			if (k == TPL_button_yes || k == TPL_button_no) {
				size_t chars = 0;
				for (const char *p = out; *p; p++)
					chars += ((unsigned char)*p & 0xC0) != 0x80;
				assert_true(chars <= 20);
			}
			free(out);
		}
	}
}

static void test_repo_render_text(void **state)
{
	const struct templates *t = *state;
	char *out = NULL;
	assert_int_equal(templates_render(t, "en", TPL_confirm_refund, all_vars, &out), RD_OK);
	assert_string_equal(out, "I can refund R$ 186,00 for order 1001 to your original payment "
				 "method (Pix). Shall I go ahead?");
	free(out);
	assert_int_equal(templates_render(t, "pt-BR", TPL_button_yes, NULL, &out), RD_OK);
	assert_string_equal(out, "Sim, reembolsar");
	free(out);
	assert_int_equal(templates_render(t, "es", TPL_button_yes, NULL, &out), RD_OK);
	assert_string_equal(out, "Sí, reembolsar");
	free(out);
	/* the same answer whether the order is missing or someone else's: one template */
	assert_int_equal(templates_render(t, "en", TPL_not_found, NULL, &out), RD_OK);
	assert_non_null(strstr(out, "couldn't find an order"));
	free(out);
	/* values are inserted verbatim, braces included */
	const char *odd[] = { "order", "{amount} {{", NULL };
	assert_int_equal(templates_render(t, "en", TPL_ask_email, odd, &out), RD_OK);
	assert_non_null(strstr(out, "order {amount} {{ is yours"));
	free(out);
}

static void test_render_errors(void **state)
{
	const struct templates *t = *state;
	char *out = (char *)(uintptr_t)1;
	const char *some[] = { "amount", "R$ 1,00", "order", "1001", NULL }; /* no rail */
	assert_int_equal(templates_render(t, "en", TPL_confirm_refund, some, &out), RD_EINVAL);
	assert_null(out);
	assert_int_equal(templates_render(t, "en", TPL_confirm_refund, NULL, &out), RD_EINVAL);
	const char *odd[] = { "order", NULL };
	assert_int_equal(templates_render(t, "en", TPL_ask_email, odd, &out), RD_EINVAL);
	assert_int_equal(templates_render(t, "fr", TPL_greeting, NULL, &out), RD_ENOTFOUND);
	assert_null(out);
	assert_int_equal(templates_render(t, "en", TPL__COUNT, NULL, &out), RD_EINVAL);
	assert_int_equal(templates_render(NULL, "en", TPL_greeting, NULL, &out), RD_EINVAL);
	/* extra vars are fine */
	assert_int_equal(templates_render(t, "en", TPL_greeting, all_vars, &out), RD_OK);
	free(out);
	assert_string_equal(template_name(TPL_refunded), "refunded");
	assert_string_equal(template_name(TPL__COUNT), "unknown");
}

static void test_locale_resolution(void **state)
{
	const struct templates *t = *state;
	assert_string_equal(templates_locale(t, "pt", "en"), "pt-BR");
	assert_string_equal(templates_locale(t, "pt-PT", "en"), "pt-BR");
	assert_string_equal(templates_locale(t, "PT_br", "en"), "pt-BR");
	assert_string_equal(templates_locale(t, "pt-BR", "en"), "pt-BR");
	assert_string_equal(templates_locale(t, "es-MX", "en"), "es");
	assert_string_equal(templates_locale(t, "ES_419", "en"), "es");
	assert_string_equal(templates_locale(t, "EN-us", "es"), "en");
	assert_string_equal(templates_locale(t, "fr", "en"), "en");
	assert_string_equal(templates_locale(t, "fr-CA", "es"), "es");
	assert_string_equal(templates_locale(t, "pt-BR,pt;q=0.9", "en"), "pt-BR");
	assert_string_equal(templates_locale(t, "", "en"), "en");
	assert_string_equal(templates_locale(t, NULL, "en"), "en");
	assert_string_equal(templates_locale(t, "p", "en"), "en");
	/* the returned string is the loaded one (borrowed), even for the fallback */
	const char *fb = templates_locale(t, "de", "PT-br");
	assert_string_equal(fb, "pt-BR");
	char *out = NULL;
	assert_int_equal(templates_render(t, fb, TPL_button_no, NULL, &out), RD_OK);
	assert_string_equal(out, "Não");
	free(out);
}

/* ---- load-time checks on a temporary directory ------------------------ */

static void test_err_missing(void **state)
{
	(void)state;
	EXPECT_LOAD_ERR("pt-BR", "greeting", NULL, 0, "missing");
	EXPECT_LOAD_ERR("en", "unsupported_media", NULL, 0, "missing");

	/* a whole locale directory absent: the first file is named */
	char *dir = make_tmp(), err[512], want[600];
	struct templates *t = NULL;
	write_valid_set(dir, "en");
	const char *locs[] = { "en", "pt-BR" };
	assert_int_equal(templates_load(dir, locs, 2, &t, err, sizeof err), RD_ECONFIG);
	assert_null(t);
	snprintf(want, sizeof want, "%s/pt-BR/greeting.txt: missing", dir);
	assert_string_equal(err, want);
	assert_int_equal(templates_load(dir, locs, 1, &t, err, sizeof err), RD_OK);
	templates_free(t);
	rm_tree(dir);
	free(dir);
}

static void test_err_placeholders(void **state)
{
	(void)state;
	const char *s = "Done {amont} {amount} {order} {rail} {refund_id}";
	EXPECT_LOAD_ERR("es", "refunded", s, strlen(s),
			"unknown placeholder {amont} (allowed: amount order rail refund_id)");
	s = "Hello {order}";
	EXPECT_LOAD_ERR("en", "greeting", s, strlen(s), "unknown placeholder {order} (allowed: none)");
	s = "Hello {name";
	EXPECT_LOAD_ERR("en", "greeting", s, strlen(s),
			"unclosed { at line 1, column 7 (write {{ for a literal {)");
	s = "Olá\nvocê {";
	EXPECT_LOAD_ERR("pt-BR", "greeting", s, strlen(s),
			"unclosed { at line 2, column 6 (write {{ for a literal {)");
	s = "Hi {order and {order}";
	EXPECT_LOAD_ERR("en", "ask_email", s, strlen(s),
			"unclosed { at line 1, column 4 (write {{ for a literal {)");
	s = "Hi { order }";
	EXPECT_LOAD_ERR("en", "ask_email", s, strlen(s),
			"bad placeholder { order } at line 1, column 4 (names are letters, digits "
			"and _)");
	s = "Hi {}";
	EXPECT_LOAD_ERR("en", "greeting", s, strlen(s), "empty placeholder {} at line 1, column 4");
	s = "I can refund {amount} for order {order}. OK?";
	EXPECT_LOAD_ERR("en", "confirm_refund", s, strlen(s),
			"does not use {rail} (it must use: amount order rail)");
}

static void test_err_bytes(void **state)
{
	(void)state;
	EXPECT_LOAD_ERR("en", "greeting", "ol\xC3\x28", 4, "invalid UTF-8 at byte 2");
	EXPECT_LOAD_ERR("en", "greeting", "a\xC0\xAF", 3, "invalid UTF-8 at byte 1");     /* overlong */
	EXPECT_LOAD_ERR("en", "greeting", "ab\xED\xA0\x80", 5, "invalid UTF-8 at byte 2"); /* surrogate */
	EXPECT_LOAD_ERR("en", "greeting", "abc\xF4\x90\x80\x80", 7, "invalid UTF-8 at byte 3");
	EXPECT_LOAD_ERR("en", "greeting", "abc\xE2\x82", 5, "invalid UTF-8 at byte 3"); /* cut short */
	EXPECT_LOAD_ERR("en", "greeting", "a\0b", 3, "contains a NUL byte at byte 1");
	EXPECT_LOAD_ERR("en", "greeting", "\xEF\xBB\xBFHi", 5,
			"starts with a byte-order mark (save without BOM)");
	EXPECT_LOAD_ERR("en", "greeting", "\n", 1, "empty");
	EXPECT_LOAD_ERR("en", "button_yes", "Sí, reembolsar agora mesmo", 27,
			"too long: 26 characters (at most 20)");

	static char big[2050];
	memset(big, 'a', sizeof big);
	EXPECT_LOAD_ERR("en", "greeting", big, 2049, "too large (over 2048 bytes)");
	char err[512], dir[128];
	assert_int_equal(load_with("en", "greeting", big, 2048, err, sizeof err, dir, sizeof dir),
			 RD_OK);
	/* 4-byte characters and "\r\n" are fine */
	assert_int_equal(load_with("en", "greeting", "Hi \xF0\x9F\x98\x80\r\n", 9, err, sizeof err,
				   dir, sizeof dir),
			 RD_OK);
}

static void test_bad_locales(void **state)
{
	(void)state;
	char err[256];
	struct templates *t = NULL;
	const char *dotdot[] = { "../etc" };
	assert_int_equal(templates_load("templates", dotdot, 1, &t, err, sizeof err), RD_ECONFIG);
	assert_string_equal(err, "templates: bad locale name \"../etc\"");
	const char *twice[] = { "en", "EN" };
	assert_int_equal(templates_load("templates", twice, 2, &t, err, sizeof err), RD_ECONFIG);
	assert_string_equal(err, "templates: locale EN listed twice");
	assert_int_equal(templates_load("templates", twice, 0, &t, err, sizeof err), RD_EINVAL);
	assert_null(t);
}

/* "{{" is a literal "{", a trailing newline is dropped, "}" alone is text. */
static void test_literals(void **state)
{
	(void)state;
	char *dir = make_tmp(), path[512], err[256], *out = NULL;
	struct templates *t = NULL;
	write_valid_set(dir, "en");
	path_of(path, sizeof path, dir, "en", "greeting");
	write_file(path, "Use {{braces} and {{{{\n", 23);
	path_of(path, sizeof path, dir, "en", "ask_email");
	write_file(path, "a {{{order}} b\n\n", 16);
	path_of(path, sizeof path, dir, "en", "ask_order");
	write_file(path, "line one\r\nline two\r\n", 20);
	const char *locs[] = { "en" };
	assert_int_equal(templates_load(dir, locs, 1, &t, err, sizeof err), RD_OK);

	assert_int_equal(templates_render(t, "en", TPL_greeting, NULL, &out), RD_OK);
	assert_string_equal(out, "Use {braces} and {{");
	free(out);
	const char *vars[] = { "order", "1001", NULL };
	assert_int_equal(templates_render(t, "en", TPL_ask_email, vars, &out), RD_OK);
	assert_string_equal(out, "a {1001} b\n");
	free(out);
	assert_int_equal(templates_render(t, "en", TPL_ask_order, NULL, &out), RD_OK);
	assert_string_equal(out, "line one\r\nline two");
	free(out);
	const char *vars3[] = { "amount", "$5.00", "order", "7", "rail", "card", NULL };
	assert_int_equal(templates_render(t, "en", TPL_confirm_refund, vars3, &out), RD_OK);
	assert_string_equal(out, "T $5.00 7 card");
	free(out);
	templates_free(t);
	rm_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest repo[] = {
		cmocka_unit_test(test_repo_loads),
		cmocka_unit_test(test_repo_renders_all),
		cmocka_unit_test(test_repo_render_text),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_locale_resolution),
	};
	const struct CMUnitTest tmp[] = {
		cmocka_unit_test(test_err_missing),
		cmocka_unit_test(test_err_placeholders),
		cmocka_unit_test(test_err_bytes),
		cmocka_unit_test(test_bad_locales),
		cmocka_unit_test(test_literals),
	};
	int failed = cmocka_run_group_tests_name("templates (repo)", repo, repo_setup, repo_teardown);
	failed += cmocka_run_group_tests_name("templates (checks)", tmp, NULL, NULL);
	return failed ? 1 : 0;
}
