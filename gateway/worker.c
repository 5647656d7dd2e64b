#include "gateway/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/limits.h"
#include "agent/rscript.h"
#include "channels/channel.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/consumer.h"
#include "gateway/gateway.h"
#include "gateway/io.h"
#include "gateway/metrics.h"
#include "gateway/outbox.h"
#include "gateway/sender.h"
#include "gateway/trim.h"

#define READ_COUNT 16
#define BLOCK_MS 500
#define LOCK_TTL_MS 30000
#define DONE_TTL_S DEDUPE_TTL_S /* a handled message is remembered as long as it is deduped */
#define ORDER_WAIT_MS 1000 /* longest a message waits for its predecessor (begin_turn) */
#define PARK_MAX 64        /* entries a worker sets aside while their conversation is busy */
#define PARK_BLOCK_MS 2    /* XREADGROUP's BLOCK while some are set aside */
#define MAX_THREADS 96
#define TAKEOVER_EVERY_MS 2000 /* worker 0 / sender 0: look for consumers that are gone */

/* How long an inbound entry has been waiting to start (begin_turn). */
struct wait {
	int64_t since;        /* first try (mono ms) */
	int64_t behind_since; /* first found without its predecessor handled (0: not yet) */
	int64_t next;         /* when to try again */
	int64_t touched;      /* when it was last made ours again (XCLAIM in wait_more) */
	int tries;
	int unordered;        /* waited ORDER_WAIT_MS for its predecessor: goes without it */
};

/* An inbound entry set aside (parked): its conversation is locked by another
 * turn, or the message stored before it is not handled yet. It stays pending
 * in the group under this worker, which goes on with other entries and tries
 * it again: one busy conversation never holds up the others. */
struct parked {
	char id[48]; /* stream entry id */
	char *m;     /* its m field (owned) */
	size_t len;
	long long seq;
	int claimed;
	struct wait w;
};

struct thread_ctx {
	pthread_t tid;
	int is_sender;
	int index;
	char consumer[128];
	redisContext *rc;
	int64_t next_claim;
	char claim_from[64]; /* XAUTOCLAIM cursor: where the last scan stopped ("0-0": the start) */
	int64_t next_sweep;  /* worker 0: when to look for expired tickets */
	int64_t next_poll;   /* worker 0: when to ask rails about pending refunds */
	int64_t next_trim;   /* worker 0: when to trim handled stream entries */
	int64_t next_takeover; /* worker 0, sender 0: when to look for consumers that are gone */
	struct parked *parked; /* workers: PARK_MAX entries waiting for their conversation
				* (allocated on the first; idle RSS is a target) */
	int n_parked;
};

static struct thread_ctx threads[MAX_THREADS];
static int n_threads;
static atomic_int running, busy;
static struct agent *the_agent;

/* A conversation is handled by one worker at a time, so its dialog state is
 * never written by two turns at once, and in the order its messages were
 * stored: each inbound entry carries its conversation's number s (ingest),
 * and a turn starts only when s - 1 was handled (rd:in:done:{cid}, moved
 * forward by the turn's commit). A message whose conversation is locked, or
 * whose predecessor is still with another worker, is parked: set aside and
 * tried again while the worker goes on with other entries (retry_parked).
 * It waits ORDER_WAIT_MS at most for its predecessor: one that will not come
 * — a worker's crash, a deferred turn — holds the conversation up no longer
 * than that, then this one goes first.
 * A turn starts with one round trip (begin_script): take the lock, see
 * whether the message was handled, check its number, read the dialog state.
 * KEYS: lock, done marker, rd:conv:{cid}, rd:in:done:{cid}. ARGV: consumer,
 * lock TTL (ms), s (0: none), "1" to check the order, TTL of the number (s).
 * Returns {'ok', state, last handled number} | {'locked'} | {'behind'} | {'done'}. */
static struct rscript begin_script = {
	.name = "turn_begin",
	.src = "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
	       "  return {'locked'}\n"
	       "end\n"
	       "local q = tonumber(ARGV[3])\n"
	       "local h = tonumber(redis.call('GET', KEYS[4]) or '0')\n"
	       "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
	       "  if q > h then redis.call('SET', KEYS[4], q, 'EX', ARGV[5]) end\n"
	       "  redis.call('DEL', KEYS[1])\n"
	       "  return {'done'}\n"
	       "end\n"
	       "if ARGV[4] == '1' and q > h + 1 then\n"
	       "  redis.call('DEL', KEYS[1])\n"
	       "  return {'behind'}\n"
	       "end\n"
	       "return {'ok', redis.call('HGET', KEYS[3], 'state') or '', h}\n",
};

static const char unlock_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

enum begin { BEGIN_FAILED = -1, BEGIN_OK, BEGIN_DONE, BEGIN_WAIT };

