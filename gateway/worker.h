/* worker.h — agent workers and outbox senders: threads that consume the
 * pipeline's Redis streams through consumer groups, each with its own
 * blocking Redis connection (they may block; the service loop never does).
 *
 * Workers: XREADGROUP rd:inbound (group "agents"), run the agent, then in
 * one MULTI: dialog state + transcript, XADD rd:outbox, the done marker,
 * the conversation's last handled number, XACK. Entries left pending by a
 * crashed worker are taken over with XAUTOCLAIM once idle for [gateway]
 * claim_idle_ms; those of a process that is gone (consumer.h: of this host
 * and no longer running, or anywhere with its rd:alive mark expired) at
 * once, by worker 0 and sender 0 every 2 s, with the conversation locks its
 * turns held, and its consumers leave the groups.
 *
 * An inbound entry has three fields: m (struct message as JSON, model.h),
 * c (its conversation id) and s (the conversation's next number from INCR
 * rd:in:seq:{c}, taken by the ingest script). A worker starts s only after
 * s - 1 was handled (rd:in:done:{c}), waiting at most ORDER_WAIT_MS for it
 * (worker.c): one customer's messages are answered in the order they were
 * stored, whichever workers pick them up. Entries without s (written before
 * the numbering) are handled as they come. An entry that cannot start yet
 * (its conversation locked by another turn, its predecessor not handled)
 * is parked: the worker goes on with other entries and tries it again, so
 * one busy conversation never holds up the others.
 * Senders: XREADGROUP rd:outbox (group "senders"), hand each entry (sender.c) to its
 * channel's send(); RD_EUNAVAIL leaves it pending for a later retry.
 *
 * An outbox entry has three fields: o (struct outbound as JSON, model.h),
 * c (its conversation id) and s (the conversation's next number from INCR
 * rd:out:seq:{c}). A sender delivers s only after s - 1 (rd:out:sent:{c}),
 * so one customer's replies arrive in order even when one is retried. */
#ifndef RD_WORKER_H
#define RD_WORKER_H

struct agent;

/* Start n_workers agent workers and n_senders outbox senders, named rd-wN
 * and rd-sN (top -H). Returns 0, or -1 when a thread could not be created
 * (those started keep running: call workers_stop). */
int workers_start(struct agent *agent, int n_workers, int n_senders);
/* Ask every thread to stop after its current entry, and join them. */
void workers_stop(void);
/* Entries being processed right now (for draining). */
int workers_busy(void);

#endif
