/* iplimit.c — per-address request budgets, in-process (iplimit.h). */
#include "gateway/iplimit.h"

#include <stdio.h>
#include <string.h>

#define PROBES 16

struct slot {
	char key[IPLIMIT_ADDR_LEN + 2]; /* scope digit + address; "" free */
	int64_t window_ms;              /* when its window opened */
	int count;
};

/* 4096 × 88 bytes (352 KiB): the whole table, service thread only */
static struct slot slots[IPLIMIT_SLOTS];

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

int iplimit_hit(enum iplimit_scope scope, const char *addr, int per_minute, int64_t now_ms)
{
	char key[sizeof slots[0].key];
	if (per_minute <= 0)
		return 0;
	snprintf(key, sizeof key, "%d%.*s", (int)scope, IPLIMIT_ADDR_LEN, addr ? addr : "");
	unsigned h = hash(key);
	struct slot *s = NULL, *victim = NULL;
	for (unsigned i = 0; i < PROBES && !s; i++) {
		struct slot *k = &slots[(h + i) % IPLIMIT_SLOTS];
		if (strcmp(k->key, key) == 0)
			s = k;
		else if (!victim || (victim->key[0] && (!k->key[0] || k->window_ms < victim->window_ms)))
			victim = k; /* a free slot, or the oldest window */
	}
	if (s && now_ms - s->window_ms >= IPLIMIT_WINDOW_MS) {
		s->window_ms = now_ms; /* its window is over: a new one */
		s->count = 0;
	}
	if (!s) {
		s = victim;
		memcpy(s->key, key, sizeof key);
		s->window_ms = now_ms;
		s->count = 0;
	}
	if (s->count < per_minute) {
		s->count++;
		return 0;
	}
	int64_t left = s->window_ms + IPLIMIT_WINDOW_MS - now_ms;
	return left <= 1000 ? 1 : (int)((left + 999) / 1000);
}

void iplimit_reset(void)
{
	memset(slots, 0, sizeof slots);
}
