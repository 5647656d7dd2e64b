#include "gateway/rconn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rd_err redis_target_parse(const char *url, struct redis_target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		const char *p = url + 7, *q = strchr(p, '?');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n >= sizeof t->unix_path || p[0] != '/')
			goto bad;
		memcpy(t->unix_path, p, n);
		if (q) {
			if (strncmp(q, "?db=", 4) != 0)
				goto bad;
			char *end;
			long db = strtol(q + 4, &end, 10);
			if (*end || db < 0 || db > 255)
				goto bad;
			t->db = (int)db;
		}
		return RD_OK;
	}
	if (strncmp(url, "redis://", 8) != 0)
		goto bad;
	const char *p = url + 8;
	const char *at = strchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t n = (size_t)(at - pw);
		if (n >= sizeof t->password)
			goto bad;
		memcpy(t->password, pw, n);
		p = at + 1;
	}
	const char *hend;
	if (*p == '[') { /* [::1]:6379 */
		hend = strchr(p, ']');
		if (!hend || (size_t)(hend - p - 1) >= sizeof t->host)
			goto bad;
		memcpy(t->host, p + 1, (size_t)(hend - p - 1));
		hend++;
	} else {
		hend = p + strcspn(p, ":/");
		if (hend == p || (size_t)(hend - p) >= sizeof t->host)
			goto bad;
		memcpy(t->host, p, (size_t)(hend - p));
	}
	p = hend;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			goto bad;
		t->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1]) {
		char *end;
		long db = strtol(p + 1, &end, 10);
		if (*end || db < 0 || db > 255)
			goto bad;
		t->db = (int)db;
	} else if (*p && strcmp(p, "/") != 0) {
		goto bad;
	}
	return RD_OK;
bad:
	snprintf(err, errlen, "expected redis://host:port/db or unix:///path.sock?db=N, got \"%s\"", url);
	return RD_EINVAL;
}

redisContext *redis_open(const struct redis_target *t, int timeout_ms, char *err, size_t errlen)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *rc = t->unix_path[0] ? redisConnectUnixWithTimeout(t->unix_path, tv)
					   : redisConnectWithTimeout(t->host, t->port, tv);
	if (!rc || rc->err) {
		snprintf(err, errlen, "cannot connect to redis at %s:%d: %s",
			 t->unix_path[0] ? t->unix_path : t->host, t->unix_path[0] ? 0 : t->port,
			 rc ? rc->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(rc, tv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set redis timeout");
		goto fail;
	}
	redisReply *r;
	if (t->password[0]) {
		r = redis_cmd(rc, "AUTH %s", t->password);
		if (!r) {
			snprintf(err, errlen, "redis AUTH failed");
			goto fail;
		}
		freeReplyObject(r);
	}
	if (t->db) {
		r = redis_cmd(rc, "SELECT %d", t->db);
		if (!r) {
			snprintf(err, errlen, "redis SELECT %d failed", t->db);
			goto fail;
		}
		freeReplyObject(r);
	}
	return rc;
fail:
	if (rc)
		redisFree(rc);
	return NULL;
}

static redisReply *checked(redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

redisReply *redis_cmd(redisContext *rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	return checked(r);
}

redisReply *redis_cmdv(redisContext *rc, int argc, const char **argv, const size_t *lens)
{
	return checked(redisCommandArgv(rc, argc, argv, lens));
}
