/* review.h — escalation tickets for humans: what falls outside policy or
 * the mandate, or what the customer asks a person for. A ticket carries the
 * full context; the Slack channel posts it as a review card.
 *
 * Redis: rd:ticket:seq counter → ids "T-0001"; rd:ticket:{id} hash (fields
 * below, amount and created_at as integers, plus id and status=open);
 * rd:tickets:open zset (created_at); rd:ticket:bykey hash
 * (idempotency key → id) so a replayed step opens no second ticket. */
#ifndef RD_REVIEW_H
#define RD_REVIEW_H

#include <stdint.h>
#include <hiredis.h>
#include "common/rd.h"

struct ticket_req {
	const char *ikey;             /* idempotency key (inbound message id + step) */
	const char *conversation_id;
	const char *channel;
	const char *channel_user_id;
	const char *locale;
	const char *order_id;         /* "" when none verified */
	int64_t amount;               /* minor units, 0 when none */
	const char *currency;         /* "" when none */
	const char *reason;           /* why: "policy", "mandate_over_per_refund", "customer_request", … */
	const char *decision_json;    /* policy result JSON, or "{}" */
	const char *request_text;     /* the customer's words, already redacted */
	const char *suggested_action; /* for the reviewer */
	int64_t created_at;           /* seconds */
};

/* Open (or find) the ticket for req->ikey; id_out (≥ 32 bytes) gets "T-0001". */
enum rd_err review_open(redisContext *rc, const struct ticket_req *req, char *id_out,
			size_t n, int *created) RD_WUR;

/* Card numbers and verification codes replaced by "[redacted]":
 * redact_text (common/redact.h) without the count. Inbound text is
 * redacted already where it enters (gateway/io.c); this is for what else a
 * reviewer reads. Returns a malloc'd copy; NULL on ENOMEM. */
char *review_redact(const char *text);

#endif
