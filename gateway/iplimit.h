/* iplimit.h — per-address request budgets for the public endpoints (issue
 * #8): the web chat (socket connects and the frames that reach the store)
 * and the test channel. Never for /webhooks/whatsapp or the Slack webhooks:
 * Meta and Slack deliver every customer's messages from a few addresses, and
 * their customers have their own budget (agent/limits.h).
 *
 * In-process and on the service thread only (no lock): the HTTP loop never
 * waits on Redis for it. Each gateway process counts its own share, so with
 * N processes behind a balancer an address gets up to N budgets. A window
 * opens with an address's first request and lasts IPLIMIT_WINDOW_MS. The
 * table is bounded (IPLIMIT_SLOTS): when it is full, the address whose window
 * is oldest among the few probed slots is forgotten. */
#ifndef RD_IPLIMIT_H
#define RD_IPLIMIT_H

#include <stdint.h>

#define IPLIMIT_WINDOW_MS 60000
#define IPLIMIT_SLOTS 4096
#define IPLIMIT_ADDR_LEN 64     /* longest address kept; longer ones are cut (still counted) */

enum iplimit_scope { IPLIMIT_TEST = 0, IPLIMIT_WEBCHAT };

/* Count one request from addr (text, as lws_get_peer_simple gives it) in
 * scope against per_minute (≤ 0: no limit, always 0). now_ms is a monotonic
 * clock (mono_ms). Returns 0 when within the budget, else the whole seconds
 * until the window ends (≥ 1): the Retry-After. Service thread only. */
int iplimit_hit(enum iplimit_scope scope, const char *addr, int per_minute, int64_t now_ms);

/* Forget every address (tests). */
void iplimit_reset(void);

#endif
