/* whatsapp.c — fuzz the WhatsApp webhook notification reader
 * (wa_parse_notification, channels/whatsapp.c): the raw POST body Meta
 * sends to /webhooks/whatsapp, after its signature check. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channels/whatsapp_int.h"
#include "fuzz/fuzz.h"

#define DEFAULT_PNID "106540352242922"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct message msgs[WA_MAX_MESSAGES];
	static struct wa_status st[WA_MAX_MESSAGES];
	size_t n = 99, ns = 99;
	char why[200] = "";

	enum rd_err err = wa_parse_notification((const char *)data, size, DEFAULT_PNID, msgs, &n, st, &ns,
						why, sizeof why);
	if (err != RD_OK) {
		FUZZ_CHECK(err == RD_EPROTO);
		FUZZ_CHECK(n == 0 && ns == 0);
		FUZZ_CHECK(why[0] && FUZZ_TERMINATED(why));
		return 0;
	}
	FUZZ_CHECK(n <= WA_MAX_MESSAGES && ns <= WA_MAX_MESSAGES);
	for (size_t i = 0; i < n; i++) {
		struct message *m = &msgs[i];
		fuzz_check_message(m, "whatsapp");
		/* the wa_id is the customer's verified phone */
		size_t ul = strlen(m->channel_user_id);
		FUZZ_CHECK(ul >= 6 && ul <= 20 && strspn(m->channel_user_id, "0123456789") == ul);
		FUZZ_CHECK(strncmp(m->conversation_id, "whatsapp:", 9) == 0 &&
			   strcmp(m->conversation_id + 9, m->channel_user_id) == 0);
		FUZZ_CHECK(m->verified_phone[0] == '+' && strcmp(m->verified_phone + 1, m->channel_user_id) == 0);
		/* replies go back through a phone number id */
		FUZZ_CHECK(m->route != NULL);
		json_t *r = json_loads(m->route, 0, NULL);
		const char *pnid = json_string_value(json_object_get(r, "phone_number_id"));
		FUZZ_CHECK(pnid && pnid[0]);
		json_decref(r);
		message_free(m);
	}
	for (size_t i = 0; i < ns; i++) {
		FUZZ_CHECK(FUZZ_TERMINATED(st[i].wamid) && FUZZ_TERMINATED(st[i].status) &&
			   FUZZ_TERMINATED(st[i].error_code));
		FUZZ_CHECK(st[i].wamid[0] && st[i].status[0]);
		size_t el = strlen(st[i].error_code);
		FUZZ_CHECK(strspn(st[i].error_code, "-0123456789") == el);
	}
	return 0;
}
