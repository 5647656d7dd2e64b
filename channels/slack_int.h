/* slack_int.h — what slack.c (Events API and interactivity in) and
 * slack_out.c (Web API out, review cards) share. Private to channels/. */
#ifndef RD_SLACK_INT_H
#define RD_SLACK_INT_H

#include <stdint.h>
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

/* Deliver one outbox entry (channel_ops.send). */
enum rd_err slack_send(void *ctx, const struct send_env *env, const struct outbound *ob);

#endif