static void unlock_conversation(struct thread_ctx *t, const char *cid);

/* Try once to lock m's conversation and start its turn: seq is m's number
 * (0 for none), w how long m has waited (updated here). On BEGIN_OK its
 * dialog state is in *state (caller frees; element[1] is the text,
 * element[2] the last number handled) and m was counted against its
 * customer's budget into *limit: the count is sent right behind the script
 * that takes the lock, in the same round trip, and only happens while the
 * lock is ours (agent/limits.h guard), so messages are counted in the order
 * they are handled; when it did not happen with the lock taken (the script
 * was not loaded yet, say), it is made once more, alone. BEGIN_WAIT: the
 * conversation is locked, or m's predecessor is not handled and m has not
 * waited ORDER_WAIT_MS for it yet (after that m goes first, with an
 * order_skipped warning); nothing held. BEGIN_DONE: the message was handled
 * before (nothing held). BEGIN_FAILED: Redis trouble (nothing held). */
static enum begin begin_turn(struct thread_ctx *t, const struct message *m, long long seq,
			     const char *done_key, struct wait *w, redisReply **state,
			     enum limit_verdict *limit)
{
	char lock_key[MODEL_ID_LEN + 16], conv_key[MODEL_ID_LEN + 16], order_key[MODEL_ID_LEN + 16];
	char sseq[24];
	snprintf(lock_key, sizeof lock_key, "rd:lock:{%s}", m->conversation_id);
	snprintf(conv_key, sizeof conv_key, "rd:conv:{%s}", m->conversation_id);
	snprintf(order_key, sizeof order_key, KEY_IN_DONE_FMT, m->conversation_id);
	snprintf(sseq, sizeof sseq, "%lld", seq > 0 ? seq : 0);
	const char *keys[] = { lock_key, done_key, conv_key, order_key };
	const char *args[] = { t->consumer, RD_XSTR(LOCK_TTL_MS), sseq, "1", RD_XSTR(DEDUPE_TTL_S) };
	const struct limits_guard guard = { lock_key, t->consumer };
	int budget = gw.cfg->limits.customer_messages_per_minute;

	*state = NULL;
	*limit = LIMIT_OK;
	for (;;) { /* twice at most: the second time without the order check */
		redisReply *r = NULL;
		args[3] = w->unordered ? "0" : "1";
		if (rscript_append_run(t->rc, &begin_script, 4, keys, 5, args) != REDIS_OK)
			return BEGIN_FAILED;
		int counting = limits_customer_append(t->rc, m, budget, &guard);
		enum rd_err err = rscript_read(t->rc, &begin_script, &r);
		enum rd_err lerr = counting > 0 ? limits_customer_read(t->rc, limit) : RD_OK;
		if (err == RD_ENOTFOUND) /* not loaded yet: both replies are in, run it alone */
			err = rscript_run(t->rc, &begin_script, 4, keys, 5, args, &r);
		if (err != RD_OK)
			return BEGIN_FAILED;
		const char *tag = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
						  r->element[0]->type == REDIS_REPLY_STRING
					  ? r->element[0]->str
					  : "";
		if (strcmp(tag, "ok") == 0 && r->elements == 3 &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[2]->type == REDIS_REPLY_INTEGER) {
			if (counting < 0 || (lerr != RD_OK &&
					     limits_customer(t->rc, m, budget, &guard, limit) != RD_OK)) {
				LOG_W("worker", "limits_failed", "message %s: not counted (will retry)",
				      m->message_id);
				unlock_conversation(t, m->conversation_id);
				freeReplyObject(r);
				return BEGIN_FAILED;
			}
			*state = r;
			return BEGIN_OK;
		}
		int done = strcmp(tag, "done") == 0, locked = strcmp(tag, "locked") == 0,
		    behind = strcmp(tag, "behind") == 0 && !w->unordered;
		freeReplyObject(r); /* tag pointed into it */
		if (done)
			return BEGIN_DONE;
		if (locked)
			return BEGIN_WAIT;
		if (!behind) {
			LOG_E("worker", "begin_reply", "turn_begin: unexpected reply");
			return BEGIN_FAILED;
		}
		int64_t now = mono_ms();
		if (!w->behind_since)
			w->behind_since = now;
		if (now - w->behind_since < ORDER_WAIT_MS)
			return BEGIN_WAIT;
		LOG_W("worker", "order_skipped",
		      "message %s (number %lld of %s): its predecessor is not handled after %d ms; "
		      "going first",
		      m->message_id, seq, m->conversation_id, ORDER_WAIT_MS);
		w->unordered = 1;
	}
}

