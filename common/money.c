#include "common/money.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <unicode/uloc.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>
#include <unicode/uvernum.h>

#include "common/log.h"

/* Decimals per currency (ISO 4217 minor unit). USDC is counted in cents. */
static const struct { const char *cur; int exp; } currencies[] = {
	{ "USD", 2 }, { "EUR", 2 }, { "BRL", 2 }, { "GBP", 2 }, { "MXN", 2 },
	{ "ARS", 2 }, { "COP", 2 }, { "PEN", 2 }, { "UYU", 2 }, { "CAD", 2 },
	{ "AUD", 2 }, { "CHF", 2 }, { "INR", 2 }, { "CNY", 2 }, { "SEK", 2 },
	{ "NOK", 2 }, { "DKK", 2 }, { "PLN", 2 }, { "ZAR", 2 }, { "JPY", 0 },
	{ "CLP", 0 }, { "KRW", 0 }, { "PYG", 0 }, { "KWD", 3 }, { "BHD", 3 },
	{ "USDC", 2 },
};

/* Locales money_format knows; ICU silently falls back to root for others. */
static const char *const known_locales[] = {
	"en", "en-US", "en-GB", "pt-BR", "pt", "pt-PT", "es", "es-ES", "es-MX",
	"es-AR", "de", "de-DE", "fr", "fr-FR", "it", "it-IT", "nl", "nl-NL",
};

int money_exponent(const char *cur)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(currencies); i++)
		if (strcmp(currencies[i].cur, cur) == 0)
			return currencies[i].exp;
	return -1;
}

enum rd_err money_parse(const char *s, struct money *out)
{
	char cur[MONEY_CUR_LEN];
	size_t n = 0;
	while (isspace((unsigned char)*s))
		s++;
	while (isalpha((unsigned char)*s) && n < sizeof cur - 1)
		cur[n++] = (char)toupper((unsigned char)*s++);
	cur[n] = '\0';
	int exp = money_exponent(cur);
	if (exp < 0 || !isspace((unsigned char)*s))
		return RD_EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	int64_t whole = 0, frac = 0;
	int nd = 0, nf = -1;
	while (isdigit((unsigned char)*s)) {
		if (whole > (INT64_MAX / 1000 - 9) / 10)
			return RD_EINVAL;
		whole = whole * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0)
		return RD_EINVAL;
	if (*s == '.') {
		s++;
		nf = 0;
		while (isdigit((unsigned char)*s)) {
			if (nf == exp)
				return RD_EINVAL; /* more decimals than the currency has */
			frac = frac * 10 + (*s++ - '0');
			nf++;
		}
		if (nf == 0)
			return RD_EINVAL;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return RD_EINVAL;
	for (int i = nf < 0 ? 0 : nf; i < exp; i++)
		frac *= 10;
	int64_t scale = 1;
	for (int i = 0; i < exp; i++)
		scale *= 10;
	out->minor = whole * scale + frac;
	memcpy(out->cur, cur, sizeof cur);
	return RD_OK;
}

enum rd_err money_list_parse(const char *s, struct money_list *out, const char **bad)
{
	out->n = 0;
	while (*s) {
		const char *start = s;
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char item[64];
		int blank = 1;
		for (size_t i = 0; i < len; i++)
			if (!isspace((unsigned char)s[i]))
				blank = 0;
		s += len + (end ? 1 : 0);
		if (blank && !end)
			break;
		struct money m;
		if (blank || len >= sizeof item || out->n == MONEY_LIST_MAX)
			goto fail;
		memcpy(item, start, len);
		item[len] = '\0';
		if (money_parse(item, &m) != RD_OK || money_list_get(out, m.cur))
			goto fail;
		out->v[out->n++] = m;
		continue;
fail:
		if (bad)
			*bad = start;
		return RD_EINVAL;
	}
	return RD_OK;
}

const struct money *money_list_get(const struct money_list *l, const char *cur)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].cur, cur) == 0)
			return &l->v[i];
	return NULL;
}

enum rd_err money_decimal(int64_t minor, const char *cur, char *buf, size_t n)
{
	int exp = money_exponent(cur);
	if (exp < 0)
		return RD_EINVAL;
	/* magnitude as unsigned so INT64_MIN is fine */
	uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	uint64_t scale = 1;
	for (int i = 0; i < exp; i++)
		scale *= 10;
	int w;
	if (exp == 0)
		w = snprintf(buf, n, "%s%llu", minor < 0 ? "-" : "", (unsigned long long)mag);
	else
		w = snprintf(buf, n, "%s%llu.%0*llu", minor < 0 ? "-" : "",
			     (unsigned long long)(mag / scale), exp,
			     (unsigned long long)(mag % scale));
	return (w < 0 || (size_t)w >= n) ? RD_ELIMIT : RD_OK;
}

