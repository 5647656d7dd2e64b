/* common.c — shared checks of the fuzz targets (fuzz.h). */
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sanitizer/common_interface_defs.h>

#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* every log line runs (their formatting sees hostile strings too);
	 * run.sh sends the target's stderr to /dev/null while fuzzing */
	log_threshold = LOG_DEBUG;
	return 0;
}

void fuzz_fail(const char *what, const char *file, int line)
{
	char buf[512];
	snprintf(buf, sizeof buf, "invariant failed: %s (%s:%d)", what, file, line);
	fprintf(stderr, "%s\n", buf);
	__sanitizer_report_error_summary(buf); /* reaches libFuzzer's log even with stderr closed */
	abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int fuzz_utf8_ok(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static int same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

void fuzz_check_message(const struct message *m, const char *chan)
{
	FUZZ_CHECK(FUZZ_TERMINATED(m->channel));
	FUZZ_CHECK(FUZZ_TERMINATED(m->channel_user_id));
	FUZZ_CHECK(FUZZ_TERMINATED(m->conversation_id));
	FUZZ_CHECK(FUZZ_TERMINATED(m->message_id));
	FUZZ_CHECK(FUZZ_TERMINATED(m->payload));
	FUZZ_CHECK(FUZZ_TERMINATED(m->locale));
	FUZZ_CHECK(FUZZ_TERMINATED(m->verified_phone));
	FUZZ_CHECK(FUZZ_TERMINATED(m->display_name));
	FUZZ_CHECK(strcmp(m->channel, chan) == 0);
	FUZZ_CHECK(m->channel_user_id[0] && m->conversation_id[0] && m->message_id[0]);
	FUZZ_CHECK(m->kind >= MSG_TEXT && m->kind <= MSG_UNSUPPORTED);
	FUZZ_CHECK(m->kind != MSG_TEXT || (m->text && m->text[0]));
	FUZZ_CHECK(m->kind != MSG_BUTTON || m->payload[0]);
	FUZZ_CHECK(!m->text || strlen(m->text) <= MODEL_MAX_TEXT);
	FUZZ_CHECK(fuzz_utf8_ok(m->channel_user_id) && fuzz_utf8_ok(m->conversation_id) &&
		   fuzz_utf8_ok(m->message_id) && fuzz_utf8_ok(m->payload) && fuzz_utf8_ok(m->locale) &&
		   fuzz_utf8_ok(m->verified_phone) && fuzz_utf8_ok(m->display_name));
	FUZZ_CHECK(!m->text || fuzz_utf8_ok(m->text));
	if (m->route) {
		json_t *r = json_loads(m->route, JSON_REJECT_DUPLICATES, NULL);
		FUZZ_CHECK(json_is_object(r));
		json_decref(r);
	}

	/* what the inbound stream carries must come back whole */
	char *s = message_to_json(m);
	FUZZ_CHECK(s != NULL);
	struct message back;
	FUZZ_CHECK(message_from_json(s, strlen(s), &back) == RD_OK);
	free(s);
	FUZZ_CHECK(strcmp(back.channel, m->channel) == 0);
	FUZZ_CHECK(strcmp(back.channel_user_id, m->channel_user_id) == 0);
	FUZZ_CHECK(strcmp(back.conversation_id, m->conversation_id) == 0);
	FUZZ_CHECK(strcmp(back.message_id, m->message_id) == 0);
	FUZZ_CHECK(back.kind == m->kind);
	FUZZ_CHECK(strcmp(back.payload, m->payload) == 0);
	FUZZ_CHECK(strcmp(back.locale, m->locale) == 0);
	FUZZ_CHECK(strcmp(back.verified_phone, m->verified_phone) == 0);
	FUZZ_CHECK(strcmp(back.display_name, m->display_name) == 0);
	FUZZ_CHECK(same_str(back.text, m->text));
	FUZZ_CHECK(same_str(back.route, m->route));
	FUZZ_CHECK(back.received_at_ms == m->received_at_ms);
	FUZZ_CHECK(back.platform_ts == m->platform_ts);
	FUZZ_CHECK(back.is_test == m->is_test);
	message_free(&back);
}