/* Queue the release of cid's lock, only if holder still holds it. */
static void append_unlock_of(struct thread_ctx *t, const char *cid, const char *holder)
{
	char key[MODEL_ID_LEN + 16];
	snprintf(key, sizeof key, "rd:lock:{%s}", cid);
	rscript_append(t->rc, "EVAL", unlock_lua, "1", key, holder, NULL);
}

static void append_unlock(struct thread_ctx *t, const char *cid)
{
	append_unlock_of(t, cid, t->consumer);
}

static void unlock_conversation(struct thread_ctx *t, const char *cid)
{
	redisReply *r = NULL;
	append_unlock(t, cid);
	if (redisGetReply(t->rc, (void **)&r) == REDIS_OK && r)
		freeReplyObject(r);
}

static void ensure_group(redisContext *rc, const char *stream, const char *group)
{
	/* from "0": entries appended before the group existed are not skipped */
	redisReply *r = redisCommand(rc, "XGROUP CREATE %s %s 0 MKSTREAM", stream, group);
	if (r)
		freeReplyObject(r); /* BUSYGROUP is fine */
}

static int ack(struct thread_ctx *t, const char *stream, const char *group, const char *id)
{
	return consumer_ack(t->rc, stream, group, id);
}

/* Where review cards go: the Slack review channel when there is one. */
static const char *review_sink(void)
{
	void *ctx;
	if (gw.cfg->slack.review_channel[0] && channel_find("slack", &ctx))
		return "slack";
	return NULL;
}

/* Queue ob in the outbox (inside the caller's MULTI) with the next sequence
 * number of its conversation. Returns the number of commands appended. */
static int append_outbox(struct thread_ctx *t, struct outbound *ob)
{
	if (ob->n_replies == 0 && !ob->kind[0])
		return 0; /* nothing to say */
	if (strcmp(ob->channel, REVIEW_DESTINATION) == 0) {
		const char *sink = review_sink();
		if (!sink) {
			LOG_D("worker", "no_review_channel", "ticket %s stays in Redis only", ob->ref);
			return 0;
		}
		snprintf(ob->channel, sizeof ob->channel, "%s", sink);
	}
	return outbox_append_pipelined(t->rc, ob);
}

/* Count a turn's events. */
static void count(const struct turn *turn)
{
	const struct turn_events *ev = &turn->ev;
	if (ev->decided)
		metrics_decision(decision_name(ev->decision));
	if (ev->refunded)
		metrics_refund(ev->rail, ev->refund_cur, ev->refund_minor);
	if (ev->credit_note)
		metrics_credit_note();
	if (ev->escalated)
		metrics_escalation();
}

/* How many times the group has handed entry id to a consumer (its
 * delivery count, XPENDING), or 0 when Redis does not say. */
static int deliveries(struct thread_ctx *t, const char *stream, const char *group, const char *id)
{
	redisReply *r = redisCommand(t->rc, "XPENDING %s %s %s %s 1", stream, group, id, id);
	int n = 0;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4 &&
	    r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
		n = (int)r->element[0]->element[3]->integer;
	if (r)
		freeReplyObject(r);
	return n;
}

/* Leave id pending as if this delivery had not happened: its delivery
 * count goes back to attempt - 1 (the turn could not start: no rail slot). */
static void undeliver(struct thread_ctx *t, const char *id, int attempt)
{
	redisReply *r = redisCommand(t->rc, "XCLAIM %s %s %s 0 %s RETRYCOUNT %d JUSTID", KEY_INBOUND,
				     GROUP_AGENTS, t->consumer, id, attempt > 1 ? attempt - 1 : 0);
	if (r)
		freeReplyObject(r);
}

#define HANDLE_WAIT 1

/* One inbound entry: seq its number in its conversation (0 for an entry
 * without one); claimed: taken over with XAUTOCLAIM (a retry) rather than
 * read fresh; w how long it has waited to start. Returns 0 when done with
 * it (acked), -1 to leave it pending (Redis trouble, a rail without an
 * answer: it is retried after claim_idle_ms, and its delivery count is the
 * turn's attempt number), HANDLE_WAIT when its conversation is busy (the
 * caller parks it; nothing was done). */
