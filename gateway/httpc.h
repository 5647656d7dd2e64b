/* httpc.h — outbound HTTP for channels and rails, over libcurl (one easy
 * handle per thread, reused so connections stay open). Blocking: call from
 * sender/worker threads only, never from the service loop. TLS verification
 * stays on; base URLs come from config so tests use servers on loopback. */
#ifndef RD_HTTPC_H
#define RD_HTTPC_H

#include <stddef.h>
#include <curl/curl.h>
#include "common/rd.h"

#define HTTPC_MAX_RESPONSE (1u << 20) /* bytes of response body kept */

struct httpc_resp {
	long status;          /* HTTP status, 0 when no response */
	char *body;           /* owned, NUL-terminated (may be cut at HTTPC_MAX_RESPONSE) */
	size_t len;
	long retry_after_s;   /* Retry-After in seconds, -1 when absent */
};

/* POST a JSON body to url with "Authorization: Bearer <bearer>" (omitted
 * when bearer is NULL). RD_OK when a response came back, whatever its status;
 * RD_ETIMEOUT after timeout_ms; RD_EUNAVAIL for other transport failures
 * (refused, reset, DNS). resp is always initialised; free with
 * httpc_resp_free. */
enum rd_err httpc_post_json(CURL *curl, const char *url, const char *bearer, const char *body,
			    size_t len, int timeout_ms, struct httpc_resp *resp) RD_WUR;
void httpc_resp_free(struct httpc_resp *resp);

#endif
