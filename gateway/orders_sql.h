/* orders_sql.h — configured SQL with named parameters (":order_id") turned
 * into PostgreSQL's positional ones ("$1") once, at start-up, so every
 * statement is prepared and no value ever becomes SQL text.
 *
 * The scan follows PostgreSQL's lexer closely enough for statements people
 * write: '…' strings ('' inside), E'…' strings (\' inside), "…" quoted
 * identifiers, $tag$…$tag$ dollar quotes, -- and nested block comments are
 * copied untouched; "::" (a cast), ":=" and ':' before a digit (an array
 * slice like a[1:2]) are not parameters. */
#ifndef RD_ORDERS_SQL_H
#define RD_ORDERS_SQL_H

#include <stddef.h>
#include "common/rd.h"

#define ORDERS_SQL_MAX_PARAMS 8

struct orders_sql {
	char *text;                          /* owned: the SQL with $1..$n */
	size_t n_params;                     /* distinct names used */
	size_t param[ORDERS_SQL_MAX_PARAMS]; /* $k+1 carries the value of names[param[k]] */
};

/* Translate sql. Every ":name" in code (not in a string, identifier or
 * comment) must be one of names[0..n_names) and becomes "$k", the same k for
 * the same name, numbered by first appearance. On error returns RD_EINVAL
 * with the reason in err ("unknown parameter :ordr_id (allowed: :order_id)",
 * "write :order_id, not $1", "unterminated string literal", …) or RD_ENOMEM;
 * out is zeroed first and holds nothing to free on error. names are borrowed. */
enum rd_err orders_sql_translate(const char *sql, const char *const *names, size_t n_names,
				 struct orders_sql *out, char *err, size_t errlen) RD_WUR;

/* 1 when the translated statement uses names[name_index]. */
int orders_sql_uses(const struct orders_sql *s, size_t name_index);

/* Fill vals[0..n_params) for PQexecPrepared from values indexed like the
 * names given to orders_sql_translate (borrowed pointers). */
void orders_sql_bind(const struct orders_sql *s, const char *const *values, const char **vals);

void orders_sql_free(struct orders_sql *s);

#endif
