/* testchan.c — fuzz the test channel's body reader (testchan_parse,
 * channels/testchan.c): the raw body of POST /v1/test/messages. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channels/channel.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message m;
	char reason[200] = "";
	enum rd_err err = testchan_parse((const char *)data, size, &m, reason, sizeof reason);
	if (err != RD_OK) {
		FUZZ_CHECK(err == RD_EPROTO);
		FUZZ_CHECK(reason[0] && FUZZ_TERMINATED(reason));
		FUZZ_CHECK(!m.text && !m.route);
		return 0;
	}
	fuzz_check_message(&m, "test");
	FUZZ_CHECK(m.is_test);
	FUZZ_CHECK(strncmp(m.conversation_id, "test:", 5) == 0 &&
		   strcmp(m.conversation_id + 5, m.channel_user_id) == 0);
	FUZZ_CHECK(!strchr(m.channel_user_id, '\n') && !strchr(m.message_id, '\n'));
	FUZZ_CHECK(m.kind == MSG_TEXT || m.kind == MSG_BUTTON);
	/* the fields are the body's, as sent */
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(json_is_object(o));
	const char *user = json_string_value(json_object_get(o, "user"));
	const char *text = json_string_value(json_object_get(o, "text"));
	const char *mid = json_string_value(json_object_get(o, "message_id"));
	FUZZ_CHECK(user && strcmp(user, m.channel_user_id) == 0);
	FUZZ_CHECK(text ? m.text && strcmp(text, m.text) == 0 : !m.text);
	FUZZ_CHECK(mid ? strcmp(mid, m.message_id) == 0 : strncmp(m.message_id, "t-", 2) == 0);
	json_decref(o);
	message_free(&m);
	return 0;
}