static const char *pick_locale(const char *locale)
{
	for (size_t i = 0; locale && i < RD_ARRAY_LEN(known_locales); i++)
		if (strcasecmp(locale, known_locales[i]) == 0)
			return known_locales[i];
	return "en";
}

/* ICU is opened on the first money_format (dlopen), not linked: an idle
 * gateway does not carry its libraries (~2.5 MB of pages with libstdc++).
 * The names looked up are ICU's versioned ones: <unicode/urename.h> turns
 * unum_open into unum_open_72, and ICU_NAME stringifies that. */
#define ICU_STR_(x) #x
#define ICU_NAME(x) ICU_STR_(x)
#define ICU_LIB "libicui18n.so." ICU_NAME(U_ICU_VERSION_MAJOR_NUM)

#define ICU_FUNCS(X)                                                           \
	X(uloc_forLanguageTag)                                                 \
	X(unum_open)                                                           \
	X(unum_setAttribute)                                                   \
	X(unum_setTextAttribute)                                               \
	X(unum_formatDecimal)                                                  \
	X(unum_close)                                                          \
	X(u_charsToUChars)                                                     \
	X(u_strToUTF8)

static struct {
#define X(f) __typeof__(f) *f;
	ICU_FUNCS(X)
#undef X
	int ok;
} icu;
static pthread_once_t icu_once = PTHREAD_ONCE_INIT;

static void icu_open(void)
{
	void *h = dlopen(ICU_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		LOG_E("money", "icu_missing", "%s", dlerror());
		return;
	}
#define X(f)                                                                   \
	if (!(*(void **)&icu.f = dlsym(h, ICU_NAME(f)))) {                     \
		LOG_E("money", "icu_missing", "%s: no %s", ICU_LIB, ICU_NAME(f)); \
		return;                                                        \
	}
	ICU_FUNCS(X)
#undef X
	icu.ok = 1; /* h stays open for the life of the process */
}

enum rd_err money_format(int64_t minor, const char *cur, const char *locale, char *buf, size_t n)
{
	char dec[48], icu_loc[64];
	UChar out[128], ucur[4];
	UErrorCode st = U_ZERO_ERROR;
	int is_token = strcmp(cur, "USDC") == 0; /* not ISO 4217: number + code */
	enum rd_err err = money_decimal(minor, cur, dec, sizeof dec);
	if (err)
		return err;
	pthread_once(&icu_once, icu_open);
	if (!icu.ok)
		return RD_EUNAVAIL;
	icu.uloc_forLanguageTag(pick_locale(locale), icu_loc, sizeof icu_loc, NULL, &st);
	if (U_FAILURE(st))
		return RD_EINVAL;
	UNumberFormat *fmt = icu.unum_open(is_token ? UNUM_DECIMAL : UNUM_CURRENCY, NULL, 0,
				       icu_loc, NULL, &st);
	if (U_FAILURE(st)) /* U_USING_DEFAULT_WARNING is not a failure */
		return RD_EINVAL;
	if (is_token) {
		int exp = money_exponent(cur);
		icu.unum_setAttribute(fmt, UNUM_MIN_FRACTION_DIGITS, exp);
		icu.unum_setAttribute(fmt, UNUM_MAX_FRACTION_DIGITS, exp);
	} else {
		icu.u_charsToUChars(cur, ucur, 3);
		ucur[3] = 0;
		icu.unum_setTextAttribute(fmt, UNUM_CURRENCY_CODE, ucur, 3, &st);
	}
	int32_t len = icu.unum_formatDecimal(fmt, dec, -1, out, RD_ARRAY_LEN(out), NULL, &st);
	icu.unum_close(fmt);
	if (U_FAILURE(st) || len >= (int32_t)RD_ARRAY_LEN(out))
		return RD_EINVAL;
	int32_t wrote = 0;
	icu.u_strToUTF8(buf, (int32_t)n, &wrote, out, len, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || (size_t)wrote >= n)
		return RD_ELIMIT;
	if (is_token) {
		size_t used = (size_t)wrote;
		int w = snprintf(buf + used, n - used, " %s", cur);
		if (w < 0 || (size_t)w >= n - used)
			return RD_ELIMIT;
	}
	return RD_OK;
}
