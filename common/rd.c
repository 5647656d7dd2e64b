#include "common/rd.h"

const char *rd_strerror(enum rd_err err)
{
	switch (err) {
	case RD_OK: return "ok";
	case RD_ENOMEM: return "out of memory";
	case RD_EINVAL: return "invalid value";
	case RD_EPROTO: return "malformed input";
	case RD_EAUTH: return "authentication failed";
	case RD_ENOTFOUND: return "not found";
	case RD_EEXIST: return "already exists";
	case RD_EREDIS: return "redis error";
	case RD_ETIMEOUT: return "timed out";
	case RD_ELIMIT: return "limit exceeded";
	case RD_EIO: return "i/o error";
	case RD_EUNAVAIL: return "temporarily unavailable";
	case RD_ECONFIG: return "bad configuration";
	case RD_EBUSY: return "busy";
	}
	return "unknown error";
}
