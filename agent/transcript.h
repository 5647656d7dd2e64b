/* transcript.h — what a conversation said, as the support lead, the web
 * chat's history and the LLM read it: a list rd:tr:{conversation_id} of
 * JSON entries, oldest first, capped at TRANSCRIPT_MAX (dialog.h).
 *
 * An entry: {"id", "dir": "in" | "out", "ts": ms as text, ...}; "in" also
 * has "message_id", "kind" ("text" | "button") and "text" (the button's
 * payload for a button), "out" has "template" and "text". "id" is unique
 * in the conversation: an inbound's message_id, and "<message_id>.<i>"
 * for the i-th reply (from 1) of the turn it started.
 *
 * Builds before 2026-11-22 kept the transcript in a stream rd:log:{cid}
 * (entries with the same fields, "id" the stream id). A stream costs Redis
 * at least 4 KiB however little it holds (Redis 7.0 preallocates a 4 KiB
 * listpack for its first node), ~75 % of what a short conversation cost:
 * bench/NOTES.md. Those streams are still read, before the list; nothing
 * writes them any more. Private to agent/. */
#ifndef RD_TRANSCRIPT_H
#define RD_TRANSCRIPT_H

#include <stddef.h>

#include <hiredis.h>
#include <jansson.h>

#include "common/rd.h"

#define KEY_TRANSCRIPT_FMT     "rd:tr:{%s}"
#define KEY_TRANSCRIPT_OLD_FMT "rd:log:{%s}"

/* Append to rc's pipeline (redisAppendCommand, for the caller's MULTI) the
 * commands that add entries[0..n) — JSON objects as text, as above; a NULL
 * one (out of memory) is left out — to cid's transcript and cap it.
 * Returns how many commands were appended (0: none to add, or no memory). */
int transcript_append(redisContext *rc, const char *cid, const char *const *entries, int n);

/* The last max entries (1..TRANSCRIPT_MAX; others mean TRANSCRIPT_MAX) of
 * cid's transcript — the old stream's, then the list's — oldest first, as
 * a new JSON array of objects (caller owns); one round trip. An entry that
 * is not a JSON object is skipped. NULL with *err = RD_EREDIS when Redis
 * fails, RD_ENOMEM when memory does. */
json_t *transcript_read(redisContext *rc, const char *cid, size_t max, enum rd_err *err);

#endif
