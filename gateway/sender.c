#include "gateway/sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/rscript.h"
#include "channels/channel.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/model.h"
#include "common/util.h"
#include "gateway/consumer.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"
#include "gateway/outbox.h"

/* Last sequence number delivered for a conversation (0 when none), or -1. */
static long long delivered_seq(redisContext *rc, const char *cid)
{
	char key[MODEL_ID_LEN + 16];
	snprintf(key, sizeof key, "rd:out:sent:{%s}", cid);
	redisReply *r = rscript_command(rc, "GET", key, NULL);
	long long v = -1;
	if (r && r->type == REDIS_REPLY_NIL)
		v = 0;
	else if (r && r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	return v;
}

/* Done with an entry: remember its sequence number and ack it, together.
 * opened: the MULTI is already queued, followed by `queued` commands of the
 * channel's send_queue (delivered with the ack, or not at all). Reads every
 * reply. 0, or -1: the entry stays pending (retried). */
static int finish_outbox(redisContext *rc, const char *id, const char *cid, long long seq,
			 int opened, int queued)
{
	if (!cid && !opened)
		return consumer_ack(rc, KEY_OUTBOX, GROUP_SENDERS, id);
	char key[MODEL_ID_LEN + 16], sseq[24];
	if (!opened)
		rscript_append(rc, "MULTI", NULL);
	if (cid) {
		snprintf(key, sizeof key, "rd:out:sent:{%s}", cid);
		snprintf(sseq, sizeof sseq, "%lld", seq);
		rscript_append(rc, "SET", key, sseq, "EX", RD_XSTR(OUT_SEQ_TTL_S), NULL);
	}
	rscript_append(rc, "XACK", KEY_OUTBOX, GROUP_SENDERS, id, NULL);
	rscript_append(rc, "EXEC", NULL);
	int n = 1 + queued + (cid ? 1 : 0) + 2, ok = 1;
	for (int i = 0; i < n; i++) {
		redisReply *r = NULL;
		if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r) {
			ok = 0;
			break;
		}
		if (i == n - 1 && r->type != REDIS_REPLY_ARRAY)
			ok = 0; /* EXECABORT (a command refused when queued: out of memory…) */
		freeReplyObject(r);
	}
	return ok ? 0 : -1;
}

/* Give up a transaction opened for send_queue: MULTI, `queued` commands,
 * DISCARD; every reply read. */
static void discard_outbox(redisContext *rc, int queued)
{
	rscript_append(rc, "DISCARD", NULL);
	for (int i = 0; i < queued + 2; i++) {
		redisReply *r = NULL;
		if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r)
			return;
		freeReplyObject(r);
	}
}

int sender_handle(redisContext *rc, const char *id, const char *json, size_t len, const char *cid,
		  long long seq, int claimed, const atomic_int *running)
{
	if (cid && seq > 0 && (claimed || seq > 1)) {
		/* in order per conversation: an earlier reply still pending (a
		 * retry, or another sender) goes first; a fresh entry waits a
		 * little, then is left pending and comes back with XAUTOCLAIM (a
		 * retry does not wait: its predecessor is being retried too).
		 * A conversation's first entry read fresh (XREADGROUP ">": never
		 * handed to a sender before) has nothing before it and cannot have
		 * been sent: it skips the round trip. */
		long long done = delivered_seq(rc, cid);
		for (int i = 0; !claimed && done >= 0 && done < seq - 1 && i < 20 && atomic_load(running);
		     i++) {
			usleep(10000);
			done = delivered_seq(rc, cid);
		}
		if (done < 0)
			return -1;
		if (seq <= done)
			return consumer_ack(rc, KEY_OUTBOX, GROUP_SENDERS, id); /* delivered already */
		if (seq > done + 1)
			return -1;
	}
	struct outbound ob;
	if (outbound_from_json(json, len, &ob) != RD_OK) {
		LOG_E("sender", "bad_entry", "outbox %s is not an outbound message: dropped", id);
		metrics_error("parse");
		return finish_outbox(rc, id, cid, seq, 0, 0);
	}
	void *ctx;
	const struct channel_ops *ch = channel_find(ob.channel, &ctx);
	enum rd_err err = RD_ENOTFOUND;
	int opened = 0, queued = 0;
	if (ch) {
		struct send_env env = { rc, httpc_thread_handle(), id };
		if (ch->send_queue) { /* delivered by the transaction that acks it */
			rscript_append(rc, "MULTI", NULL);
			opened = 1;
			err = ch->send_queue(ctx, &env, &ob, &queued);
		} else {
			err = ch->send(ctx, &env, &ob);
		}
	}
	if (err && opened) {
		discard_outbox(rc, queued);
		opened = queued = 0;
	}
	int ret;
	if (err == RD_EUNAVAIL) {
		LOG_W("sender", "send_retry", "outbox %s on %s: will retry", id, ob.channel);
		metrics_error("send");
		ret = -1;
	} else {
		if (err) {
			LOG_E("sender", "send_failed", "outbox %s on %s: %s", id, ob.channel, rd_strerror(err));
			metrics_error("send");
		}
		ret = finish_outbox(rc, id, cid, seq, opened, queued);
		if (!err && (!opened || ret == 0)) { /* a queued delivery is made by the EXEC */
			metrics_message_out(ob.channel);
			if (ob.received_at_ms)
				metrics_reply_latency_ms(now_ms() - ob.received_at_ms);
		}
	}
	outbound_free(&ob);
	return ret;
}
