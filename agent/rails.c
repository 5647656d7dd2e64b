/* rails.c — the table of built-in refund rails (rails.h). */
#include "agent/rails.h"

#include <string.h>

/* Built-in rails, chosen by the order's payment.provider. No dlopen. */
static const struct rail_ops *const rails[] = {
	&rail_sandbox,
};

const struct rail_ops *rail_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < RD_ARRAY_LEN(rails); i++)
		if (strcmp(rails[i]->name, name) == 0)
			return rails[i];
	return NULL;
}

const char *refund_status_name(enum refund_status s)
{
	switch (s) {
	case REFUND_PENDING: return "pending";
	case REFUND_SUCCEEDED: return "succeeded";
	case REFUND_FAILED: return "failed";
	}
	return "unknown";
}
