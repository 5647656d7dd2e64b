/* test_redact.c — card numbers and verification codes out of customer text
 * (common/redact.h): what is replaced, and what customers legitimately type
 * that must survive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/redact.h"

struct tcase {
	const char *in, *want;
	int n; /* how many replaced */
};

static void run(const struct tcase *c, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int n = -1;
		char *got = redact_text(c[i].in, &n);
		assert_non_null(got);
		if (strcmp(got, c[i].want) != 0 || n != c[i].n)
			fail_msg("redact(\"%s\") = \"%s\" (%d), want \"%s\" (%d)", c[i].in, got, n,
				 c[i].want, c[i].n);
		free(got);
	}
}

/* Luhn decides: the same shapes with the check digit off are kept. */
static void test_luhn(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		{ "4111111111111111", "[redacted]", 1 },            /* Visa test PAN */
		{ "4111111111111112", "4111111111111112", 0 },      /* check digit off */
		{ "5555555555554444", "[redacted]", 1 },            /* Mastercard */
		{ "5555555555554445", "5555555555554445", 0 },
		{ "378282246310005", "[redacted]", 1 },             /* Amex, 15 */
		{ "6011111111111117", "[redacted]", 1 },            /* Discover */
		{ "0000000000000", "[redacted]", 1 },               /* 13 zeros pass Luhn */
	};
	run(c, RD_ARRAY_LEN(c));
}

static void test_lengths(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		{ "13 digits 4222222222222", "13 digits [redacted]", 1 },
		{ "12 digits 422222222222", "12 digits 422222222222", 0 },  /* Luhn-valid, too short */
		{ "19 digits 6304000000000000000 ok", "19 digits [redacted] ok", 1 },
		{ "19 grouped 6304 0000 0000 0000 000", "19 grouped [redacted]", 1 },
		/* 20 unbroken digits: a PAN could start anywhere in them */
		{ "x 84214111111111111111 y", "x [redacted] y", 1 },
		{ "12345678901234567890123", "[redacted]", 1 },
	};
	run(c, RD_ARRAY_LEN(c));
}

static void test_spacing(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		{ "card 4111 1111 1111 1111 please", "card [redacted] please", 1 },
		{ "card 4111-1111-1111-1111.", "card [redacted].", 1 },
		{ "mixed 4111 1111-1111 1111!", "mixed [redacted]!", 1 },
		{ "amex 3782 822463 10005 ok", "amex [redacted] ok", 1 },
		{ "one by one 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "one by one [redacted]", 1 },
		/* two joiners in a row end a run: the groups are 4-digit numbers */
		{ "double  spaces 4111  1111  1111  1111", "double  spaces 4111  1111  1111  1111", 0 },
		{ "dots 4111.1111.1111.1111", "dots 4111.1111.1111.1111", 0 },
		/* a trailing joiner is not part of the run */
		{ "4111 1111 1111 1111 - thanks", "[redacted] - thanks", 1 },
		{ "[4111111111111111]", "[[redacted]]", 1 },
	};
	run(c, RD_ARRAY_LEN(c));
}

/* Next to other numbers, only the card number goes. */
static void test_neighbours(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		{ "order 1001 4111 1111 1111 1111", "order 1001 [redacted]", 1 },
		{ "4111 1111 1111 1111 8421", "[redacted] 8421", 1 },
		/* "8421 4111 1111 1111" passes Luhn too: both stretches go */
		{ "order 8421 4111 1111 1111 1111", "order [redacted]", 1 },
		{ "my card 4111 1111 1111 1111 order 8421", "my card [redacted] order 8421", 1 },
		{ "4111111111111111 5555555555554444", "[redacted]", 1 },   /* one stretch, one mark */
		{ "4111111111111111, 5555555555554444", "[redacted], [redacted]", 2 },
	};
	run(c, RD_ARRAY_LEN(c));
}

