/* nlu.c — fuzz entity extraction and understanding (nlu_understand,
 * agent/nlu.c + agent/nlu_entities.c) over any customer text: every
 * channel hands the agent untrusted UTF-8 (or, from a buggy channel, not). */
#include <stdlib.h>
#include <string.h>

#include "agent/nlu.h"
#include "common/money.h"
#include "fuzz/fuzz.h"

static int ascii_in(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct understanding u, again;
	memset(&u, 0xA5, sizeof u); /* nothing may be left from before */
	nlu_understand(text, &u);

	FUZZ_CHECK(FUZZ_TERMINATED(u.lang) && FUZZ_TERMINATED(u.order_id) && FUZZ_TERMINATED(u.email) &&
		   FUZZ_TERMINATED(u.amount.cur));
	FUZZ_CHECK(!u.lang[0] || !strcmp(u.lang, "en") || !strcmp(u.lang, "pt") || !strcmp(u.lang, "es"));
	FUZZ_CHECK(u.intent >= INTENT_OTHER && u.intent <= INTENT_THANKS);
	FUZZ_CHECK(u.reason >= REASON_NONE && u.reason <= REASON_CHANGED_MIND);
	FUZZ_CHECK(intent_name(u.intent) != NULL && reason_name(u.reason) != NULL);
	FUZZ_CHECK(u.injection == 0 || u.injection == 1);
	FUZZ_CHECK(u.chargeback_threat == 0 || u.chargeback_threat == 1);
	/* an order id is a word of the text: letters, digits, '_' '-' */
	FUZZ_CHECK(ascii_in(u.order_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"));
	/* an email is lower-cased ASCII with one '@' between a local part and a domain */
	if (u.email[0]) {
		const char *at = strchr(u.email, '@');
		FUZZ_CHECK(at && at > u.email && at[1] && !strchr(at + 1, '@'));
		FUZZ_CHECK(ascii_in(u.email, "abcdefghijklmnopqrstuvwxyz0123456789._%+-@"));
	}
	if (u.has_amount) {
		FUZZ_CHECK(u.amount.minor >= 0);
		/* "" (ambiguous: "pesos") or a code money knows: ISO 4217 or USDC */
		FUZZ_CHECK(!u.amount.cur[0] || (money_exponent(u.amount.cur) >= 0 &&
						 ascii_in(u.amount.cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")));
	} else {
		FUZZ_CHECK(!u.amount.cur[0]);
	}
	/* pure: the same text, the same understanding */
	memset(&again, 0, sizeof again);
	nlu_understand(text, &again);
	FUZZ_CHECK(!strcmp(u.lang, again.lang) && u.intent == again.intent &&
		   !strcmp(u.order_id, again.order_id) && !strcmp(u.email, again.email) &&
		   u.has_amount == again.has_amount && u.amount.minor == again.amount.minor &&
		   !strcmp(u.amount.cur, again.amount.cur) && u.reason == again.reason &&
		   u.injection == again.injection && u.chargeback_threat == again.chargeback_threat);
	free(text);
	return 0;
}
