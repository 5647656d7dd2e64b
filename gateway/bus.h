/* bus.h — pushes between threads and gateway processes over Redis pub/sub
 * (channel rd:push). A push is (key, payload): whoever parked something on
 * the key (an HTTP request waiting for the agent's reply, later a web chat
 * socket) gets the payload on its own service loop. Pub/sub is
 * fire-and-forget: a push is also stored by its sender, so a missed push is
 * a late answer, never a lost one. */
#ifndef RD_BUS_H
#define RD_BUS_H

#include <stddef.h>
#include <hiredis.h>
#include "common/rd.h"

/* Publish from any thread with that thread's connection (borrowed). */
enum rd_err bus_publish(redisContext *rc, const char *key, const char *payload, size_t len) RD_WUR;
/* The same PUBLISH, only appended to rc's pipeline (redisAppendCommand):
 * the caller reads its reply (an INTEGER) in order with its other ones.
 * RD_ENOMEM when nothing was appended. */
enum rd_err bus_publish_append(redisContext *rc, const char *key, const char *payload,
			       size_t len) RD_WUR;

/* Subscriber thread: delivers each push to deliver() on the service thread
 * (called from bus_poll). */
int bus_start(void (*deliver)(const char *key, const char *payload, size_t len));
void bus_stop(void);
/* Service thread: hand over received pushes. */
void bus_poll(void);
/* 1 once subscribed (tests and readiness). */
int bus_ready(void);

#endif
