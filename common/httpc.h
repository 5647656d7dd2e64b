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

/* One request, as general as the rails need. */
struct httpc_req {
	const char *method;        /* "GET", "POST", "PUT", "PATCH" */
	const char *url;
	const char *content_type;  /* NULL: no body */
	const char *body;          /* borrowed, len bytes */
	size_t len;
	const char *bearer;        /* "Authorization: Bearer …", NULL for none */
	const char *basic_user;    /* HTTP basic auth when non-NULL (with basic_pass) */
	const char *basic_pass;
	const char *idempotency_key; /* "Idempotency-Key: …" when non-NULL */
	const char *cert_file;     /* mutual TLS: client certificate and key (PEM), NULL for none */
	const char *key_file;
	const char *ca_file;       /* extra CA bundle to verify the server, NULL: the system's */
	int timeout_ms;
};

/* Perform req. RD_OK when a response came back, whatever its status;
 * RD_ETIMEOUT after timeout_ms; RD_EUNAVAIL for other transport failures
 * (refused, reset, DNS, TLS). resp is always initialised; free with
 * httpc_resp_free. TLS peer and host verification stay on. */
enum rd_err httpc_do(CURL *curl, const struct httpc_req *req, struct httpc_resp *resp) RD_WUR;

/* POST a JSON body to url with "Authorization: Bearer <bearer>" (omitted
 * when bearer is NULL): httpc_do with the usual fields. */
enum rd_err httpc_post_json(CURL *curl, const char *url, const char *bearer, const char *body,
			    size_t len, int timeout_ms, struct httpc_resp *resp) RD_WUR;

/* The calling thread's curl handle, created on first use and freed when the
 * thread exits (connections are reused across requests). NULL on ENOMEM. */
CURL *httpc_thread_handle(void);
void httpc_resp_free(struct httpc_resp *resp);

#endif
