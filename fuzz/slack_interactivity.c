/* slack_interactivity.c — fuzz the Slack interactivity reader: the raw
 * form body of /webhooks/slack/interactivity (slack_form_payload: "payload="
 * + URL-encoded JSON) and the block_actions payload in it
 * (slack_parse_block_actions), both in channels/slack.c. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channels/slack_int.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = slack_form_payload((const char *)data, size);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	struct message m;
	enum slack_parsed p = slack_parse_block_actions(doc, &m);
	FUZZ_CHECK(p == SLACK_IGNORE || p == SLACK_MESSAGE || p == SLACK_REVIEW);
	if (p == SLACK_IGNORE) {
		FUZZ_CHECK(!m.text && !m.route);
		json_decref(doc);
		return 0;
	}
	fuzz_check_message(&m, "slack");
	FUZZ_CHECK(m.kind == MSG_BUTTON && !m.text);
	FUZZ_CHECK(strncmp(m.message_id, "action:", 7) == 0);
	FUZZ_CHECK(m.route != NULL);
	if (p == SLACK_REVIEW) {
		/* payload "review_x:<ticket>", conversation "review:<ticket>" */
		FUZZ_CHECK(strncmp(m.payload, "review_", 7) == 0);
		FUZZ_CHECK(strncmp(m.conversation_id, "review:", 7) == 0);
		const char *ticket = m.conversation_id + 7;
		size_t tl = strlen(ticket), pl = strlen(m.payload);
		FUZZ_CHECK(tl && tl <= 40);
		FUZZ_CHECK(pl > tl + 7 && m.payload[pl - tl - 1] == ':' && strcmp(m.payload + pl - tl, ticket) == 0);
		json_t *r = json_loads(m.route, 0, NULL);
		FUZZ_CHECK(json_is_string(json_object_get(r, "channel")) && json_is_string(json_object_get(r, "ts")));
		json_decref(r);
	} else {
		FUZZ_CHECK(strcmp(m.payload, "confirm_yes") == 0 || strcmp(m.payload, "confirm_no") == 0);
		FUZZ_CHECK(strncmp(m.conversation_id, "slack:", 6) == 0);
	}
	message_free(&m);
	json_decref(doc);
	return 0;
}
