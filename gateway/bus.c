#include "gateway/bus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/gateway.h"
#include "gateway/queue.h"

struct push {
	struct qnode node;
	char *key;       /* owned */
	char *payload;   /* owned */
	size_t len;
};

static struct queue inbox = QUEUE_INIT;
static pthread_t thread;
static atomic_int running, subscribed, sock_fd = -1;
static void (*deliver_fn)(const char *, const char *, size_t);

enum rd_err bus_publish_append(redisContext *rc, const char *key, const char *payload, size_t len)
{
	/* wire form: key '\n' payload (keys never contain a newline) */
	size_t klen = strlen(key);
	char *msg = malloc(klen + 1 + len);
	if (!msg)
		return RD_ENOMEM;
	memcpy(msg, key, klen);
	msg[klen] = '\n';
	memcpy(msg + klen + 1, payload, len);
	const char *argv[] = { "PUBLISH", KEY_PUSH_CHANNEL, msg };
	size_t lens[] = { 7, sizeof KEY_PUSH_CHANNEL - 1, klen + 1 + len };
	int rc_ = redisAppendCommandArgv(rc, 3, argv, lens);
	free(msg);
	return rc_ == REDIS_OK ? RD_OK : RD_ENOMEM;
}

enum rd_err bus_publish(redisContext *rc, const char *key, const char *payload, size_t len)
{
	redisReply *r = NULL;
	enum rd_err err = bus_publish_append(rc, key, payload, len);
	if (err)
		return err;
	if (redisGetReply(rc, (void **)&r) != REDIS_OK)
		r = NULL;
	err = (r && r->type == REDIS_REPLY_INTEGER) ? RD_OK : RD_EREDIS;
	if (r)
		freeReplyObject(r);
	return err;
}

static void enqueue(const char *msg, size_t len)
{
	const char *nl = memchr(msg, '\n', len);
	if (!nl)
		return;
	struct push *p = calloc(1, sizeof *p);
	if (!p)
		return;
	p->key = strndup(msg, (size_t)(nl - msg));
	p->len = len - (size_t)(nl - msg) - 1;
	p->payload = malloc(p->len + 1);
	if (!p->key || !p->payload) {
		free(p->key);
		free(p->payload);
		free(p);
		return;
	}
	memcpy(p->payload, nl + 1, p->len);
	p->payload[p->len] = '\0';
	queue_push(&inbox, &p->node);
	gw.wakeup();
}

static void *bus_main(void *unused)
{
	(void)unused;
	int backoff = 50;
	while (atomic_load(&running)) {
		char err[256];
		redisContext *rc = redis_open(&gw.redis, gw.cfg->redis.timeout_ms, err, sizeof err);
		if (rc) {
			/* no read timeout: a subscriber waits; bus_stop() shuts the socket */
			struct timeval none = { 0, 0 };
			redisSetTimeout(rc, none);
			redisReply *r = redisCommand(rc, "SUBSCRIBE %s", KEY_PUSH_CHANNEL);
			if (r && r->type == REDIS_REPLY_ARRAY) {
				freeReplyObject(r);
				atomic_store(&sock_fd, rc->fd);
				atomic_store(&subscribed, 1);
				backoff = 50;
				LOG_D("bus", "subscribed", "%s", KEY_PUSH_CHANNEL);
				while (atomic_load(&running)) {
					r = NULL;
					if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r)
						break;
					if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
					    r->element[2]->type == REDIS_REPLY_STRING)
						enqueue(r->element[2]->str, r->element[2]->len);
					freeReplyObject(r);
				}
			} else if (r) {
				freeReplyObject(r);
			}
			atomic_store(&subscribed, 0);
			atomic_store(&sock_fd, -1);
			redisFree(rc);
		}
		if (!atomic_load(&running))
			break;
		LOG_W("bus", "disconnected", "retrying in %d ms", backoff);
		usleep((useconds_t)backoff * 1000);
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
	}
	return NULL;
}

int bus_start(void (*deliver)(const char *key, const char *payload, size_t len))
{
	deliver_fn = deliver;
	atomic_store(&running, 1);
	if (pthread_create(&thread, NULL, bus_main, NULL))
		return -1;
	pthread_setname_np(thread, "rd-bus"); /* for top -H */
	return 0;
}

void bus_stop(void)
{
	atomic_store(&running, 0);
	int fd = atomic_load(&sock_fd);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	struct qnode *n = queue_take_all(&inbox);
	while (n) {
		struct push *p = (struct push *)n;
		n = n->next;
		free(p->key);
		free(p->payload);
		free(p);
	}
}

void bus_poll(void)
{
	struct qnode *n = queue_take_all(&inbox);
	while (n) {
		struct push *p = (struct push *)n;
		n = n->next;
		deliver_fn(p->key, p->payload, p->len);
		free(p->key);
		free(p->payload);
		free(p);
	}
}

int bus_ready(void)
{
	return atomic_load(&subscribed);
}
