/* stripe_event.c — fuzz the Stripe event reader (stripe_parse_event,
 * gateway/webhooks_rails.c): the body of POST /webhooks/stripe once its
 * signature is checked (refund.* and charge.refunded events). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz/fuzz.h"
#include "gateway/webhooks_rails.h"

#define MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message msgs[MAX];
	size_t n = 99;
	enum rd_err err = stripe_parse_event((const char *)data, size, msgs, MAX, &n);
	if (err != RD_OK) {
		FUZZ_CHECK(err == RD_EPROTO && n == 0);
		return 0;
	}
	FUZZ_CHECK(n <= MAX);
	for (size_t i = 0; i < n; i++) {
		struct message *m = &msgs[i];
		fuzz_check_message(m, "system");
		FUZZ_CHECK(m->kind == MSG_BUTTON && strcmp(m->payload, "rail_update") == 0);
		/* the news the agent reads: our refund, a final status */
		json_t *news = json_loads(m->text, JSON_REJECT_DUPLICATES, NULL);
		const char *key = json_string_value(json_object_get(news, "refund_id"));
		const char *st = json_string_value(json_object_get(news, "status"));
		FUZZ_CHECK(key && key[0] && strlen(key) <= 80);
		FUZZ_CHECK(st && (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0));
		FUZZ_CHECK(strncmp(m->message_id, "rail:", 5) == 0);
		json_decref(news);
		message_free(m);
	}
	return 0;
}
