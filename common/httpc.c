#include "common/httpc.h"

#include <pthread.h>
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

enum rd_err httpc_do(CURL *curl, const struct httpc_req *req, struct httpc_resp *resp)
{
	char auth[1200], idem[200], ctype[128];
	struct curl_slist *h = NULL;
	memset(resp, 0, sizeof *resp);
	resp->retry_after_s = -1;
	curl_easy_reset(curl);
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	if (req->content_type) {
		snprintf(ctype, sizeof ctype, "Content-Type: %s", req->content_type);
		h = curl_slist_append(h, ctype);
	}
	if (req->bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", req->bearer);
		h = curl_slist_append(h, auth);
	}
	if (req->idempotency_key) {
		snprintf(idem, sizeof idem, "Idempotency-Key: %s", req->idempotency_key);
		h = curl_slist_append(h, idem);
	}
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	}
	if (req->basic_user) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
	}
	if (req->cert_file && req->cert_file[0])
		curl_easy_setopt(curl, CURLOPT_SSLCERT, req->cert_file);
	if (req->key_file && req->key_file[0])
		curl_easy_setopt(curl, CURLOPT_SSLKEY, req->key_file);
	if (req->ca_file && req->ca_file[0])
		curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
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
		LOG_W("httpc", "request_failed", "%s %s: %s", req->method, req->url, curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? RD_ETIMEOUT : RD_EUNAVAIL;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body && (resp->body = calloc(1, 1)) == NULL)
		return RD_ENOMEM;
	return RD_OK;
}

enum rd_err httpc_post_json(CURL *curl, const char *url, const char *bearer, const char *body,
			    size_t len, int timeout_ms, struct httpc_resp *resp)
{
	struct httpc_req req = { .method = "POST", .url = url, .content_type = "application/json",
				 .body = body, .len = len, .bearer = bearer, .timeout_ms = timeout_ms };
	return httpc_do(curl, &req, resp);
}

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void free_handle(void *h)
{
	curl_easy_cleanup(h);
}

/* libcurl's global init (and with it OpenSSL's, ~2 MB of touched pages)
 * waits for the first outbound request: an idle gateway never pays it.
 * pthread_once makes it safe from any thread (curl >= 7.84 is thread-safe
 * here too). */
static void make_key(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_key_create(&handle_key, free_handle);
}

CURL *httpc_thread_handle(void)
{
	pthread_once(&handle_once, make_key);
	CURL *c = pthread_getspecific(handle_key);
	if (!c && (c = curl_easy_init()) != NULL)
		pthread_setspecific(handle_key, c);
	return c;
}

void httpc_resp_free(struct httpc_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
