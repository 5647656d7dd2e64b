#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	mbedtls_sha256_ret(data, len, d, 0);
	to_hex(d, sizeof d, out);
}

void hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
		     char out[65])
{
	unsigned char d[32];
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, keylen,
			data, len, d);
	to_hex(d, sizeof d, out);
}

int ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char diff = 0;
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

enum rd_err random_hex(size_t nbytes, char *out)
{
	unsigned char buf[64];
	if (nbytes > sizeof buf)
		return RD_EINVAL;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t r = getrandom(buf + got, nbytes - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return RD_EIO;
		}
		got += (size_t)r;
	}
	to_hex(buf, nbytes, out);
	return RD_OK;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

enum rd_err rfc3339_parse(const char *s, int64_t *out)
{
	int Y, M, D, h, m, sec;
	if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
	    s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return RD_EINVAL;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return RD_EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return RD_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return RD_EINVAL;
		off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return RD_EINVAL;
	}
	if (*p)
		return RD_EINVAL;
	struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
			 .tm_hour = h, .tm_min = m, .tm_sec = sec };
	*out = (int64_t)timegm(&tm) - off;
	return RD_OK;
}

void rfc3339_format(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void utc_day(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y%m%d", &tm);
}
