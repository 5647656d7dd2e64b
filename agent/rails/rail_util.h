/* rail_util.h — what the HTTP rails share. Private to agent/rails/. */
#ifndef RD_RAIL_UTIL_H
#define RD_RAIL_UTIL_H

#include "agent/rails.h"
#include "common/httpc.h"

/* The outcome is unknown (timeout, 429, 5xx, transport): retry with the same key. */
static inline enum rd_err rail_unknown(struct rail_refund_res *res, enum rd_err err)
{
	res->status = REFUND_PENDING;
	res->retryable = 1;
	return err ? err : RD_EUNAVAIL;
}

/* A final refusal from the provider. */
static inline enum rd_err rail_refused(struct rail_refund_res *res)
{
	res->status = REFUND_FAILED;
	res->retryable = 0;
	return RD_OK;
}

/* 1 for the statuses after which a retry with the same key is right. */
static inline int rail_http_retryable(long status)
{
	return status == 0 || status == 408 || status == 409 || status == 429 || status >= 500;
}

#endif
