#include "gateway/io.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/redact.h"
#include "common/util.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"

/* Dedupe and append as one step, so a crash can never leave a message
 * marked seen but not stored. A new message also takes its conversation's
 * next number (INCR rd:in:seq:{cid}, kept as long as the dedupe marks), so
 * workers can handle one conversation's messages in the order they were
 * stored (worker.h). KEYS: dedupe key, inbound stream, reply key ("" for
 * none), rd:in:seq:{cid}. ARGV: dedupe TTL (s), message JSON, cid.
 * Returns {1, stream id} for a new message, {0[, stored reply]} for a duplicate. */
static const char ingest_lua[] =
	"if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
	"  local s = redis.call('INCR', KEYS[4])\n"
	"  redis.call('EXPIRE', KEYS[4], ARGV[1])\n"
	"  return {1, redis.call('XADD', KEYS[2], '*', 'm', ARGV[2], 'c', ARGV[3], 's', s)}\n"
	"end\n"
	"if KEYS[3] ~= '' then\n"
	"  local r = redis.call('GET', KEYS[3])\n"
	"  if r then return {0, r} end\n"
	"end\n"
	"return {0}\n";

static struct queue todo = QUEUE_INIT, done_q = QUEUE_INIT;
static pthread_t thread;
static atomic_int running, busy;
static char ingest_sha[41];

/* The message as it is stored: its JSON with card numbers and verification
 * codes in the text replaced (common/redact.h). Every channel's message
 * enters through here (http_ingest, the web chat's ingest jobs,
 * io_ingest_direct), so nothing downstream — the inbound stream, the
 * transcript, tickets, logs, Slack, the LLM — ever sees them. The system's
 * own messages (a rail's news: JSON with ids such as a Pix e2eid, whose 20
 * digits must stay as they are) are no customer's words and are kept as
 * they are. Caller frees; NULL on ENOMEM (then nothing is stored). */
static char *stored_json(const struct message *m)
{
	struct message red = *m; /* shallow: only text is replaced */
	if (m->text && strcmp(m->channel, "system") != 0 &&
	    !(red.text = redact_text(m->text, NULL)))
		return NULL;
	char *json = message_to_json(&red);
	if (red.text != m->text)
		free(red.text);
	return json;
}

enum rd_err io_ingest_direct(redisContext *rc, const struct message *m)
{
	char dkey[MODEL_CHANNEL_LEN + MODEL_ID_LEN + 16];
	snprintf(dkey, sizeof dkey, "rd:dedupe:%s:%s", m->channel, m->message_id);
	char skey[MODEL_ID_LEN + 16];
	snprintf(skey, sizeof skey, KEY_IN_SEQ_FMT, m->conversation_id);
	char *json = stored_json(m);
	if (!json)
		return RD_ENOMEM;
	redisReply *r = redisCommand(rc, "EVAL %s 4 %s %s %s %s %d %s %s", ingest_lua, dkey, KEY_INBOUND,
				     "", skey, DEDUPE_TTL_S, json, m->conversation_id);
	free(json);
	enum rd_err err = RD_EREDIS;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER) {
		err = r->element[0]->integer == 1 ? RD_OK : RD_EEXIST;
		if (!err)
			metrics_message_in(m->channel);
	}
	if (r)
		freeReplyObject(r);
	return err;
}

/* Group commit: what the service thread submits during one lws_service()
 * pass is kept here and handed over by io_flush() when the pass ends — one
 * lock and one wake-up for the pass, and the store thread sees the whole
 * pass at once (one pipelined round trip), instead of a lock, a futex wake
 * and often a round trip per request (bench/NOTES.md). Service thread only. */
static pthread_t service_thread;
static struct qnode *pass_head, *pass_tail;
static size_t pass_len;

void io_submit(struct io_job *job)
{
	if (pthread_equal(pthread_self(), service_thread)) {
		job->node.next = NULL;
		if (pass_tail)
			pass_tail->next = &job->node;
		else
			pass_head = &job->node;
		pass_tail = &job->node;
		pass_len++;
		return;
	}
	queue_push(&todo, &job->node);
}

void io_flush(void)
{
	queue_push_list(&todo, pass_head, pass_tail, pass_len);
	pass_head = pass_tail = NULL;
	pass_len = 0;
}

