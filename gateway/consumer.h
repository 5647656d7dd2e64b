/* consumer.h — the names of a gateway process's stream consumers, telling
 * from a name whether its process is gone, and acknowledging an entry.
 *
 * A process is "host-ns-pid-start": gethostname, its pid namespace (the
 * inode of /proc/self/ns/pid, hex: two containers sharing a hostname, with
 * host networking, have their own pids), getpid, and the wall-clock ms it
 * started at (hex: tells a process from the one before it with the same
 * pid). Its consumers, and the conversation locks they hold, are
 * "<instance>-w<N>" (agent workers) and "<instance>-s<N>" (outbox senders).
 * A running process keeps rd:alive:<instance> (io.c, gateway.h): a process
 * of another host whose mark expired is gone too (worker.c). */
#ifndef RD_CONSUMER_H
#define RD_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

/* XACK id in stream's group on rc (blocking, one round trip). Returns 0,
 * or -1 when Redis did not take it (the entry stays pending). */
int consumer_ack(redisContext *rc, const char *stream, const char *group, const char *id);

/* Write this process's instance name into out (>= 96 bytes): host (at most
 * 63 bytes; "redress" when empty), pidns (consumer_pidns()), pid, start_ms. */
void consumer_instance(char *out, size_t outlen, const char *host, unsigned long pidns, long pid,
		       int64_t start_ms);

/* This process's pid namespace: the inode of /proc/self/ns/pid, 0 when it
 * cannot be read (then no consumer is ever taken for gone). */
unsigned long consumer_pidns(void);

/* 1 when consumer names a consumer of a process that is gone and was in
 * this one's host and pid namespace (both read from self_instance, this
 * process's name): its pid runs no process (kill(pid, 0): ESRCH), or is
 * self_pid under another start (the process before this one). 0 for
 * anything else: this process, a live one, one of another host or pid
 * namespace (its rd:alive mark tells there: worker.c), a name of another
 * shape (an older version's), a namespace of 0. */
int consumer_gone(const char *consumer, const char *self_instance, long self_pid);

/* Copy the instance part of a consumer name ("<instance>-w<N>") into out.
 * Returns 1, or 0 when consumer has another shape (or out is too small). */
int consumer_instance_of(const char *consumer, char *out, size_t outlen);

#endif
