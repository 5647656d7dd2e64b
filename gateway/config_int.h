/* config_int.h — the config table shared by config.c (loading, env,
 * dump) and config_table.c (every key, its type, default and doc). */
#ifndef RD_CONFIG_INT_H
#define RD_CONFIG_INT_H

#include <stddef.h>
#include "gateway/config.h"

#define CONFIG_MAX_ENTRIES 128
#define MiB (1024LL * 1024)

enum ctype {
	T_STRING,   /* char[size]; too long is an error */
	T_BOOL,     /* int 0/1: true/false, yes/no, on/off, 1/0 */
	T_INT,      /* int in [min, max] */
	T_MS,       /* int, milliseconds, in [min, max] */
	T_SIZE,     /* size_t bytes in [min, max]: "3145728", "4KiB", "3MiB" */
	T_LOGLEVEL, /* enum log_level */
	T_MONEY,    /* struct money_list: "USD 75.00, EUR 70.00" */
	T_STRLIST,  /* char[max_items][size] + size_t count: "en, pt-BR, es" */
	T_RATIO,    /* double in [0, 1] */
	T_LISTEN,   /* char[size]: "127.0.0.1:8080", "[::1]:8080" */
};

/* Extra rule for a string or for each item of a list: NULL when fine, else
 * the reason (static text). */
typedef const char *(*check_fn)(const char *v);

struct centry {
	const char *section;
	const char *key;
	enum ctype type;
	size_t off;        /* offsetof(struct config, field) */
	size_t size;       /* T_STRING/T_LISTEN: sizeof field; T_STRLIST: sizeof one item */
	size_t count_off;  /* T_STRLIST: offsetof the size_t item count */
	size_t max_items;  /* T_STRLIST: capacity of the array */
	long long min;     /* T_INT/T_MS/T_SIZE: range; T_STRLIST: fewest items */
	long long max;
	check_fn check;    /* T_STRING/T_STRLIST: optional */
	const char *def;   /* default, as it would be written in config.ini */
	const char *doc;   /* one line, for people */
};

extern const struct centry config_entries[];
extern const size_t config_n_entries;

/* 1 for keys whose values are never printed (key, secret, token). */
int config_is_secret(const struct centry *e);

#endif
