/* review.c — escalation tickets in Redis (review.h), and the redaction of
 * card data in what a reviewer will read (common/redact.h's rule).
 *
 * Ticket ids come from a gapless sequence while every key still goes through
 * KEYS: the caller reads rd:ticket:seq and proposes seq + 1; the script takes
 * it only if the sequence has not moved, otherwise it answers with the
 * current value and writes nothing (see creditnote.c). */
#include "agent/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/rscript.h"
#include "common/log.h"
#include "common/redact.h"

#define REVIEW_IKEY_MAX 256
#define REVIEW_ID_MIN_OUT 32
#define REVIEW_RETRIES 64

/* KEYS[1] rd:ticket:bykey  [2] rd:ticket:seq  [3] rd:ticket:{id}
 * [4] rd:tickets:open
 * ARGV[1] ikey [2] expected seq [3] id [4] created_at, then [5..] field,
 * value pairs for the ticket hash.
 * Returns {"found", id} | {"retry", current seq} | {"created", id}. */
static struct rscript open_script = {
	.name = "review_open",
	.src = "local got = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if got then return {'found', got} end\n"
	"local seq = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if seq ~= tonumber(ARGV[2]) then return {'retry', tostring(seq)} end\n"
	"if redis.call('EXISTS', KEYS[3]) == 1 then\n"
	"  return redis.error_reply('ERR ticket ' .. ARGV[3] .. ' exists: sequence behind')\n"
	"end\n"
	"redis.call('INCR', KEYS[2])\n"
	"local fields = {}\n"
	"for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end\n"
	"redis.call('HSET', KEYS[3], 'id', ARGV[3], 'ikey', ARGV[1], 'created_at', ARGV[4],\n"
	"           'status', 'open', unpack(fields))\n"
	"redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"return {'created', ARGV[3]}\n",
};

enum rd_err review_open(redisContext *rc, const struct ticket_req *req, char *id_out,
			size_t n, int *created)
{
	char kticket[RSCRIPT_KEY_MAX], id[32], sseq[24], amount[24], createdat[24], word[16];
	redisReply *r = NULL;
	long long seq;
	enum rd_err e;

	*created = 0;
	if (n < REVIEW_ID_MIN_OUT || !req->ikey || !req->ikey[0] ||
	    strlen(req->ikey) > REVIEW_IKEY_MAX || req->amount < 0)
		return RD_EINVAL;
	snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
	snprintf(createdat, sizeof createdat, "%lld", (long long)req->created_at);
	if ((e = rscript_counter(rc, "rd:ticket:seq", &seq)) != RD_OK)
		return e;

	for (int attempt = 0; attempt < REVIEW_RETRIES; attempt++) {
		snprintf(sseq, sizeof sseq, "%lld", seq);
		snprintf(id, sizeof id, "T-%04lld", seq + 1);
		if ((e = rscript_key(kticket, sizeof kticket, "rd:ticket:%s", id)) != RD_OK)
			return e;
		const char *keys[] = { "rd:ticket:bykey", "rd:ticket:seq", kticket,
				       "rd:tickets:open" };
		const char *args[] = {
			req->ikey, sseq, id, createdat,
			"conversation_id", req->conversation_id,
			"channel", req->channel,
			"channel_user_id", req->channel_user_id,
			"locale", req->locale,
			"order_id", req->order_id,
			"amount", amount,
			"currency", req->currency,
			"reason", req->reason,
			"decision_json", req->decision_json ? req->decision_json : "{}",
			"request_text", req->request_text,
			"suggested_action", req->suggested_action,
		};
		if ((e = rscript_run(rc, &open_script, RD_ARRAY_LEN(keys), keys,
				     RD_ARRAY_LEN(args), args, &r)) != RD_OK)
			return e;
		int retry;
		e = rscript_numbered(r, word, sizeof word, id_out, n, &seq, &retry);
		freeReplyObject(r);
		if (e != RD_OK)
			return e;
		if (retry) {
			rscript_backoff(attempt);
			continue;
		}
		*created = strcmp(word, "created") == 0;
		return RD_OK;
	}
	LOG_W("review", "seq_contention", "gave up after %d attempts", REVIEW_RETRIES);
	return RD_EUNAVAIL;
}

char *review_redact(const char *text)
{
	return redact_text(text, NULL);
}