static int handle_inbound(struct thread_ctx *t, const char *id, const char *json, size_t len,
			  long long seq, int claimed, struct wait *w)
{
	struct message m;
	if (message_from_json(json, len, &m) != RD_OK) {
		LOG_E("worker", "bad_entry", "inbound %s is not a message: dropped", id);
		metrics_error("parse");
		return ack(t, KEY_INBOUND, GROUP_AGENTS, id);
	}
	int rc = -1;
	char done_key[MODEL_CHANNEL_LEN + MODEL_ID_LEN + 16];
	snprintf(done_key, sizeof done_key, "rd:done:%s:%s", m.channel, m.message_id);
	redisReply *state;
	struct turn_start start;
	switch (begin_turn(t, &m, seq, done_key, w, &state, &start.limit)) {
	case BEGIN_FAILED:
		goto out;
	case BEGIN_WAIT:
		rc = HANDLE_WAIT;
		goto out;
	case BEGIN_DONE: /* a replay of a turn that was committed: nothing to do */
		rc = ack(t, KEY_INBOUND, GROUP_AGENTS, id);
		goto out;
	case BEGIN_OK:
		break;
	}
	m.attempt = claimed ? deliveries(t, KEY_INBOUND, GROUP_AGENTS, id) : 1;
	if (m.attempt < 1)
		m.attempt = 1;

	void *ch_ctx;
	const struct channel_ops *ch = channel_find(m.channel, &ch_ctx);
	if (ch && ch->mark_read) {
		struct send_env env = { t->rc, httpc_thread_handle(), "" };
		ch->mark_read(ch_ctx, &env, &m);
	}
	struct turn turn;
	start.state = state->element[1]->str;
	long long handled = state->element[2]->integer;
	enum rd_err err = agent_handle(the_agent, t->rc, &m, &start, &turn);
	freeReplyObject(state);
	if (err == RD_EBUSY) {
		LOG_D("worker", "turn_deferred", "message %s: no rail slot free (will retry)", id);
		undeliver(t, id, m.attempt);
		goto unlock;
	}
	if (err) {
		LOG_W("worker", "turn_failed", "message %s: %s (attempt %d, will retry)", id,
		      rd_strerror(err), m.attempt);
		metrics_error("agent");
		goto unlock;
	}
	/* the turn is recorded once: state, transcript, outbox, done, ack */
	rscript_append(t->rc, "MULTI", NULL);
	int n = agent_commit_append(t->rc, &m, &turn);
	n += append_outbox(t, &turn.out);
	for (int i = 0; i < turn.n_extra; i++)
		n += append_outbox(t, &turn.extra[i]);
	rscript_append(t->rc, "SET", done_key, "1", "EX", RD_XSTR(DONE_TTL_S), NULL);
	if (seq > handled) { /* the lock is ours since begin: nobody moved it */
		char order_key[MODEL_ID_LEN + 16], sseq[24];
		snprintf(order_key, sizeof order_key, KEY_IN_DONE_FMT, m.conversation_id);
		snprintf(sseq, sizeof sseq, "%lld", seq);
		rscript_append(t->rc, "SET", order_key, sseq, "EX", RD_XSTR(DEDUPE_TTL_S), NULL);
		n++;
	}
	rscript_append(t->rc, "XACK", KEY_INBOUND, GROUP_AGENTS, id, NULL);
	rscript_append(t->rc, "EXEC", NULL);
	/* the lock goes in the same round trip */
	append_unlock(t, m.conversation_id);
	int ok = 1;
	for (int i = 0; i < n + 5; i++) {
		redisReply *x = NULL;
		if (redisGetReply(t->rc, (void **)&x) != REDIS_OK || !x) {
			ok = 0;
			break;
		}
		if (i == n + 3 && x->type != REDIS_REPLY_ARRAY)
			ok = 0;
		freeReplyObject(x);
	}
	if (ok) {
		count(&turn);
		rc = 0;
	} else {
		LOG_W("worker", "commit_failed", "message %s (will retry)", id);
	}
	turn_free(&turn);
	goto out; /* the lock was released with the commit */
unlock:
	if (!t->rc->err)
		unlock_conversation(t, m.conversation_id);
out:
	message_free(&m);
	return rc;
}

/* After HANDLE_WAIT: when to try id again (w->next). Before claim_idle_ms
 * passes, the entry is made ours again (XCLAIM JUSTID: idle time 0, the
 * delivery count stays), so no other worker takes it over while it waits
 * here. Returns 0 when it has waited longer than a lock lives (LOCK_TTL_MS):
 * it is left pending, for XAUTOCLAIM, as a failed turn is. */
static int wait_more(struct thread_ctx *t, const char *id, struct wait *w)
{
	int64_t now = mono_ms();
	if (now - w->since >= LOCK_TTL_MS) {
		LOG_W("worker", "wait_gave_up", "inbound %s: its conversation stayed busy for %d ms; "
		      "left pending", id, LOCK_TTL_MS);
		return 0;
	}
	if (now - w->touched >= gw.cfg->gateway.claim_idle_ms / 2) {
		redisReply *r = redisCommand(t->rc, "XCLAIM %s %s %s 0 %s JUSTID", KEY_INBOUND,
					     GROUP_AGENTS, t->consumer, id);
		if (r)
			freeReplyObject(r);
		w->touched = now;
	}
	w->tries++;
	w->next = now + (w->tries < 50 ? 2 : 20);
	return 1;
}

