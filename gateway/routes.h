/* routes.h — the gateway's own HTTP routes: GET /healthz (liveness),
 * GET /readyz (200 only while Redis answers), GET /metrics (Prometheus
 * text), GET /v1/conversations/{id} (QA: transcript and dialog state, with
 * the test channel's bearer key). */
#ifndef RD_ROUTES_H
#define RD_ROUTES_H

#include <stddef.h>
#include <hiredis.h>
#include <jansson.h>
#include "gateway/http.h"

/* A conversation's state and transcript (store or worker thread; blocking):
 * {"conversation_id","state","transcript":[…]} or NULL when it has none. */
json_t *conversation_json(redisContext *rc, const char *conversation_id, enum rd_err *err);

/* Write the gateway routes into out; returns how many. */
size_t routes_gateway(struct http_route *out, size_t max);

#endif
