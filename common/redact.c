/* redact.c — card numbers and verification codes out of text (redact.h). */
#include "common/redact.h"

#include <stdlib.h>
#include <string.h>

#define PAN_MIN 13            /* ISO/IEC 7812: a PAN has 13 to 19 digits */
#define PAN_MAX 19
#define CVV_MIN 3
#define CVV_MAX 4
#define GAP_WORDS 4           /* filler words allowed between a keyword and its code */
#define MARK_LEN (sizeof REDACT_MARK - 1)

/* Keywords, folded (lower-case ASCII, accents dropped; ' ' = one or more
 * spaces). Longer first: "cvv2" before "cvv". */
static const char *const keywords[] = {
	"cvv2", "cvc2", "cvv", "cvc", "security code", "codigo de seguranca", "codigo de seguridad",
};

/* Words that may stand between a keyword and the code, folded. */
static const char *const fillers[] = {
	"is", "e", "es", "number", "numero", "no", "of", "the", "my", "card", "do", "da", "de",
	"del", "la", "meu", "minha", "mi", "cartao", "tarjeta",
};

struct group {
	size_t start, end;    /* digits text[start, end) */
	int marked;
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* The character at s[0] folded for matching: ASCII letters lower-cased,
 * the accented Latin-1 letters of en/pt/es (UTF-8 "\xC3.") to their base
 * letter; anything else as is (a non-letter never matches a keyword
 * letter). *adv gets the bytes it took. */
static unsigned char fold(const char *s, size_t left, size_t *adv)
{
	unsigned char c = (unsigned char)s[0];
	*adv = 1;
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A' + 'a');
	if (c != 0xC3 || left < 2)
		return c;
	unsigned char b = (unsigned char)s[1] & 0xDF; /* Ã -> À-range: drop the case bit */
	*adv = 2;
	if (b >= 0x80 && b <= 0x85)
		return 'a';
	if (b == 0x87)
		return 'c';
	if (b >= 0x88 && b <= 0x8B)
		return 'e';
	if (b >= 0x8C && b <= 0x8F)
		return 'i';
	if (b == 0x91)
		return 'n';
	if (b >= 0x92 && b <= 0x96)
		return 'o';
	if (b >= 0x99 && b <= 0x9C)
		return 'u';
	return 0x80; /* another letter: matches nothing */
}

/* Does a word start at s[i]: no letter or digit just before it (an
 * accented Latin-1 letter counts as a letter)? */
static int word_start(const char *s, size_t i)
{
	if (i == 0)
		return 1;
	unsigned char p = (unsigned char)s[i - 1];
	if ((p >= 'a' && p <= 'z') || (p >= 'A' && p <= 'Z') || is_digit((char)p))
		return 0;
	return !(p >= 0x80 && p <= 0xBF && i >= 2 && (unsigned char)s[i - 2] == 0xC3);
}

static int is_letter_at(const char *s, size_t len, size_t i)
{
	size_t adv;
	unsigned char c = fold(s + i, len - i, &adv);
	return (c >= 'a' && c <= 'z') || c == 0x80;
}

/* Match folded word k at s[i]; returns the end index, or 0 for no match. A
 * match ends at a word boundary (no letter follows). */
static size_t match_word(const char *s, size_t len, size_t i, const char *k)
{
	while (*k) {
		if (i >= len)
			return 0;
		if (*k == ' ') {
			if (!is_space(s[i]))
				return 0;
			while (i < len && is_space(s[i]))
				i++;
			k++;
			continue;
		}
		size_t adv;
		if (fold(s + i, len - i, &adv) != (unsigned char)*k)
			return 0;
		i += adv;
		k++;
	}
	return i < len && is_letter_at(s, len, i) ? 0 : i;
}

static size_t skip_gap(const char *s, size_t len, size_t i)
{
	while (i < len && (is_space(s[i]) || strchr(":=#-.", s[i])))
		i++;
	return i;
}

/* Digits s[i, *end) joined into one run (single ' ' or '-' between groups)
 * would continue past *end? */
static int joins_on(const char *s, size_t len, size_t end)
{
	return end + 1 < len && (s[end] == ' ' || s[end] == '-') && is_digit(s[end + 1]);
}

/* A verification code after a keyword at s[i] (a word start)? On a match,
 * the code is s[*d0, *d1). */
static int cvv_at(const char *s, size_t len, size_t i, size_t *d0, size_t *d1)
{
	size_t j = 0;
	for (size_t k = 0; k < RD_ARRAY_LEN(keywords) && !j; k++)
		j = match_word(s, len, i, keywords[k]);
	if (!j)
		return 0;
	j = skip_gap(s, len, j);
	for (int w = 0; w < GAP_WORDS && j < len && !is_digit(s[j]); w++) {
		size_t e = 0;
		for (size_t k = 0; k < RD_ARRAY_LEN(fillers) && !e; k++)
			e = match_word(s, len, j, fillers[k]);
		if (!e)
			return 0;
		j = skip_gap(s, len, e);
	}
	size_t e = j;
	while (e < len && is_digit(s[e]))
		e++;
	if (e - j < CVV_MIN || e - j > CVV_MAX || joins_on(s, len, e))
		return 0;
	*d0 = j;
	*d1 = e;
	return 1;
}

/* Luhn (ISO/IEC 7812-1 annex B) over the digits of groups a..b. */
static int luhn_ok(const char *s, const struct group *g, size_t a, size_t b)
{
	int sum = 0, dbl = 0;
	for (size_t k = b + 1; k-- > a;)
		for (size_t p = g[k].end; p-- > g[k].start;) {
			int d = s[p] - '0';
			if (dbl && (d *= 2) > 9)
				d -= 9;
			sum += d;
			dbl = !dbl;
		}
	return sum % 10 == 0;
}

/* The run of joined digit groups starting at s[i] (a digit), copied to
 * out + *o with card numbers replaced. Returns the index after the run, or
 * 0 on ENOMEM. */
static size_t pan_run(const char *s, size_t len, size_t i, char *out, size_t *o, int *n)
{
	size_t ng = 1;
	for (size_t p = i; p < len; p++)
		if (!is_digit(s[p]) && !joins_on(s, len, p)) /* count the groups first */
			break;
		else if (!is_digit(s[p]))
			ng++;
	struct group *g = calloc(ng, sizeof *g);
	if (!g)
		return 0;
	size_t p = i;
	for (size_t k = 0; k < ng; k++) {
		g[k].start = p;
		while (p < len && is_digit(s[p]))
			p++;
		g[k].end = p;
		g[k].marked = p - g[k].start > PAN_MAX;
		p++; /* the joiner */
	}
	for (size_t a = 0; a < ng; a++) {
		size_t digits = 0;
		for (size_t b = a; b < ng; b++) {
			digits += g[b].end - g[b].start;
			if (digits > PAN_MAX)
				break;
			if (digits >= PAN_MIN && luhn_ok(s, g, a, b))
				for (size_t k = a; k <= b; k++)
					g[k].marked = 1;
		}
	}
	for (size_t k = 0; k < ng; k++) {
		if (g[k].marked && k > 0 && g[k - 1].marked)
			continue; /* one mark for a stretch */
		if (k > 0)
			out[(*o)++] = s[g[k].start - 1];
		if (g[k].marked) {
			memcpy(out + *o, REDACT_MARK, MARK_LEN);
			*o += MARK_LEN;
			(*n)++;
		} else {
			memcpy(out + *o, s + g[k].start, g[k].end - g[k].start);
			*o += g[k].end - g[k].start;
		}
	}
	size_t end = g[ng - 1].end;
	free(g);
	return end;
}

char *redact_text(const char *text, int *n_redacted)
{
	const char *s = text ? text : "";
	size_t len = strlen(s), i = 0, o = 0, digits = 0;
	int n = 0;

	/* fast path: both kinds need at least CVV_MIN digits */
	for (size_t k = 0; k < len && digits < CVV_MIN; k++)
		digits += is_digit(s[k]);
	if (digits < CVV_MIN) {
		if (n_redacted)
			*n_redacted = 0;
		return strdup(s);
	}
	/* a PAN never grows (13+ digits → 10 bytes); a code grows by at most
	 * MARK_LEN - 3, and each takes at least 6 bytes ("cvv123") */
	char *out = malloc(len + (len / 6 + 1) * MARK_LEN + 1);

	if (!out)
		return NULL;
	while (i < len) {
		size_t d0, d1;
		/* every keyword starts with c or s (folded) */
		char c0 = (char)(s[i] | 0x20);
		if ((c0 == 'c' || c0 == 's') && word_start(s, i) && cvv_at(s, len, i, &d0, &d1)) {
			memcpy(out + o, s + i, d0 - i);
			o += d0 - i;
			memcpy(out + o, REDACT_MARK, MARK_LEN);
			o += MARK_LEN;
			n++;
			i = d1;
		} else if (is_digit(s[i])) {
			size_t end = pan_run(s, len, i, out, &o, &n);
			if (!end) {
				free(out);
				return NULL;
			}
			i = end;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	if (n_redacted)
		*n_redacted = n;
	return out;
}