size_t io_pending(void)
{
	return pass_len + queue_len(&todo) + queue_len(&done_q) + (size_t)atomic_load(&busy);
}

void io_job_clear(struct io_job *job)
{
	for (size_t i = 0; i < job->n; i++)
		message_free(&job->msgs[i]);
	free(job->msgs);
	free(job->reply_key);
	free(job->dup_reply);
	job->msgs = NULL;
	job->reply_key = job->dup_reply = NULL;
	job->n = 0;
}

void io_poll_done(void)
{
	struct qnode *n = queue_take_all(&done_q);
	while (n) {
		struct io_job *job = (struct io_job *)n;
		n = n->next;
		job->done(job);
	}
}

static redisContext *connect_redis(void)
{
	char err[256];
	redisContext *rc = redis_open(&gw.redis, gw.cfg->redis.timeout_ms, err, sizeof err);
	if (!rc) {
		LOG_W("io", "redis_down", "%s", err);
		return NULL;
	}
	redisReply *r = redis_cmd(rc, "SCRIPT LOAD %s", ingest_lua);
	if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
		LOG_W("io", "redis_down", "cannot load the ingest script");
		if (r)
			freeReplyObject(r);
		redisFree(rc);
		return NULL;
	}
	memcpy(ingest_sha, r->str, 41);
	freeReplyObject(r);
	LOG_I("io", "redis_up", "store thread connected");
	return rc;
}

static void append_ingest(redisContext *rc, struct io_job *job, size_t i, char **json)
{
	const struct message *m = &job->msgs[i];
	char dkey[MODEL_CHANNEL_LEN + MODEL_ID_LEN + 16], skey[MODEL_ID_LEN + 16];
	snprintf(dkey, sizeof dkey, "rd:dedupe:%s:%s", m->channel, m->message_id);
	snprintf(skey, sizeof skey, KEY_IN_SEQ_FMT, m->conversation_id);
	const char *ttl = RD_XSTR(DEDUPE_TTL_S);
	const char *rkey = (job->reply_key && job->n == 1) ? job->reply_key : "";
	*json = stored_json(m);
	if (!*json)
		return; /* ENOMEM: read_ingest fails this one without a round trip */
	const char *argv[] = { "EVALSHA", ingest_sha, "4", dkey, KEY_INBOUND, rkey, skey,
			       ttl, *json, m->conversation_id };
	size_t lens[RD_ARRAY_LEN(argv)];
	for (size_t k = 0; k < RD_ARRAY_LEN(argv); k++)
		lens[k] = strlen(argv[k]);
	redisAppendCommandArgv(rc, RD_ARRAY_LEN(argv), argv, lens);
}

/* Read one ingest reply. Returns 0, or -1 when the connection is gone. */
static int read_ingest(redisContext *rc, struct io_job *job, const char *channel, const char *json)
{
	redisReply *r = NULL;
	if (!json) {
		job->err = RD_ENOMEM;
		return 0;
	}
	if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		LOG_E("io", "ingest_failed", "%s", r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
		job->err = RD_EREDIS;
	} else if (r->element[0]->integer == 1) {
		job->n_new++;
		metrics_message_in(channel);
	} else {
		job->n_dup++;
		if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING && !job->dup_reply)
			job->dup_reply = strndup(r->element[1]->str, r->element[1]->len);
	}
	freeReplyObject(r);
	return 0;
}

/* Run a batch of jobs on rc; rc may become unusable (returns -1). */
static int run_batch(redisContext *rc, struct qnode *list)
{
	/* one round trip for every ingest in the batch */
	size_t total = 0;
	for (struct qnode *n = list; n; n = n->next) {
		struct io_job *job = (struct io_job *)n;
		if (job->kind == IO_INGEST)
			total += job->n;
	}
	char **json = calloc(total ? total : 1, sizeof *json);
	size_t k = 0;
	int dead = json == NULL;
	for (struct qnode *n = list; n && !dead; n = n->next) {
		struct io_job *job = (struct io_job *)n;
		if (job->kind == IO_INGEST)
			for (size_t i = 0; i < job->n; i++)
				append_ingest(rc, job, i, &json[k++]);
	}
	k = 0;
	for (struct qnode *n = list; n; n = n->next) {
		struct io_job *job = (struct io_job *)n;
		if (job->kind != IO_INGEST)
			continue;
		for (size_t i = 0; i < job->n; i++, k++)
			if (dead || read_ingest(rc, job, job->msgs[i].channel, json[k]) < 0) {
				dead = 1;
				job->err = RD_EREDIS;
			}
	}
	for (size_t i = 0; json && i < total; i++)
		free(json[i]);
	free(json);
	for (struct qnode *n = list; n; n = n->next) {
		struct io_job *job = (struct io_job *)n;
		if (job->kind == IO_CALL)
			job->run(dead ? NULL : rc, job->arg);
	}
	return dead || rc->err ? -1 : 0;
}

