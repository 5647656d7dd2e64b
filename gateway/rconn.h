/* rconn.h — Redis connections from a [redis] url:
 *   redis://[:password@]host[:port][/db]      (default port 6379, db 0)
 *   unix:///path/to/redis.sock[?db=N]
 * Blocking hiredis contexts for worker threads and the CLI. */
#ifndef RD_RCONN_H
#define RD_RCONN_H

#include <hiredis.h>
#include "common/rd.h"

struct redis_target {
	char host[128];
	int port;
	char unix_path[256];      /* set for unix:// */
	int db;
	char password[128];
};

enum rd_err redis_target_parse(const char *url, struct redis_target *t, char *err,
			       size_t errlen) RD_WUR;

/* Connect (timeout_ms for connect and each command), AUTH and SELECT.
 * NULL on failure with the reason in err. Caller frees with redisFree. */
redisContext *redis_open(const struct redis_target *t, int timeout_ms, char *err, size_t errlen);

/* redisCommand that returns NULL both for a dead connection and an error
 * reply (freed), so callers test one thing. */
redisReply *redis_cmd(redisContext *rc, const char *fmt, ...);
redisReply *redis_cmdv(redisContext *rc, int argc, const char **argv, const size_t *lens);

#endif
