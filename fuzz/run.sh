#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...] — build the libFuzzer targets (clang,
# ASan + UBSan + LeakSanitizer, coverage over the whole library) and run each
# for SECONDS (default: every fuzz/*.c target but common.c). make fuzz and
# make fuzz-smoke call it; fuzz/README.md says how to read what it prints.
#
#   FUZZ_JOBS=N    run N targets at a time (default: the number of CPUs;
#                  each target is one process of one thread)
#   FUZZ_BUILD=dir build and work directory (default build/fuzz)
#
# Before fuzzing, every input kept in fuzz/regressions/<target>/ is replayed.
# New corpus entries go to $FUZZ_BUILD/corpus/<target> (not committed); the
# seeds in fuzz/corpus/<target>/ are only read. Exits non-zero when a target
# crashes, leaks, times out or breaks an invariant, after printing the
# reproducer's path ($FUZZ_BUILD/crashes/<target>-crash-…).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
B=${FUZZ_BUILD:-build/fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in fuzz/*.c; do
		t=$(basename "$f" .c)
		[ "$t" = common ] || targets+=("$t")
	done
fi
for t in "${targets[@]}"; do
	[ -f "fuzz/$t.c" ] || { echo "fuzz: no target $t (fuzz/$t.c)" >&2; exit 2; }
done

# clang and its libFuzzer runtime, installed when missing (as make deps does)
missing=""
for p in clang libclang-rt-14-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "fuzz: installing:$missing"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# The library with coverage and sanitizers, incrementally (the Makefile's rules)
SAN=fuzzer-no-link,address,undefined
make -s CC=clang BUILD="$B" SANITIZER="$SAN" "$B/libredress.a"

# The targets: same flags as the library, linked with libFuzzer's main
PKGS=$(sed -n 's/^PKGS *:= *//p' Makefile)
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes
	-Wformat=2 -Wshadow -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all -I.
	$(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lmbedcrypto -lpthread"
mkdir -p "$B/bin" "$B/corpus" "$B/crashes" "$B/logs"
for t in "${targets[@]}"; do
	bin="$B/bin/$t"
	if [ ! -x "$bin" ] || [ "fuzz/$t.c" -nt "$bin" ] || [ fuzz/common.c -nt "$bin" ] ||
	   [ fuzz/fuzz.h -nt "$bin" ] || [ "$B/libredress.a" -nt "$bin" ]; then
		echo "fuzz: building $t"
		# shellcheck disable=SC2086
		clang $CFLAGS -fsanitize=fuzzer,address,undefined -o "$bin" "fuzz/$t.c" fuzz/common.c \
			"$B/libredress.a" $LIBS
	fi
done

# One target: replay its regressions, then fuzz. Writes $B/logs/<t>.log and
# a one-line result in $B/logs/<t>.result.
run_one() {
	local t=$1 bin="$B/bin/$1" log="$B/logs/$1.log" rc=0
	mkdir -p "$B/corpus/$t" "fuzz/corpus/$t"
	: >"$log"
	if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
		"$bin" -runs=0 fuzz/regressions/"$t"/* >>"$log" 2>&1 || rc=$?
		if [ $rc -ne 0 ]; then
			echo "$t: FAIL replaying fuzz/regressions/$t (exit $rc)" >"$B/logs/$t.result"
			return 0
		fi
	fi
	local dict=()
	[ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -close_fd_mask=2 -artifact_prefix="$B/crashes/$t-" "${dict[@]}" \
		"$B/corpus/$t" "fuzz/corpus/$t" >>"$log" 2>&1 || rc=$?
	local done_line seeds
	done_line=$(grep -a '^Done [0-9]* runs in' "$log" | tail -n 1 || true)
	seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
	if [ $rc -ne 0 ]; then
		echo "$t: FAIL (exit $rc) $(grep -a 'Test unit written to' "$log" | tail -n 1)" >"$B/logs/$t.result"
	else
		echo "$t: ok, ${done_line:-no final stats}, seeds $seeds, corpus $(find "$B/corpus/$t" -type f | wc -l)" \
			>"$B/logs/$t.result"
	fi
}

echo "fuzz: ${#targets[@]} target(s), ${secs}s each, $JOBS at a time; logs in $B/logs"
running=0
for t in "${targets[@]}"; do
	rm -f "$B/logs/$t.result"
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

fail=0
for t in "${targets[@]}"; do
	r=$(cat "$B/logs/$t.result" 2>/dev/null || echo "$t: FAIL (no result)")
	echo "fuzz: $r"
	case $r in
	*FAIL*)
		fail=1
		echo "---- $B/logs/$t.log (end) ----"
		tail -n 40 "$B/logs/$t.log"
		echo "----"
		;;
	esac
done
if [ $fail -ne 0 ]; then
	echo "fuzz: FAILED — reproduce with: $B/bin/<target> <crash file> (fuzz/README.md)"
	exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) passed"
