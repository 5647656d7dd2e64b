/* slack_events.c — fuzz the Slack Events API reader (slack_parse_event,
 * channels/slack.c): the raw POST body of /webhooks/slack/events, read as
 * the handler reads it (jansson, duplicates refused). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channels/slack_int.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	struct message m;
	enum slack_parsed p = slack_parse_event(doc, &m);
	FUZZ_CHECK(p == SLACK_IGNORE || p == SLACK_MESSAGE || p == SLACK_CHALLENGE);
	if (p == SLACK_CHALLENGE) {
		const char *type = json_string_value(json_object_get(doc, "type"));
		FUZZ_CHECK(type && strcmp(type, "url_verification") == 0);
	}
	if (p != SLACK_MESSAGE) {
		FUZZ_CHECK(!m.text && !m.route); /* nothing owned */
		json_decref(doc);
		return 0;
	}
	fuzz_check_message(&m, "slack");
	FUZZ_CHECK(m.text != NULL); /* "" when nothing is left of it: MSG_UNSUPPORTED */
	FUZZ_CHECK((m.kind == MSG_TEXT) == (m.text[0] != '\0'));
	FUZZ_CHECK(m.kind == MSG_TEXT || m.kind == MSG_UNSUPPORTED);
	FUZZ_CHECK(strncmp(m.conversation_id, "slack:", 6) == 0);
	/* the dedupe key is channel:ts, both from the event */
	json_t *ev = json_object_get(doc, "event");
	const char *channel = json_string_value(json_object_get(ev, "channel"));
	const char *ts = json_string_value(json_object_get(ev, "ts"));
	FUZZ_CHECK(channel && ts);
	size_t cl = strlen(channel);
	FUZZ_CHECK(strncmp(m.message_id, channel, cl) == 0 && m.message_id[cl] == ':' &&
		   strcmp(m.message_id + cl + 1, ts) == 0);
	/* the agent answers where the customer wrote */
	FUZZ_CHECK(m.route != NULL);
	json_t *r = json_loads(m.route, 0, NULL);
	const char *rc = json_string_value(json_object_get(r, "channel"));
	FUZZ_CHECK(rc && strcmp(rc, channel) == 0);
	json_decref(r);
	message_free(&m);
	json_decref(doc);
	return 0;
}