static int is_parked(const struct thread_ctx *t, const char *id)
{
	for (int i = 0; i < t->n_parked; i++)
		if (strcmp(t->parked[i].id, id) == 0)
			return 1;
	return 0;
}

/* Set an entry aside after HANDLE_WAIT (m: its JSON, copied). Without room
 * (the loop reads only while there is), it stays pending for XAUTOCLAIM. */
static void park(struct thread_ctx *t, const char *id, const char *m, size_t len, long long seq,
		 int claimed, const struct wait *w)
{
	if (!t->parked)
		t->parked = calloc(PARK_MAX, sizeof *t->parked);
	struct parked *p = t->parked ? &t->parked[t->n_parked] : NULL;
	if (!p || t->n_parked >= PARK_MAX || strlen(id) >= sizeof p->id || !(p->m = malloc(len + 1))) {
		LOG_W("worker", "park_full", "inbound %s: left pending", id);
		return;
	}
	memcpy(p->m, m, len);
	p->m[len] = '\0';
	snprintf(p->id, sizeof p->id, "%s", id);
	p->len = len;
	p->seq = seq;
	p->claimed = claimed;
	p->w = *w;
	t->n_parked++;
}

/* Try the parked entries that are due, in the order they were parked (one
 * conversation's messages keep theirs); drop the ones done with. */
static void retry_parked(struct thread_ctx *t)
{
	int kept = 0;
	for (int i = 0; i < t->n_parked; i++) {
		struct parked *p = &t->parked[i];
		int rc = HANDLE_WAIT;
		if (atomic_load(&running) && !t->rc->err && mono_ms() >= p->w.next) {
			atomic_fetch_add(&busy, 1);
			rc = handle_inbound(t, p->id, p->m, p->len, p->seq, p->claimed, &p->w);
			atomic_fetch_sub(&busy, 1);
			if (rc == HANDLE_WAIT && !wait_more(t, p->id, &p->w))
				rc = -1;
		}
		if (rc == HANDLE_WAIT)
			t->parked[kept++] = *p;
		else
			free(p->m);
	}
	t->n_parked = kept;
}

/* Forget the parked entries (shutting down): they stay pending in the
 * group, for XAUTOCLAIM by the next process. */
static void drop_parked(struct thread_ctx *t)
{
	for (int i = 0; i < t->n_parked; i++)
		free(t->parked[i].m);
	t->n_parked = 0;
	free(t->parked);
	t->parked = NULL;
}

/* Walk an XREADGROUP (claimed = 0) / XAUTOCLAIM (claimed = 1) entry list. */
static void handle_entries(struct thread_ctx *t, redisReply *entries, int claimed)
{
	const char *field = t->is_sender ? "o" : "m";
	/* a broken connection ends the batch: nothing more could be recorded, so
	 * nothing more is sent (the rest stays pending for the reconnect) */
	for (size_t i = 0; i < entries->elements && atomic_load(&running) && !t->rc->err; i++) {
		redisReply *e = entries->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		const char *id = e->element[0]->str;
		redisReply *kv = e->element[1];
		if (claimed && !t->is_sender && is_parked(t, id))
			continue; /* waiting here already */
		if (kv->type != REDIS_REPLY_ARRAY) { /* deleted meanwhile */
			ack(t, t->is_sender ? KEY_OUTBOX : KEY_INBOUND,
			    t->is_sender ? GROUP_SENDERS : GROUP_AGENTS, id);
			continue;
		}
		const char *val = NULL, *cid = NULL;
		size_t len = 0;
		long long seq = 0;
		for (size_t k = 0; k + 1 < kv->elements; k += 2) {
			const char *name = kv->element[k]->str;
			if (strcmp(name, field) == 0) {
				val = kv->element[k + 1]->str;
				len = kv->element[k + 1]->len;
			} else if (strcmp(name, "c") == 0) {
				cid = kv->element[k + 1]->str;
			} else if (strcmp(name, "s") == 0) {
				seq = strtoll(kv->element[k + 1]->str, NULL, 10);
			}
		}
		atomic_fetch_add(&busy, 1);
		if (!val)
			ack(t, t->is_sender ? KEY_OUTBOX : KEY_INBOUND,
			    t->is_sender ? GROUP_SENDERS : GROUP_AGENTS, id);
		else if (t->is_sender)
			sender_handle(t->rc, id, val, len, cid, seq, claimed, &running);
		else {
			int64_t now = mono_ms();
			struct wait w = { .since = now, .touched = now };
			if (handle_inbound(t, id, val, len, seq, claimed, &w) == HANDLE_WAIT &&
			    wait_more(t, id, &w))
				park(t, id, val, len, seq, claimed, &w);
		}
		atomic_fetch_sub(&busy, 1);
	}
}

