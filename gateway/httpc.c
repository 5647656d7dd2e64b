#include "gateway/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *r = arg;
	size_t n = size * nmemb;
	if (r->len + n > HTTPC_MAX_RESPONSE)
		n = HTTPC_MAX_RESPONSE - r->len; /* keep what fits, drop the rest */
	char *b = realloc(r->body, r->len + n + 1);
	if (!b)
		return 0;
	r->body = b;
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return size * nmemb;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *r = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
		char v[32];
		size_t vl = n - (sizeof name - 1);
		if (vl >= sizeof v)
			vl = sizeof v - 1;
		memcpy(v, p + sizeof name - 1, vl);
		v[vl] = '\0';
		char *end;
		long s = strtol(v, &end, 10);
		if (end != v && s >= 0)
			r->retry_after_s = s;
	}
	return n;
}

enum rd_err httpc_post_json(CURL *curl, const char *url, const char *bearer, const char *body,
			    size_t len, int timeout_ms, struct httpc_resp *resp)
{
	char auth[1200];
	struct curl_slist *h = NULL;
	memset(resp, 0, sizeof *resp);
	resp->retry_after_s = -1;
	curl_easy_reset(curl);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	if (bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	CURLcode rc = curl_easy_perform(curl);
	curl_slist_free_all(h);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK) {
		LOG_W("httpc", "request_failed", "POST %s: %s", url, curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? RD_ETIMEOUT : RD_EUNAVAIL;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body && (resp->body = calloc(1, 1)) == NULL)
		return RD_ENOMEM;
	return RD_OK;
}

void httpc_resp_free(struct httpc_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
