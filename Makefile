# redress — plain Makefile (Redis-like). See README.md.
#   make              build build/redress
#   make run          deps + build + local redis + demo orders + gateway on :8080
#   make test         deps + build + unit tests + integration tests
#   make SANITIZER=address test   the same under ASan (or undefined)
#   make install PREFIX=/usr/local DESTDIR=
#   make bench        benchmarks against the peers, writes bench/RESULTS.md (bench/README.md)
#   make fuzz         libFuzzer targets, FUZZ_SECONDS each (fuzz/README.md)
#   make fuzz-smoke   every fuzz target for a few seconds (part of CI)

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= gcc
PYTHON  ?= /usr/bin/python3
VERSION := 0.1.0

ifeq ($(SANITIZER),)
BUILD   ?= build
SANFLAGS :=
else
BUILD   ?= build/$(SANITIZER)
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# ICU: headers only; common/money.c opens it on first use (dlopen)
PKGS    := libwebsockets hiredis libcurl jansson inih libpq
WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wshadow
OPT     ?= -O2 -g
DEPCFLAGS = $(shell pkg-config --cflags $(PKGS) icu-i18n icu-uc 2>/dev/null)
DEPLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lmbedcrypto -lpthread
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SANFLAGS) -I. $(DEPCFLAGS) \
           -DREDRESS_VERSION=\"$(VERSION)\" -MMD -MP
LDFLAGS += $(SANFLAGS)

LIB_SRC := $(wildcard common/*.c agent/*.c agent/rails/*.c channels/*.c) \
           $(filter-out gateway/main.c,$(wildcard gateway/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/gateway/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
EVAL_BIN := $(BUILD)/eval

# Debian packages: build, run and test. `make deps` installs only what is missing.
DEB_PKGS := gcc make pkg-config libwebsockets-dev libcurl4-openssl-dev libhiredis-dev \
            libmbedtls-dev redis-server libicu-dev libjansson-dev libinih-dev \
            libcmocka-dev python3 python3-pytest python3-redis python3-requests curl \
            libpq-dev postgresql python3-websockets valgrind

.PHONY: all deps run test unit integration clean install eval bench fuzz fuzz-smoke
all: $(BUILD)/redress $(EVAL_BIN)

$(BUILD)/redress: $(MAIN_OBJ) $(BUILD)/libredress.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/libredress.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libredress.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libredress.a $(DEPLIBS) -lcmocka $(LDFLAGS)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: deps all
	@REDRESS=$(BUILD)/redress ./scripts/run-local.sh

unit: $(UNIT_BIN)

# The understanding corpus (tests/eval): writes tests/eval/RESULTS.md, fails
# below its floor. EVAL_ARGS=--set-floor records a new floor; --errors tune
# lists what the built-in layer gets wrong on the tuning split.
$(EVAL_BIN): tests/eval/eval.c $(BUILD)/libredress.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libredress.a $(DEPLIBS) -lm $(LDFLAGS)

eval: $(EVAL_BIN)
	$(EVAL_BIN) --dir tests/eval $(EVAL_ARGS)

# The understanding corpus first (it fails below its floor), then the suites,
# whose summary is the last line: N passed, N failed.
test: deps all unit
	@$(EVAL_BIN) --dir tests/eval --no-llm --no-write
	@REDRESS_BIN=$(abspath $(BUILD)/redress) $(PYTHON) tests/run.py $(UNIT_BIN)

# Benchmarks: load from wrk and a WebSocket client in other processes, peers
# from npm; figures in bench/RESULTS.md. Not part of `make test`.
bench: deps all
	@REDRESS_BIN=$(abspath $(BUILD)/redress) bench/run.sh $(BENCH_ARGS)

# libFuzzer (clang): every parser of untrusted bytes. FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
fuzz: deps
	@fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: deps
	@fuzz/run.sh 10 $(FUZZ_TARGETS)

clean:
	rm -rf build

install: $(BUILD)/redress
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/redress
	install -m 0755 $(BUILD)/redress $(DESTDIR)$(PREFIX)/bin/redress
	cp -r templates demo config.ini $(DESTDIR)$(PREFIX)/share/redress/

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(EVAL_BIN).d
