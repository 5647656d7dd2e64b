/* slack_int.h — what slack.c (Events API and interactivity in) and
 * slack_out.c (Web API out, review cards) share. Private to channels/. */
#ifndef RD_SLACK_INT_H
#define RD_SLACK_INT_H

#include <stdint.h>
#include <jansson.h>
#include "channels/channel.h"

#define SLACK_MAX_SKEW_S (5 * 60) /* Slack: reject requests older than five minutes */

struct slack {
	const struct config *cfg;
};

/* Slack request signing ("Verifying requests from Slack"): 1 when sig is
 * "v0=" + hex HMAC-SHA256(secret, "v0:" + ts + ":" + body) and ts is within
 * five minutes of now (seconds). Constant-time over the raw body bytes. */
int slack_signature_ok(const char *secret, const char *ts, const char *sig, const char *body,
		       size_t len, int64_t now);

/* What a Slack request turned out to be (slack_parse_*). */
enum slack_parsed {
	SLACK_IGNORE = 0, /* nothing for us: answer 200 and store nothing */
	SLACK_MESSAGE,    /* a customer message or button press, in *m */
	SLACK_REVIEW,     /* a reviewer's review_* click, in *m: payload "review_x:<ticket>",
	                     conversation "review:<ticket>"; the caller checks the clicker
	                     is one of [slack] reviewers */
	SLACK_CHALLENGE,  /* url_verification: echo doc's "challenge" */
	SLACK_NOMEM,      /* out of memory: answer 503 */
};

/* An Events API body (Slack "Events API", "message" / "app_mention"
 * events), doc borrowed, a JSON object: url_verification, or one customer
 * message. Bot messages (our own included), edits, deletes and joins are
 * SLACK_IGNORE, as is an event whose team/user/channel/ts are malformed.
 * *m is zeroed first; on SLACK_MESSAGE the caller owns it (message_free). */
enum slack_parsed slack_parse_event(json_t *doc, struct message *m) RD_WUR;

/* The JSON document in an application/x-www-form-urlencoded body's
 * "payload=" field (Slack "Handling user interaction"), '+' read as a space
 * and %XX decoded. NULL when absent or not JSON; caller json_decref()s. */
json_t *slack_form_payload(const char *body, size_t len);

/* A block_actions interactivity payload (doc borrowed): confirm_yes /
 * confirm_no → SLACK_MESSAGE on the customer's thread; review_* with a
 * ticket value of at most 40 bytes → SLACK_REVIEW; anything else
 * SLACK_IGNORE. *m is zeroed first; on SLACK_MESSAGE and SLACK_REVIEW the
 * caller owns it (message_free). */
enum slack_parsed slack_parse_block_actions(json_t *doc, struct message *m) RD_WUR;

/* Deliver one outbox entry (channel_ops.send). */
enum rd_err slack_send(void *ctx, const struct send_env *env, const struct outbound *ob);

#endif
