/* outbox.h — appending to the outbox stream rd:outbox (see worker.h for the
 * entry format: o = outbound JSON, c = conversation, s = its next sequence
 * number). Every producer goes through this script, so a conversation's
 * numbers have no gaps and senders can keep its replies in order. */
#ifndef RD_OUTBOX_H
#define RD_OUTBOX_H

#include <hiredis.h>
#include "common/model.h"
#include "common/rd.h"

/* KEYS: rd:out:seq:{cid}, rd:outbox. ARGV: outbound JSON, cid. */
extern const char outbox_lua[];
#define OUT_SEQ_TTL_S 2592000 /* a month: numbers and marks of idle conversations go (a plain number: RD_XSTR) */

/* Append redisAppendCommand-style (for a caller's MULTI). 1 if appended. */
int outbox_append_pipelined(redisContext *rc, const struct outbound *ob);

/* Append now (blocking; worker, sender or store thread). RD_EREDIS on failure. */
enum rd_err outbox_append(redisContext *rc, const struct outbound *ob) RD_WUR;

#endif
