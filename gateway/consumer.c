#include "gateway/consumer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/rscript.h"

int consumer_ack(redisContext *rc, const char *stream, const char *group, const char *id)
{
	redisReply *r = rscript_command(rc, "XACK", stream, group, id, NULL);
	int ok = r && r->type == REDIS_REPLY_INTEGER;
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

void consumer_instance(char *out, size_t outlen, const char *host, unsigned long pidns, long pid,
		       int64_t start_ms)
{
	snprintf(out, outlen, "%.63s-%lx-%ld-%llx", host && host[0] ? host : "redress", pidns, pid,
		 (unsigned long long)start_ms);
}

unsigned long consumer_pidns(void)
{
	char link[64];
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof link - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	const char *p = strchr(link, '['); /* "pid:[4026531836]" */
	return p ? strtoul(p + 1, NULL, 10) : 0;
}

static int is_digit(char c, int hex)
{
	return (c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f');
}

/* The run of (hex) digits right before end, itself right after a dash;
 * returns where it starts, or NULL. */
static const char *field_before(const char *begin, const char *end, int hex)
{
	const char *p = end;
	while (p > begin && is_digit(p[-1], hex))
		p--;
	return p < end && p - 1 > begin && p[-1] == '-' ? p : NULL;
}

struct parts {
	size_t place; /* length of "host-ns": where the process ran */
	size_t inst;  /* length of "host-ns-pid-start" */
	long pid;
	unsigned long ns;
};

/* Split an instance name (or a consumer name, kind = 1: "-w<N>"/"-s<N>"
 * after it). 0 when it has another shape. */
static int split(const char *name, int kind, struct parts *out)
{
	const char *end = name + strlen(name);
	if (kind) {
		const char *dash = strrchr(name, '-');
		if (!dash || (dash[1] != 'w' && dash[1] != 's') || !dash[2] ||
		    strspn(dash + 2, "0123456789") != strlen(dash + 2))
			return 0;
		end = dash;
	}
	const char *start = field_before(name, end, 1);
	const char *pid = start ? field_before(name, start - 1, 0) : NULL;
	const char *ns = pid ? field_before(name, pid - 1, 1) : NULL;
	if (!ns || start - 1 - pid > 9)
		return 0;
	out->place = (size_t)(pid - 1 - name);
	out->inst = (size_t)(end - name);
	out->pid = strtol(pid, NULL, 10);
	out->ns = strtoul(ns, NULL, 16);
	return 1;
}

int consumer_gone(const char *consumer, const char *self_instance, long self_pid)
{
	struct parts c, me;
	if (!split(consumer, 1, &c) || !split(self_instance, 0, &me) || me.ns == 0 || c.pid <= 0)
		return 0;
	if (c.place != me.place || memcmp(consumer, self_instance, c.place) != 0)
		return 0; /* another host or pid namespace: its pids mean nothing here */
	if (c.inst == me.inst && memcmp(consumer, self_instance, c.inst) == 0)
		return 0; /* ours */
	if (c.pid == self_pid)
		return 1; /* this pid, another start: the process before this one */
	return kill((pid_t)c.pid, 0) != 0 && errno == ESRCH;
}

int consumer_instance_of(const char *consumer, char *out, size_t outlen)
{
	struct parts c;
	if (!split(consumer, 1, &c) || c.inst >= outlen)
		return 0;
	memcpy(out, consumer, c.inst);
	out[c.inst] = '\0';
	return 1;
}
