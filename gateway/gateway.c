#include "gateway/gateway.h"

/* The process-wide gateway state (gateway.h); filled by main before any thread. */
struct gateway gw;
