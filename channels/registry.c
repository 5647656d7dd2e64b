#include "channels/channel.h"

#include <stdio.h>
#include <string.h>

const struct channel_ops *const channel_registry[] = {
	&testchan_ops,
	&whatsapp_ops,
	&slack_ops,
	&webchat_ops,
	NULL,
};

static void *instances[8];

enum rd_err channels_init(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; channel_registry[i]; i++) {
		const struct channel_ops *ops = channel_registry[i];
		if (!ops->enabled(cfg))
			continue;
		enum rd_err e = ops->init(cfg, &instances[i]);
		if (e) {
			snprintf(err, errlen, "channel %s: %s", ops->name, rd_strerror(e));
			return e;
		}
	}
	return RD_OK;
}

const struct channel_ops *channel_find(const char *name, void **ctx)
{
	for (size_t i = 0; channel_registry[i]; i++)
		if (instances[i] && strcmp(channel_registry[i]->name, name) == 0) {
			*ctx = instances[i];
			return channel_registry[i];
		}
	return NULL;
}

size_t channels_routes(struct http_route *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; channel_registry[i]; i++)
		if (instances[i])
			n += channel_registry[i]->routes(instances[i], out + n, max - n);
	return n;
}

void channels_destroy(void)
{
	for (size_t i = 0; channel_registry[i]; i++)
		if (instances[i]) {
			channel_registry[i]->destroy(instances[i]);
			instances[i] = NULL;
		}
}
