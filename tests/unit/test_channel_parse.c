/* test_channel_parse.c — what fuzzing found in the channels' readers
 * (fuzz/regressions/, FAULTS.md "Fuzzing"), kept where `make test` sees it
 * without clang: text past MODEL_MAX_TEXT cut inside a UTF-8 character
 * (the message then lost its text on the way to the agent), and a Slack
 * review click whose "action_id:ticket" did not fit the payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "channels/slack_int.h"
#include "channels/webchat_int.h"
#include "common/model.h"

/* "a" then 2100 × "é" (2 bytes each): the byte at MODEL_MAX_TEXT is the
 * second half of an "é", so a cut there splits it. */
static char *long_text(void)
{
	size_t n = 1 + 2 * 2100;
	char *s = malloc(n + 1);
	assert_non_null(s);
	s[0] = 'a';
	for (size_t i = 1; i < n; i += 2)
		memcpy(s + i, "\xc3\xa9", 2);
	s[n] = '\0';
	return s;
}

/* m's text is a whole-character prefix of what was sent, and the message
 * crosses the inbound stream with it. */
static void assert_cut_ok(const struct message *m)
{
	assert_non_null(m->text);
	assert_int_equal(strlen(m->text), MODEL_MAX_TEXT - 1); /* "a" + 2047 × "é" */
	json_t *j = json_string(m->text);                      /* NULL for invalid UTF-8 */
	assert_non_null(j);
	json_decref(j);
	char *s = message_to_json(m);
	assert_non_null(s);
	struct message back;
	assert_int_equal(message_from_json(s, strlen(s), &back), RD_OK);
	assert_non_null(back.text);
	assert_string_equal(back.text, m->text);
	message_free(&back);
	free(s);
}

static void test_slack_long_text_cut_at_a_character(void **state)
{
	(void)state;
	char *text = long_text();
	json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "type", "event_callback",
				"team_id", "T0SHOP", "event", "type", "message", "user", "U0MARINA",
				"channel", "D0MARINA", "ts", "1700000090.000200", "text", text);
	assert_non_null(doc);
	struct message m;
	assert_int_equal(slack_parse_event(doc, &m), SLACK_MESSAGE);
	assert_cut_ok(&m);
	message_free(&m);
	json_decref(doc);
	free(text);
}

static void test_webchat_long_text_cut_at_a_character(void **state)
{
	(void)state;
	char *text = long_text();
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "message", "id", "m-1", "text", text);
	assert_non_null(o);
	struct wc_frame f;
	struct message m;
	webchat_parse_frame(o, &f);
	assert_int_equal(f.type, WC_FRAME_MESSAGE);
	assert_null(f.reason);
	assert_int_equal(webchat_frame_message(&f, "0123456789abcdef", "pt-BR", &m), RD_OK);
	assert_cut_ok(&m);
	message_free(&m);
	json_decref(o);
	free(text);
}

static json_t *review_click(const char *action_id, const char *ticket)
{
	return json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:[{s:s, s:s, s:s}]}", "type", "block_actions",
			 "user", "id", "U0LEAD", "channel", "id", "C0REVIEW", "message", "ts",
			 "1700000050.000100", "actions", "action_id", action_id, "value", ticket,
			 "action_ts", "1700000101.123456");
}

static void test_slack_review_payload_whole_or_ignored(void **state)
{
	(void)state;
	struct message m;
	json_t *doc = review_click("review_approve", "rv_8f3a9c2d");
	assert_int_equal(slack_parse_block_actions(doc, &m), SLACK_REVIEW);
	assert_string_equal(m.payload, "review_approve:rv_8f3a9c2d");
	assert_string_equal(m.conversation_id, "review:rv_8f3a9c2d");
	message_free(&m);
	json_decref(doc);

	/* "action_id:ticket" longer than the payload: it would lose the ticket */
	char long_id[80];
	memset(long_id, 'Z', sizeof long_id - 1);
	memcpy(long_id, "review_approve", 14);
	long_id[sizeof long_id - 1] = '\0';
	doc = review_click(long_id, "rv_8f3a9c2d");
	assert_int_equal(slack_parse_block_actions(doc, &m), SLACK_IGNORE);
	assert_null(m.route);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack_long_text_cut_at_a_character),
		cmocka_unit_test(test_webchat_long_text_cut_at_a_character),
		cmocka_unit_test(test_slack_review_payload_whole_or_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
