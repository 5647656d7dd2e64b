/* limits.h — how many messages one customer may send (issue #8).
 *
 * A customer is a channel and its user id: a WhatsApp wa_id, a Slack user,
 * a web chat session, a test-channel user. Their budget is [limits]
 * customer_messages_per_minute: a window opens with their first message and
 * lasts a minute; the messages past the budget inside it are still stored
 * and kept in the transcript (the platform always had its 200), but the
 * agent does not act on them — no understanding, no LLM, no refund — and
 * the customer gets one polite reply per window (template rate_limited)
 * instead of silence. Counted in Redis, so every gateway process shares one
 * budget per customer. Messages that are not a customer's (a reviewer's
 * click on a review card, a rail's news) are never counted.
 *
 * At-least-once safe: the window keeps the ids of the messages it counted
 * and the id of the one that got the reply, so a message replayed after a
 * crash gets the verdict it had. */
#ifndef RD_LIMITS_H
#define RD_LIMITS_H

#include <hiredis.h>
#include "common/model.h"

#define LIMITS_WINDOW_MS 60000

enum limit_verdict {
	LIMIT_OK = 0,        /* within the budget (or not counted): run the agent */
	LIMIT_OVER,          /* over: keep it, say nothing (the customer was told) */
	LIMIT_OVER_NOTIFY,   /* over, and the one message of the window to answer politely */
};

/* The count is made only while the caller holds its lock on the message's
 * conversation — key holding value — so messages are counted in the order
 * they are handled, whatever order workers picked them up in. */
struct limits_guard {
	const char *key;   /* "rd:lock:{<conversation_id>}" */
	const char *value; /* what the holder wrote there (its consumer name) */
};

/* Count in against its customer's budget of per_minute messages (0: no
 * limit, always LIMIT_OK without a round trip). Worker thread, blocking on
 * rc. RD_EREDIS: nothing is known, retry the message. RD_EBUSY: g is not
 * held, nothing counted. */
enum rd_err limits_customer(redisContext *rc, const struct message *in, int per_minute,
			    const struct limits_guard *g, enum limit_verdict *out) RD_WUR;

/* The same count pipelined, so it shares a round trip with the command that
 * takes the lock (gateway/worker.c sends it right after the turn's first
 * script): limits_customer_append queues it on rc and returns 1, or returns
 * 0 when in is not counted (the verdict is LIMIT_OK: read nothing), or -1
 * when nothing could be queued (ids too long for a key, out of memory).
 * limits_customer_read reads its reply in turn: RD_OK with *out; RD_EBUSY
 * when the lock was not held when it ran (not counted); RD_ENOTFOUND when
 * Redis did not know the script yet (not counted: read the rest of the
 * pipeline, then call limits_customer); RD_EREDIS. */
int limits_customer_append(redisContext *rc, const struct message *in, int per_minute,
			   const struct limits_guard *g);
enum rd_err limits_customer_read(redisContext *rc, enum limit_verdict *out) RD_WUR;

#endif
