/* creditnote.h — credit notes: numbered from a per-issuer sequence
 * (prefix + 4+ digits: NC-0001), exactly once per refund, issued in the
 * same flow as the refund and sealed with its audit entry hash.
 *
 * Redis: rd:cn:seq:{prefix} counter, rd:cn:byrefund hash refund_id → number,
 * rd:cn:{number} hash: number, refund_id, order_id, amount, currency,
 * customer, reason, issuer, tax_id, address, payment_id, rail, lines (JSON),
 * locale, issued_at (seconds), seal. */
#ifndef RD_CREDITNOTE_H
#define RD_CREDITNOTE_H

#include <stdint.h>
#include <hiredis.h>
#include "common/rd.h"

struct credit_note_req {
	const char *prefix;           /* "NC-" */
	const char *issuer;           /* issuer name */
	const char *refund_id;        /* our refund id: the once-only key */
	const char *order_id;
	int64_t amount;               /* minor units */
	const char *currency;
	const char *customer;         /* customer name ("" allowed) */
	const char *reason;           /* "damaged", … or "" */
	int64_t issued_at;            /* seconds since the epoch */
	const char *tax_id;           /* issuer's tax id ("" allowed) */
	const char *address;          /* issuer's address ("" allowed) */
	const char *payment_id;       /* the original payment it settles */
	const char *rail;             /* "card" | "pix" | "usdc" … */
	const char *lines_json;       /* refunded lines: [{"sku","category","quantity","price"}…] */
	const char *locale;           /* the customer's, for the document */
};

/* Issue (or find) the credit note for req->refund_id; number_out (≥ 32
 * bytes) gets "NC-0001". *created is 1 when this call issued it. */
enum rd_err creditnote_issue(redisContext *rc, const struct credit_note_req *req,
			     char *number_out, size_t n, int *created) RD_WUR;

/* The signed, expiring link to a credit note's document:
 * "{base}/v1/credit-notes/{number}?exp={unix}&sig={hex HMAC-SHA256(secret,
 * number + "." + exp)}" into out. Links cannot be guessed or enumerated. */
void creditnote_link(const char *base, const char *secret, const char *number, int64_t exp,
		     char *out, size_t n);

/* 1 when sig signs (number, exp) with secret and exp is not past now
 * (seconds). Constant-time. */
int creditnote_link_ok(const char *secret, const char *number, const char *exp, const char *sig,
		       int64_t now);

/* Record the audit seal (hash of the audit entry that sealed it). Set once:
 * the same seal again is RD_OK, another one RD_EEXIST (kept, logged);
 * RD_ENOTFOUND when there is no such credit note. */
enum rd_err creditnote_seal(redisContext *rc, const char *number, const char *seal) RD_WUR;

#endif
