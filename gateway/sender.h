/* sender.h — delivering one entry of rd:outbox (group "senders") on its
 * channel, in its conversation's order; worker.c's sender threads call it
 * for what XREADGROUP and XAUTOCLAIM hand them (worker.h has the entry's
 * fields). */
#ifndef RD_SENDER_H
#define RD_SENDER_H

#include <stdatomic.h>
#include <stddef.h>
#include <hiredis.h>

/* Send the outbound message json (len bytes, struct outbound as JSON) of
 * entry id through its channel's send() or send_queue(), then record it in
 * one transaction: rd:out:sent:{cid} = seq and XACK. cid/seq: its
 * conversation and number (NULL/0 for an entry without order): seq goes
 * only after seq - 1 — a fresh entry waits up to 200 ms for it, a retry
 * (claimed: taken over with XAUTOCLAIM) does not wait; one delivered
 * already is only acked. running: cleared when the process stops (ends the
 * wait). Returns 0 when done with it (delivered, or dropped as unusable),
 * -1 to leave it pending for a retry (channel unavailable, its predecessor
 * not delivered yet, Redis trouble). rc is the calling thread's own. */
int sender_handle(redisContext *rc, const char *id, const char *json, size_t len, const char *cid,
		  long long seq, int claimed, const atomic_int *running);

#endif