static void finish(struct qnode *list)
{
	struct qnode *tail = list;
	size_t n = list ? 1 : 0;
	while (tail && tail->next) {
		tail = tail->next;
		n++;
	}
	queue_push_list(&done_q, list, tail, n); /* the whole batch under one lock */
	gw.wakeup();
}

static void fail_all(struct qnode *list)
{
	for (struct qnode *n = list; n; n = n->next) {
		struct io_job *job = (struct io_job *)n;
		if (job->kind == IO_INGEST)
			job->err = RD_EREDIS;
		else
			job->run(NULL, job->arg);
	}
	finish(list);
}

static void *io_main(void *unused)
{
	(void)unused;
	redisContext *rc = NULL;
	int64_t next_try = 0, backoff = 50, last_ok = 0, next_alive = 0;
	char alive_key[160];
	snprintf(alive_key, sizeof alive_key, KEY_ALIVE_FMT, gw.instance);

	while (atomic_load(&running)) {
		/* wait for work, at most 250 ms, so an idle thread still pings */
		pthread_mutex_lock(&todo.mu);
		if (!todo.head) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 250 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&todo.cv, &todo.mu, &ts);
		}
		pthread_mutex_unlock(&todo.mu);
		atomic_store(&busy, 1);
		struct qnode *list = queue_take_all(&todo);

		if (!rc && mono_ms() >= next_try) {
			rc = connect_redis();
			if (!rc) {
				next_try = mono_ms() + backoff;
				backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
			} else {
				backoff = 50;
			}
		}
		if (!rc) {
			atomic_store(&gw.redis_ok, 0);
			if (list)
				fail_all(list);
			atomic_store(&busy, 0);
			continue;
		}
		if (list) {
			int bad = run_batch(rc, list);
			finish(list);
			if (bad) {
				metrics_error("redis");
				redisFree(rc);
				rc = NULL;
				atomic_store(&gw.redis_ok, 0);
			} else {
				atomic_store(&gw.redis_ok, 1);
				last_ok = mono_ms();
			}
		}
		/* the process's liveness mark doubles as the idle ping */
		int beat = rc && mono_ms() >= next_alive;
		if (rc && (beat || mono_ms() - last_ok >= 250)) {
			redisReply *r = beat ? redis_cmd(rc, "SET %s 1 PX %d", alive_key, ALIVE_TTL_MS)
					     : redis_cmd(rc, "PING");
			if (!r) {
				redisFree(rc);
				rc = NULL;
				atomic_store(&gw.redis_ok, 0);
				LOG_W("io", "redis_down", "ping failed");
			} else {
				freeReplyObject(r);
				atomic_store(&gw.redis_ok, 1);
				last_ok = mono_ms();
				if (beat)
					next_alive = last_ok + ALIVE_BEAT_MS;
			}
		}
		atomic_store(&busy, 0);
	}
	if (rc) { /* a clean stop: gone now, not in ALIVE_TTL_MS */
		redisReply *r = redis_cmd(rc, "DEL %s", alive_key);
		if (r)
			freeReplyObject(r);
		redisFree(rc);
	}
	return NULL;
}

int io_start(void)
{
	atomic_store(&running, 1);
	service_thread = pthread_self(); /* io_start runs on the service thread */
	if (pthread_create(&thread, NULL, io_main, NULL))
		return -1;
	pthread_setname_np(thread, "rd-store"); /* for top -H and bench/ */
	return 0;
}

void io_stop(void)
{
	io_flush();
	atomic_store(&running, 0);
	pthread_cond_signal(&todo.cv);
	pthread_join(thread, NULL);
	fail_all(queue_take_all(&todo));
}