/* Tickets open past [review] ttl_days expire: each becomes an inbound
 * "review_expire" message on its review conversation, so the agent tells
 * the customer, audits it and updates the card exactly once (the message
 * id is the dedupe key), whichever gateway process swept first. */
static void sweep_tickets(struct thread_ctx *t)
{
	int64_t cutoff = now_ms() / 1000 - (int64_t)gw.cfg->review.ttl_days * 86400;
	redisReply *r = redisCommand(t->rc, "ZRANGEBYSCORE rd:tickets:open -inf %lld LIMIT 0 100",
				     (long long)cutoff);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		if (r)
			freeReplyObject(r);
		return;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const char *id = r->element[i]->str;
		struct message m;
		memset(&m, 0, sizeof m);
		snprintf(m.channel, sizeof m.channel, "system");
		snprintf(m.channel_user_id, sizeof m.channel_user_id, "redress");
		snprintf(m.conversation_id, sizeof m.conversation_id, "review:%.60s", id);
		snprintf(m.message_id, sizeof m.message_id, "expire:%.60s", id);
		snprintf(m.payload, sizeof m.payload, "review_expire:%.40s", id);
		m.kind = MSG_BUTTON;
		m.received_at_ms = now_ms();
		enum rd_err err = io_ingest_direct(t->rc, &m);
		if (err && err != RD_EEXIST)
			LOG_W("worker", "sweep_failed", "ticket %s: %s", id, rd_strerror(err));
	}
	freeReplyObject(r);
}

/* Trim what every group has handled, once older than [gateway]
 * stream_retention_s, from both streams (gateway/trim.h); a long backlog
 * goes 100 XTRIM calls at a time. */
static void trim_streams(struct thread_ctx *t)
{
	static const char *const streams[] = { KEY_INBOUND, KEY_OUTBOX };
	int64_t keep_ms = (int64_t)gw.cfg->gateway.stream_retention_s * 1000;
	for (size_t i = 0; i < RD_ARRAY_LEN(streams); i++) {
		long long n = trim_stream(t->rc, streams[i], keep_ms, now_ms(), 100);
		if (n < 0)
			LOG_W("worker", "trim_failed", "%s: not trimmed this time", streams[i]);
		else if (n > 0)
			LOG_D("worker", "trimmed", "%s: %lld handled entries older than %d s", streams[i], n,
			      gw.cfg->gateway.stream_retention_s);
	}
}

/* How often trim_streams runs: half the retention, within 1 s .. 60 s. */
static int64_t trim_interval_ms(void)
{
	int64_t ms = (int64_t)gw.cfg->gateway.stream_retention_s * 500;
	return ms < 1000 ? 1000 : ms > 60000 ? 60000 : ms;
}

static void ingest_news(const struct message *m, void *arg)
{
	struct thread_ctx *t = arg;
	enum rd_err err = io_ingest_direct(t->rc, m);
	if (err && err != RD_EEXIST)
		LOG_W("worker", "poll_ingest_failed", "%s: %s", m->message_id, rd_strerror(err));
}

/* Claim to this thread what consumer `gone` has pending in stream's group
 * (XPENDING + XCLAIM, READ_COUNT at a time), release the conversation
 * locks its turns held (workers: each entry's c, only where gone still
 * holds it) and handle the entries as retries. Returns how many it took. */
static long long take_over(struct thread_ctx *t, const char *stream, const char *group,
			   const char *gone)
{
	long long n = 0;
	for (int round = 0; round < 1000 && atomic_load(&running) && !t->rc->err; round++) {
		redisReply *p = redisCommand(t->rc, "XPENDING %s %s - + %d %s", stream, group,
					     READ_COUNT, gone);
		if (!p || p->type != REDIS_REPLY_ARRAY || p->elements == 0) {
			if (p)
				freeReplyObject(p);
			break;
		}
		const char *argv[5 + READ_COUNT] = { "XCLAIM", stream, group, t->consumer, "0" };
		int argc = 5;
		for (size_t i = 0; i < p->elements && argc < 5 + READ_COUNT; i++)
			if (p->element[i]->type == REDIS_REPLY_ARRAY && p->element[i]->elements >= 1 &&
			    p->element[i]->element[0]->type == REDIS_REPLY_STRING)
				argv[argc++] = p->element[i]->element[0]->str;
		redisReply *c = redisCommandArgv(t->rc, argc, argv, NULL);
		freeReplyObject(p);
		if (!c || c->type != REDIS_REPLY_ARRAY || c->elements == 0) {
			if (c)
				freeReplyObject(c);
			break;
		}
		int unlocks = 0;
		for (size_t i = 0; !t->is_sender && i < c->elements; i++) {
			redisReply *e = c->element[i], *kv;
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    (kv = e->element[1])->type != REDIS_REPLY_ARRAY)
				continue;
			for (size_t k = 0; k + 1 < kv->elements; k += 2)
				if (strcmp(kv->element[k]->str, "c") == 0) {
					append_unlock_of(t, kv->element[k + 1]->str, gone);
					unlocks++;
				}
		}
		for (int i = 0; i < unlocks; i++) {
			redisReply *x = NULL;
			if (redisGetReply(t->rc, (void **)&x) == REDIS_OK && x)
				freeReplyObject(x);
		}
		n += (long long)c->elements;
		handle_entries(t, c, 1);
		freeReplyObject(c);
	}
	return n;
}

