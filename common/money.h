/* money.h — amounts are integer minor units plus a currency code. Never a float.
 *
 * Currency codes are ISO 4217 (USD, EUR, BRL, JPY, …) plus USDC, which
 * redress counts in cents (2 decimals) like USD. */
#ifndef RD_MONEY_H
#define RD_MONEY_H

#include <stdint.h>
#include "common/rd.h"

#define MONEY_CUR_LEN 8 /* "USDC" + NUL, with room */
#define MONEY_LIST_MAX 16

struct money {
	int64_t minor;               /* minor units: 18600 BRL = R$ 186,00 */
	char cur[MONEY_CUR_LEN];     /* upper-case code, NUL-terminated */
};

/* A per-currency threshold list, e.g. "USD 75.00, EUR 70.00, BRL 400.00". */
struct money_list {
	size_t n;
	struct money v[MONEY_LIST_MAX];
};

/* Number of decimals of a currency (2 for USD, 0 for JPY, 3 for KWD), or -1
 * when the code is not one redress knows. */
int money_exponent(const char *cur);

/* Parse a config amount "USD 75.00" (code, space, decimal with '.' and at most
 * the currency's decimals; "USD 75" is fine). RD_EINVAL on anything else. */
enum rd_err money_parse(const char *s, struct money *out) RD_WUR;

/* Parse "USD 75.00, EUR 70.00" into a list; an empty string gives an empty
 * list. On error *bad (if non-NULL) points at the offending item's start. */
enum rd_err money_list_parse(const char *s, struct money_list *out, const char **bad) RD_WUR;

/* The entry for cur, or NULL when the list has none (borrowed pointer). */
const struct money *money_list_get(const struct money_list *l, const char *cur);

/* Plain decimal text of an amount: (18600, "BRL") → "186.00"; (500, "JPY") → "500".
 * Negative amounts get a leading '-'. RD_ELIMIT if buf is too small. */
enum rd_err money_decimal(int64_t minor, const char *cur, char *buf, size_t n) RD_WUR;

/* Format for people with ICU: (18600, "BRL", "pt-BR") → "R$ 186,00"
 * (the space is U+00A0), (4900, "USD", "en") → "$49.00", (1250, "EUR", "de")
 * → "12,50 €". locale is a BCP 47 tag or ICU id; an unknown one is formatted
 * as "en". Output is UTF-8, NUL-terminated. RD_ELIMIT if buf is too small,
 * RD_EINVAL for an unknown currency, RD_EUNAVAIL when ICU cannot be loaded
 * (it is opened on the first call; logged). No float is involved. */
enum rd_err money_format(int64_t minor, const char *cur, const char *locale,
			 char *buf, size_t n) RD_WUR;

#endif
