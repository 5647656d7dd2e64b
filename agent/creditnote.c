/* creditnote.c — credit notes in Redis (creditnote.h): one number per refund,
 * from a gapless per-prefix sequence.
 *
 * The script must name rd:cn:{number} in KEYS, but the number comes from the
 * sequence. So the caller reads the sequence, proposes number seq + 1, and
 * the script takes it only if the sequence has not moved (otherwise it
 * answers with the current value and writes nothing); the refund lookup,
 * the increment and both writes happen in the same script. No number is
 * ever skipped or used twice. */
#include "agent/creditnote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/rscript.h"
#include "common/log.h"
#include "common/util.h"

#define CN_PREFIX_MAX 12 /* + 19 digits + NUL fits the 32-byte number_out */
#define CN_NUMBER_MIN_OUT 32
#define CN_REFUND_ID_MAX 256
#define CN_RETRIES 64

/* KEYS[1] rd:cn:byrefund  [2] rd:cn:seq:{prefix}  [3] rd:cn:{number}
 * ARGV[1] refund_id [2] expected seq [3] number [4] order_id [5] amount
 * [6] currency [7] customer [8] reason [9] issuer [10] issued_at [11] issuer
 * tax id [12] issuer address [13] payment id [14] rail [15] lines (JSON)
 * [16] locale.
 * Returns {"found", number} | {"retry", current seq} | {"created", number}. */
static struct rscript issue_script = {
	.name = "creditnote_issue",
	.src = "local got = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if got then return {'found', got} end\n"
	"local seq = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if seq ~= tonumber(ARGV[2]) then return {'retry', tostring(seq)} end\n"
	"if redis.call('EXISTS', KEYS[3]) == 1 then\n"
	"  return redis.error_reply('ERR credit note ' .. ARGV[3] .. ' exists: sequence behind')\n"
	"end\n"
	"redis.call('INCR', KEYS[2])\n"
	"redis.call('HSET', KEYS[3], 'number', ARGV[3], 'refund_id', ARGV[1],\n"
	"           'order_id', ARGV[4], 'amount', ARGV[5], 'currency', ARGV[6],\n"
	"           'customer', ARGV[7], 'reason', ARGV[8], 'issuer', ARGV[9],\n"
	"           'issued_at', ARGV[10], 'tax_id', ARGV[11], 'address', ARGV[12],\n"
	"           'payment_id', ARGV[13], 'rail', ARGV[14], 'lines', ARGV[15],\n"
	"           'locale', ARGV[16])\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"return {'created', ARGV[3]}\n",
};

/* KEYS[1] rd:cn:{number}; ARGV seal. Returns "set", "same", "other"
 * (sealed before with another hash: kept) or "missing". */
static struct rscript seal_script = {
	.name = "creditnote_seal",
	.src = "if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end\n"
	"local cur = redis.call('HGET', KEYS[1], 'seal')\n"
	"if cur == ARGV[1] then return 'same' end\n"
	"if cur and cur ~= '' then return 'other' end\n"
	"redis.call('HSET', KEYS[1], 'seal', ARGV[1])\n"
	"return 'set'\n",
};

enum rd_err creditnote_issue(redisContext *rc, const struct credit_note_req *req,
			     char *number_out, size_t n, int *created)
{
	char kseq[RSCRIPT_KEY_MAX], kcn[RSCRIPT_KEY_MAX];
	char number[64], sseq[24], amount[24], issued[24], word[16];
	redisReply *r = NULL;
	long long seq;
	enum rd_err e;

	*created = 0;
	if (n < CN_NUMBER_MIN_OUT || !req->prefix || !req->prefix[0] || strlen(req->prefix) > CN_PREFIX_MAX ||
	    !req->refund_id || !req->refund_id[0] || strlen(req->refund_id) > CN_REFUND_ID_MAX ||
	    req->amount < 0)
		return RD_EINVAL;
	if ((e = rscript_key(kseq, sizeof kseq, "rd:cn:seq:%s", req->prefix)) != RD_OK)
		return e;
	snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
	snprintf(issued, sizeof issued, "%lld", (long long)req->issued_at);
	if ((e = rscript_counter(rc, kseq, &seq)) != RD_OK)
		return e;

	for (int attempt = 0; attempt < CN_RETRIES; attempt++) {
		snprintf(sseq, sizeof sseq, "%lld", seq);
		snprintf(number, sizeof number, "%s%04lld", req->prefix, seq + 1);
		if ((e = rscript_key(kcn, sizeof kcn, "rd:cn:%s", number)) != RD_OK)
			return e;
		const char *keys[] = { "rd:cn:byrefund", kseq, kcn };
		const char *args[] = { req->refund_id, sseq, number, req->order_id, amount,
				       req->currency, req->customer, req->reason, req->issuer,
				       issued, req->tax_id, req->address, req->payment_id,
				       req->rail, req->lines_json ? req->lines_json : "[]",
				       req->locale };
		if ((e = rscript_run(rc, &issue_script, RD_ARRAY_LEN(keys), keys,
				     RD_ARRAY_LEN(args), args, &r)) != RD_OK)
			return e;
		int retry;
		e = rscript_numbered(r, word, sizeof word, number_out, n, &seq, &retry);
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
	LOG_W("creditnote", "seq_contention", "gave up after %d attempts", CN_RETRIES);
	return RD_EUNAVAIL;
}

enum rd_err creditnote_seal(redisContext *rc, const char *number, const char *seal)
{
	char key[RSCRIPT_KEY_MAX], st[16];
	redisReply *r = NULL;
	enum rd_err e;

	if (!number || !number[0] || !seal || !seal[0])
		return RD_EINVAL;
	if ((e = rscript_key(key, sizeof key, "rd:cn:%s", number)) != RD_OK)
		return e;
	const char *keys[] = { key };
	const char *args[] = { seal };
	if ((e = rscript_run(rc, &seal_script, 1, keys, 1, args, &r)) != RD_OK)
		return e;
	if (rscript_str(r, st, sizeof st) != RD_OK)
		e = RD_EREDIS;
	else if (strcmp(st, "missing") == 0)
		e = RD_ENOTFOUND;
	else if (strcmp(st, "other") == 0) {
		LOG_E("creditnote", "reseal_refused", "credit note already sealed with another hash");
		e = RD_EEXIST;
	}
	freeReplyObject(r);
	return e;
}

static void link_sig(const char *secret, const char *number, long long exp, char out[65])
{
	char msg[160];
	int n = snprintf(msg, sizeof msg, "%s.%lld", number, exp);
	hmac_sha256_hex(secret, strlen(secret), msg, (size_t)(n > 0 ? n : 0), out);
}

void creditnote_link(const char *base, const char *secret, const char *number, int64_t exp,
		     char *out, size_t n)
{
	char sig[65];
	link_sig(secret, number, (long long)exp, sig);
	snprintf(out, n, "%s/v1/credit-notes/%s?exp=%lld&sig=%s", base, number, (long long)exp, sig);
}

int creditnote_link_ok(const char *secret, const char *number, const char *exp, const char *sig,
		       int64_t now)
{
	char want[65], *end;
	long long e = strtoll(exp, &end, 10);
	if (end == exp || *end || e < now || strlen(number) > 64)
		return 0;
	link_sig(secret, number, e, want);
	return ct_equal(sig, strlen(sig), want, 64);
}
