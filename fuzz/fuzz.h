/* fuzz.h — what every libFuzzer target in fuzz/ shares (fuzz/common.c):
 * invariant checks that fail loudly, and the checks of a parsed message.
 * Each target defines LLVMFuzzerTestOneInput over one parser of untrusted
 * bytes; run them with fuzz/run.sh (fuzz/README.md). */
#ifndef RD_FUZZ_H
#define RD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "common/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Report "invariant failed: what (file:line)" and abort: libFuzzer keeps the
 * input as a crash artifact. */
void fuzz_fail(const char *what, const char *file, int line) __attribute__((noreturn));
#define FUZZ_CHECK(cond)                                              \
	do {                                                          \
		if (!(cond))                                          \
			fuzz_fail(#cond, __FILE__, __LINE__);         \
	} while (0)

/* data as a NUL-terminated string (malloc'd; caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* 1 when s (NUL-terminated) is valid UTF-8 (jansson's check). */
int fuzz_utf8_ok(const char *s);

/* 1 when the fixed field f[n] holds a NUL. */
#define FUZZ_TERMINATED(f) (memchr((f), '\0', sizeof(f)) != NULL)

/* The invariants of any normalized inbound message m of channel chan:
 * every fixed field NUL-terminated within its size and valid UTF-8, the
 * ids non-empty, kind in range, text and route (when set) valid UTF-8, the
 * route a JSON object, and message_to_json → message_from_json giving back
 * every field (what the inbound stream will carry). */
void fuzz_check_message(const struct message *m, const char *chan);

#endif