/* 0 when consumer (of another process, any host) has the shape of
 * consumer.h and its process's rd:alive key is gone: it has not renewed it
 * for ALIVE_TTL_MS. 1 otherwise (alive, another shape, Redis trouble). */
static int alive(struct thread_ctx *t, const char *consumer)
{
	char inst[128], key[160];
	if (!consumer_instance_of(consumer, inst, sizeof inst) || strcmp(inst, gw.instance) == 0)
		return 1;
	snprintf(key, sizeof key, KEY_ALIVE_FMT, inst);
	redisReply *r = redisCommand(t->rc, "EXISTS %s", key);
	int yes = !r || r->type != REDIS_REPLY_INTEGER || r->integer != 0;
	if (r)
		freeReplyObject(r);
	return yes;
}

/* A process died (kill -9, a crash, a lost host) and this one is still
 * here: take over what its consumers left in stream's group at once,
 * rather than after claim_idle_ms and the lock's TTL (a customer whose turn
 * it cut short would wait both), and remove them from the group once
 * nothing is pending with them. Gone: a process of this host and pid
 * namespace whose pid runs no more (consumer_gone: seen as soon as a new
 * one starts), or any process whose rd:alive key expired and whose
 * consumer has been silent as long (ALIVE_TTL_MS). Worker 0 and sender 0,
 * on connecting and every TAKEOVER_EVERY_MS. */
static void take_over_gone(struct thread_ctx *t, const char *stream, const char *group)
{
	redisReply *info = redisCommand(t->rc, "XINFO CONSUMERS %s %s", stream, group);
	for (size_t i = 0; info && info->type == REDIS_REPLY_ARRAY && i < info->elements &&
			   !t->rc->err; i++) {
		redisReply *c = info->element[i];
		const char *name = NULL;
		long long idle = 0;
		for (size_t k = 0; c->type == REDIS_REPLY_ARRAY && k + 1 < c->elements; k += 2) {
			if (c->element[k]->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(c->element[k]->str, "name") == 0 &&
			    c->element[k + 1]->type == REDIS_REPLY_STRING)
				name = c->element[k + 1]->str;
			else if (strcmp(c->element[k]->str, "idle") == 0 &&
				 c->element[k + 1]->type == REDIS_REPLY_INTEGER)
				idle = c->element[k + 1]->integer;
		}
		if (!name || !(consumer_gone(name, gw.instance, (long)getpid()) ||
			       (idle > ALIVE_TTL_MS && !alive(t, name))))
			continue;
		long long n = take_over(t, stream, group, name);
		redisReply *p = redisCommand(t->rc, "XPENDING %s %s - + 1 %s", stream, group, name);
		int empty = p && p->type == REDIS_REPLY_ARRAY && p->elements == 0;
		if (p)
			freeReplyObject(p);
		if (empty) { /* DELCONSUMER drops what is pending: only when nothing is */
			redisReply *d = redisCommand(t->rc, "XGROUP DELCONSUMER %s %s %s", stream,
						     group, name);
			if (d)
				freeReplyObject(d);
		}
		LOG_I(t->is_sender ? "sender" : "worker", "consumer_gone",
		      "%s of a process that is gone: %lld %s entries taken over%s", name, n, stream,
		      empty ? ", consumer removed" : "");
	}
	if (info)
		freeReplyObject(info);
}

