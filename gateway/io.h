/* io.h — the store thread: the only place the HTTP side touches Redis.
 * The service loop queues jobs; the store thread runs them with its own
 * blocking connection, pipelining every ingest it has at hand (one round
 * trip for a batch), then hands them back to the service loop
 * (lws_cancel_service → io_poll_done). It also pings Redis when idle so
 * /readyz reflects reality, and reconnects with backoff. */
#ifndef RD_IO_H
#define RD_IO_H

#include <hiredis.h>
#include "common/model.h"
#include "gateway/queue.h"

struct io_job {
	struct qnode node;            /* first: queue linkage */
	enum { IO_INGEST, IO_CALL } kind;
	/* IO_INGEST */
	struct message *msgs;         /* owned array of n */
	size_t n;
	char *reply_key;              /* owned, may be NULL: read back on a duplicate */
	enum rd_err err;              /* result */
	int n_new, n_dup;
	char *dup_reply;              /* owned */
	/* IO_CALL */
	void (*run)(redisContext *rc, void *arg);
	/* both: runs on the service thread after the job */
	void (*done)(struct io_job *job);
	void *arg;
};

int io_start(void);
void io_stop(void);
/* Any thread. Takes ownership of job until done runs. On the service
 * thread the job waits for io_flush(), which the service loop calls after
 * every lws_service() pass (group commit). */
void io_submit(struct io_job *job);
/* Service thread: hand this pass's jobs to the store thread. */
void io_flush(void);
/* Service thread: run done for every finished job. */
void io_poll_done(void);
/* Jobs queued or running. */
size_t io_pending(void);
/* Dedupe and append one message now, with the caller's connection
 * (worker threads: the ticket sweeper). RD_EEXIST for a duplicate. */
enum rd_err io_ingest_direct(redisContext *rc, const struct message *m) RD_WUR;

/* Free an ingest job's owned fields (not the job). */
void io_job_clear(struct io_job *job);

#endif