static void test_cvv_phrases(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		/* en */
		{ "cvv 123", "cvv [redacted]", 1 },
		{ "CVV: 123.", "CVV: [redacted].", 1 },
		{ "CVC2=1234", "CVC2=[redacted]", 1 },
		{ "cvv123", "cvv[redacted]", 1 },
		{ "my security code is 737", "my security code is [redacted]", 1 },
		{ "Security  Code: 0421", "Security  Code: [redacted]", 1 },
		{ "the cvv of my card is 123", "the cvv of my card is [redacted]", 1 },
		/* pt */
		{ "o código de segurança é 123", "o código de segurança é [redacted]", 1 },
		{ "CÓDIGO DE SEGURANÇA do cartão: 456", "CÓDIGO DE SEGURANÇA do cartão: [redacted]", 1 },
		{ "codigo de seguranca 789", "codigo de seguranca [redacted]", 1 },
		{ "meu cvv e 321", "meu cvv e [redacted]", 1 },
		/* es */
		{ "el código de seguridad es 654", "el código de seguridad es [redacted]", 1 },
		{ "codigo de seguridad de la tarjeta: 9876", "codigo de seguridad de la tarjeta: [redacted]", 1 },
		{ "mi CVC es 111", "mi CVC es [redacted]", 1 },
		/* PAN and code together */
		{ "cartão 4111 1111 1111 1111 cvv 123 validade 12/27",
		  "cartão [redacted] cvv [redacted] validade 12/27", 2 },
	};
	run(c, RD_ARRAY_LEN(c));
}

/* Codes only right after the words, and only 3 or 4 digits on their own. */
static void test_cvv_not(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		{ "order 123", "order 123", 0 },
		{ "cvv 12", "cvv 12", 0 },
		{ "cvv 12345", "cvv 12345", 0 },
		{ "cvv is in order 8421", "cvv is in order 8421", 0 },   /* "in" is no filler */
		{ "scvv 123", "scvv 123", 0 },                            /* inside a word */
		{ "cvvs 123", "cvvs 123", 0 },
		{ "security 123", "security 123", 0 },
		{ "the code is 123", "the code is 123", 0 },
		/* the first group of a run is no code: the run is judged as a PAN */
		{ "cvv 4111 1111 1111 1111", "cvv [redacted]", 1 },
		{ "cvv 1234 5678", "cvv 1234 5678", 0 },
	};
	run(c, RD_ARRAY_LEN(c));
}

/* What customers type and the agent needs: kept as written. */
static void test_kept(void **state)
{
	(void)state;
	static const struct tcase c[] = {
		{ "Oi, quero reembolso do pedido 8421", "Oi, quero reembolso do pedido 8421", 0 },
		{ "refund USD 49.00 for order 1001, R$ 186,00", "refund USD 49.00 for order 1001, R$ 186,00", 0 },
		{ "call +1 415 555 0101 about 8421", "call +1 415 555 0101 about 8421", 0 },
		{ "meu celular +55 11 98765-4321", "meu celular +55 11 98765-4321", 0 },
		{ "pedido 123456789012", "pedido 123456789012", 0 },
		{ "order 8421 paid 2026-11-21 marina@example.com", "order 8421 paid 2026-11-21 marina@example.com", 0 },
		{ "", "", 0 },
		{ "no digits", "no digits", 0 },
		{ "ação única ñ ü", "ação única ñ ü", 0 },
	};
	run(c, RD_ARRAY_LEN(c));
	int n = -1;
	char *got = redact_text(NULL, &n);
	assert_non_null(got);
	assert_string_equal(got, "");
	assert_int_equal(n, 0);
	free(got);
}

/* The output buffer's bound: many short codes grow the text the most. */
static void test_growth(void **state)
{
	(void)state;
	static char in[7 * 300 + 1], want[14 * 300 + 1];
	in[0] = want[0] = '\0';
	for (int i = 0; i < 300; i++) {
		strcat(in, "cvv123 ");
		strcat(want, "cvv[redacted] ");
	}
	int n;
	char *got = redact_text(in, &n);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(n, 300);
	free(got);
	/* glued: a word does not start right after a digit */
	got = redact_text("cvv123cvv123cvv123", &n);
	assert_non_null(got);
	assert_string_equal(got, "cvv[redacted]cvv123cvv123");
	assert_int_equal(n, 1);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_spacing),
		cmocka_unit_test(test_neighbours),
		cmocka_unit_test(test_cvv_phrases),
		cmocka_unit_test(test_cvv_not),
		cmocka_unit_test(test_kept),
		cmocka_unit_test(test_growth),
	};
	return cmocka_run_group_tests_name("redact", tests, NULL, NULL);
}
