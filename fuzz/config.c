/* config.c — fuzz the config.ini loader (config_load_stream,
 * gateway/config.c: inih through the key table, then cross-checks) over any
 * file contents. Besides "no crash": a failure always says why, prefixed
 * with where; a loaded config dumps (config_dump) and, when that dump loads
 * again, it dumps the same (what `redress config` prints is stable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "gateway/config.h"

#define NAME "fuzz.ini"

static struct config cfg, again;

/* config_dump of c, malloc'd (caller frees). */
static char *dump(const struct config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	FUZZ_CHECK(f != NULL);
	config_dump(c, f);
	FUZZ_CHECK(fclose(f) == 0);
	return buf;
}

static enum rd_err load(const char *bytes, size_t len, struct config *c, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)bytes, len, "r");
	if (!f) /* fmemopen refuses an empty buffer: an empty file */
		f = fopen("/dev/null", "r");
	FUZZ_CHECK(f != NULL);
	enum rd_err rc = config_load_stream(f, NAME, c, err, errlen);
	fclose(f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	if (load((const char *)data, size, &cfg, err, sizeof err) != RD_OK) {
		FUZZ_CHECK(err[0] && FUZZ_TERMINATED(err));
		FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0 || strncmp(err, "env ", 4) == 0);
		return 0;
	}
	FUZZ_CHECK(strcmp(cfg.path, NAME) == 0);
	size_t len1, len2;
	char *d1 = dump(&cfg, &len1);
	if (load(d1, len1, &again, err, sizeof err) == RD_OK) {
		char *d2 = dump(&again, &len2);
		FUZZ_CHECK(len1 == len2 && memcmp(d1, d2, len1) == 0);
		free(d2);
	}
	free(d1);
	return 0;
}
