/* gateway.h — process-wide state shared by the gateway's threads:
 * the service loop (lws), the store thread (io.c), the bus subscriber
 * (bus.c), agent workers (worker.c) and outbox senders (sender.c). */
#ifndef RD_GATEWAY_H
#define RD_GATEWAY_H

#include <stdatomic.h>
#include "gateway/config.h"
#include "gateway/rconn.h"

struct templates;
struct orders_store_ops;

/* Redis keys and groups of the pipeline (DESIGN.md "Pipeline"). */
#define KEY_INBOUND "rd:inbound"
#define KEY_OUTBOX "rd:outbox"
#define KEY_PUSH_CHANNEL "rd:push"
#define GROUP_AGENTS "agents"
#define GROUP_SENDERS "senders"
#define DEDUPE_TTL_S 604800 /* 7 days (Meta retries for days); a plain number for RD_XSTR */
/* A conversation's inbound numbering (worker.h): the last number given
 * (ingest) and the last one handled (workers). printf formats of the cid. */
#define KEY_IN_SEQ_FMT "rd:in:seq:{%s}"
#define KEY_IN_DONE_FMT "rd:in:done:{%s}"
/* A running gateway process's liveness mark, printf format of its instance
 * name (consumer.h): renewed every ALIVE_BEAT_MS by the store thread (io.c),
 * living ALIVE_TTL_MS; a process whose mark expired is gone (worker.c). */
#define KEY_ALIVE_FMT "rd:alive:%s"
#define ALIVE_BEAT_MS 1000
#define ALIVE_TTL_MS 10000

struct gateway {
	const struct config *cfg;     /* borrowed, lives as long as the process */
	struct redis_target redis;
	char instance[96];            /* "host-ns-pid-start" (consumer.h): consumer-name prefix */
	atomic_int redis_ok;          /* 1 while the store thread's Redis answers */
	atomic_int stopping;          /* set by SIGTERM: drain and stop */
	void (*wakeup)(void);         /* wake the service loop from any thread */
	const struct templates *tpl;  /* loaded templates (credit-note documents) */
	const char *link_secret;      /* signs credit-note links */
	const struct orders_store_ops *orders; /* the orders store (ping for /readyz) */
	void *orders_ctx;
};

extern struct gateway gw;

#endif