static void *thread_main(void *arg)
{
	struct thread_ctx *t = arg;
	const char *stream = t->is_sender ? KEY_OUTBOX : KEY_INBOUND;
	const char *group = t->is_sender ? GROUP_SENDERS : GROUP_AGENTS;
	int backoff = 50;

	while (atomic_load(&running)) {
		if (!t->rc) {
			char err[256];
			t->rc = redis_open(&gw.redis, gw.cfg->redis.timeout_ms + BLOCK_MS, err, sizeof err);
			if (!t->rc) {
				usleep((useconds_t)backoff * 1000);
				backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
				continue;
			}
			backoff = 50;
			ensure_group(t->rc, stream, group);
			t->next_takeover = 0;
			t->next_claim = 0;
		}
		redisReply *r;
		if (t->index == 0 && mono_ms() >= t->next_takeover) {
			take_over_gone(t, stream, group);
			t->next_takeover = mono_ms() + TAKEOVER_EVERY_MS;
		}
		if (t->n_parked)
			retry_parked(t);
		/* a worker reads only while a whole batch could be parked */
		if (t->n_parked <= PARK_MAX - READ_COUNT && mono_ms() >= t->next_claim) {
			/* take over what a crashed consumer or a failed attempt left
			 * pending, from where the last scan stopped: with more than
			 * READ_COUNT entries pending, the first ones never starve
			 * the rest */
			if (!t->claim_from[0])
				snprintf(t->claim_from, sizeof t->claim_from, "0-0");
			r = redisCommand(t->rc, "XAUTOCLAIM %s %s %s %d %s COUNT %d", stream, group,
					 t->consumer, gw.cfg->gateway.claim_idle_ms, t->claim_from,
					 READ_COUNT);
			int more = 0;
			if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
			    r->element[0]->type == REDIS_REPLY_STRING) {
				snprintf(t->claim_from, sizeof t->claim_from, "%s", r->element[0]->str);
				more = strcmp(t->claim_from, "0-0") != 0;
			}
			if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
			    r->element[1]->type == REDIS_REPLY_ARRAY)
				handle_entries(t, r->element[1], 1);
			if (r)
				freeReplyObject(r);
			/* a scan that stopped part-way goes on at once */
			t->next_claim = more ? 0 : mono_ms() + gw.cfg->gateway.claim_idle_ms / 2;
		}
		if (!t->is_sender && t->index == 0 && mono_ms() >= t->next_sweep) {
			sweep_tickets(t);
			t->next_sweep = mono_ms() + (int64_t)gw.cfg->review.sweep_interval_s * 1000;
		}
		if (!t->is_sender && t->index == 0 && mono_ms() >= t->next_poll) {
			/* refunds a rail took but had not settled (Pix devoluções above all) */
			agent_poll_refunds(the_agent, t->rc, 50, ingest_news, t);
			t->next_poll = mono_ms() + (int64_t)gw.cfg->pix.poll_interval_s * 1000;
		}
		if (!t->is_sender && t->index == 0 && mono_ms() >= t->next_trim) {
			trim_streams(t);
			t->next_trim = mono_ms() + trim_interval_ms();
		}
		if (t->n_parked > PARK_MAX - READ_COUNT && !t->rc->err) {
			usleep(2000);
			continue;
		}
		r = t->rc->err ? NULL
			       : rscript_command(t->rc, "XREADGROUP", "GROUP", group, t->consumer,
						 "COUNT", RD_XSTR(READ_COUNT), "BLOCK",
						 t->n_parked ? RD_XSTR(PARK_BLOCK_MS) : RD_XSTR(BLOCK_MS),
						 "STREAMS", stream, ">", NULL);
		if (r && r->type == REDIS_REPLY_ARRAY)
			for (size_t s = 0; s < r->elements; s++)
				if (r->element[s]->type == REDIS_REPLY_ARRAY && r->element[s]->elements == 2)
					handle_entries(t, r->element[s]->element[1], 0);
		if (r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "NOGROUP"))
			ensure_group(t->rc, stream, group);
		if (r)
			freeReplyObject(r);
		if (!r || t->rc->err) {
			LOG_W(t->is_sender ? "sender" : "worker", "redis_down", "%s: reconnecting",
			      t->rc->errstr[0] ? t->rc->errstr : "no reply");
			metrics_error("redis");
			redisFree(t->rc);
			t->rc = NULL;
		}
	}
	drop_parked(t);
	if (t->rc)
		redisFree(t->rc);
	t->rc = NULL;
	return NULL; /* the thread's curl handle (httpc_thread_handle) goes with it */
}

int workers_start(struct agent *agent, int n_workers, int n_senders)
{
	the_agent = agent;
	atomic_store(&running, 1);
	for (int i = 0; i < n_workers + n_senders && n_threads < MAX_THREADS; i++) {
		struct thread_ctx *t = &threads[n_threads];
		t->is_sender = i >= n_workers;
		t->index = t->is_sender ? i - n_workers : i;
		snprintf(t->consumer, sizeof t->consumer, "%s-%s%d", gw.instance,
			 t->is_sender ? "s" : "w", t->index);
		if (pthread_create(&t->tid, NULL, thread_main, t) != 0)
			return -1;
		char name[16];
		snprintf(name, sizeof name, "rd-%s%d", t->is_sender ? "s" : "w", t->index);
		pthread_setname_np(t->tid, name);
		n_threads++;
	}
	return 0;
}

void workers_stop(void)
{
	atomic_store(&running, 0);
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i].tid, NULL);
	n_threads = 0;
}

int workers_busy(void)
{
	return atomic_load(&busy);
}
