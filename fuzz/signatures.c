/* signatures.c — fuzz the three webhook signature checks over hostile
 * headers and bodies: Slack X-Slack-Signature + X-Slack-Request-Timestamp
 * (slack_signature_ok), Meta X-Hub-Signature-256 (wa_signature_ok) and
 * Stripe-Signature "t=…,v1=…" (stripe_signature_ok).
 *
 * Input: one byte choosing the scheme, then header bytes up to the first
 * '\n' (Slack: "<timestamp> <signature>"), then the body. Besides "no
 * crash": a hostile header is refused unless it carries the right HMAC (the
 * oracle signs the body as each platform documents), and the right
 * signature over the same body is accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channels/slack_int.h"
#include "channels/whatsapp_int.h"
#include "common/util.h"
#include "fuzz/fuzz.h"
#include "gateway/webhooks_rails.h"

#define SECRET "fuzz-signing-secret"
#define NOW 1700000000LL

/* hex HMAC-SHA256(SECRET, prefix + body) into want[65]. */
static void sign(const char *prefix, const char *body, size_t len, char want[65])
{
	size_t pl = strlen(prefix);
	char *buf = malloc(pl + len + 1);
	if (!buf)
		abort();
	memcpy(buf, prefix, pl);
	if (len)
		memcpy(buf + pl, body, len);
	hmac_sha256_hex(SECRET, strlen(SECRET), buf, pl + len, want);
	free(buf);
}

static void slack(const char *hdr, const char *body, size_t len)
{
	char ts[64] = "", sig[256] = "", want[65], prefix[96], good[80];
	const char *sp = strchr(hdr, ' ');
	if (sp) {
		snprintf(ts, sizeof ts, "%.*s", (int)(sp - hdr), hdr);
		snprintf(sig, sizeof sig, "%s", sp + 1);
	} else {
		snprintf(ts, sizeof ts, "%s", hdr);
	}
	int ok = slack_signature_ok(SECRET, ts, sig, body, len, NOW);
	if (ok) {
		snprintf(prefix, sizeof prefix, "v0:%s:", ts);
		sign(prefix, body, len, want);
		FUZZ_CHECK(strncmp(sig, "v0=", 3) == 0 && strcmp(sig + 3, want) == 0);
		long long t = strtoll(ts, NULL, 10);
		FUZZ_CHECK(t > 0 && t - NOW <= SLACK_MAX_SKEW_S && NOW - t <= SLACK_MAX_SKEW_S);
	}
	/* the right signature, with a fresh timestamp, is accepted; a stale one is not */
	sign("v0:1700000100:", body, len, want);
	snprintf(good, sizeof good, "v0=%s", want);
	FUZZ_CHECK(slack_signature_ok(SECRET, "1700000100", good, body, len, NOW) == 1);
	FUZZ_CHECK(slack_signature_ok(SECRET, "1700000100", good, body, len, NOW + 100 + SLACK_MAX_SKEW_S + 1) == 0);
	if (len) /* another body (one byte shorter) under the same signature */
		FUZZ_CHECK(slack_signature_ok(SECRET, "1700000100", good, body, len - 1, NOW) == 0);
}

static void meta(const char *hdr, const char *body, size_t len)
{
	char want[65], good[80];
	sign("", body, len, want);
	if (wa_signature_ok(SECRET, hdr, body, len))
		FUZZ_CHECK(strncmp(hdr, "sha256=", 7) == 0 && strcasecmp(hdr + 7, want) == 0);
	snprintf(good, sizeof good, "sha256=%s", want);
	FUZZ_CHECK(wa_signature_ok(SECRET, good, body, len) == 1);
	for (char *p = good + 7; *p; p++) /* Meta's hex in upper case is the same signature */
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	FUZZ_CHECK(wa_signature_ok(SECRET, good, body, len) == 1);
	good[7] = good[7] == '0' ? '1' : '0';
	FUZZ_CHECK(wa_signature_ok(SECRET, good, body, len) == 0);
}

static void stripe(const char *hdr, const char *body, size_t len)
{
	char want[65], good[200], prefix[64];
	if (stripe_signature_ok(SECRET, hdr, body, len, NOW)) {
		/* then some v1= in the header is HMAC("<t>.<body>") for its t */
		const char *t = strstr(hdr, "t=");
		FUZZ_CHECK(t != NULL);
		int found = 0;
		for (const char *p = hdr; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
			if (strncmp(p, "t=", 2) != 0)
				continue;
			snprintf(prefix, sizeof prefix, "%.*s.", (int)strcspn(p + 2, ","), p + 2);
			sign(prefix, body, len, want);
			found |= strstr(hdr, want) != NULL;
		}
		FUZZ_CHECK(found);
	}
	sign("1700000100.", body, len, want);
	snprintf(good, sizeof good, "t=1700000100,v0=00,v1=%s", want);
	FUZZ_CHECK(stripe_signature_ok(SECRET, good, body, len, NOW) == 1);
	FUZZ_CHECK(stripe_signature_ok(SECRET, good, body, len, NOW + 100 + STRIPE_TOLERANCE_S + 1) == 0);
	snprintf(good, sizeof good, "v1=%s", want); /* no timestamp: refused */
	FUZZ_CHECK(stripe_signature_ok(SECRET, good, body, len, NOW) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	const char *nl = memchr(rest, '\n', n);
	size_t hl = nl ? (size_t)(nl - rest) : n;
	char *hdr = fuzz_strndup((const uint8_t *)rest, hl); /* a header value ends at its first NUL */
	const char *body = nl ? nl + 1 : rest + n;
	size_t blen = nl ? n - hl - 1 : 0;
	switch (data[0] % 3) {
	case 0:
		slack(hdr, body, blen);
		break;
	case 1:
		meta(hdr, body, blen);
		break;
	default:
		stripe(hdr, body, blen);
		break;
	}
	free(hdr);
	return 0;
}
