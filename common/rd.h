/* rd.h — the one error enum of redress, and small shared attributes. */
#ifndef RD_H
#define RD_H

#include <stddef.h>
#include <stdint.h>

#define RD_WUR __attribute__((warn_unused_result))
#define RD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define RD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* A macro's value as a string literal: RD_XSTR(BLOCK_MS) → "500" (plain
 * literals only: "(7 * 86400)" is not a number to Redis). */
#define RD_STR(x) #x
#define RD_XSTR(x) RD_STR(x)

enum rd_err {
	RD_OK = 0,
	RD_ENOMEM,    /* allocation failed */
	RD_EINVAL,    /* bad argument or bad input value */
	RD_EPROTO,    /* malformed wire data (JSON, headers) */
	RD_EAUTH,     /* bad signature, bad key */
	RD_ENOTFOUND, /* no such thing (or not yours: same answer) */
	RD_EEXIST,    /* already there (dedupe hit) */
	RD_EREDIS,    /* Redis unreachable or answered an error */
	RD_ETIMEOUT,  /* a deadline passed */
	RD_ELIMIT,    /* a cap or a size limit was hit */
	RD_EIO,       /* file or socket I/O */
	RD_EUNAVAIL,  /* a dependency (rail, store) is unavailable: retry later */
	RD_ECONFIG,   /* bad configuration */
	RD_EBUSY,     /* every slot for it is taken: retry later; not a failed attempt */
};

/* Static, never NULL. */
const char *rd_strerror(enum rd_err err);

#endif
