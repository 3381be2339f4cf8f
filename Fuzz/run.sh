#!/bin/sh
# Builds the libFuzzer target (Fuzz/Sources/HostFuzz) with -sanitize=fuzzer,address into
# .build/fuzz and runs it over Fuzz/seeds for SECONDS (default 60), growing the corpus in
# .build/fuzz/corpus. Crash reproducers land in .build/fuzz/artifacts.
#   Fuzz/run.sh [seconds] [extra libFuzzer flags...]
# A long run: J2O_FUZZ_RELEASE=1 nice -n 10 Fuzz/run.sh 6600 -fork=2 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
#   (fork mode goes on past a crash and counts every one; -jobs=2 stops each worker at its first)
#   (J2O_FUZZ_RELEASE=1 builds with -O, still with ASan and Swift's overflow and bounds checks,
#   about three times the executions per second of the debug build; its scratch is .build/fuzz-release)
# Reproduce one input: .build/fuzz/debug/HostFuzz .build/fuzz/artifacts/crash-...
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
scratch=.build/fuzz
config=debug
if [ -n "${J2O_FUZZ_RELEASE:-}" ]; then scratch=.build/fuzz-release; config=release; fi
export J2O_FUZZ=1
# libFuzzer reports crashes itself; the Swift runtime's backtracer would race it under ASan.
export SWIFT_BACKTRACE=enable=no
# The Swift runtime's one-time global tables read as leaks at exit; libFuzzer's -detect_leaks=0
# covers the run, this covers LeakSanitizer's own check when the process ends.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
flags="-Xswiftc -sanitize=fuzzer,address -Xswiftc -g"
swift build -c "$config" --scratch-path "$scratch" $flags --product HostFuzz
# The built-in packs, instrumented too, next to the target (where the host looks for them).
for dir in Plugins/*/; do
    p=$(basename "$dir")
    swift build -c "$config" --scratch-path "$scratch" $flags --product "J2OPack$p"
done
mkdir -p "$scratch/corpus" "$scratch/artifacts"
# -timeout: 2 s per input is the bound the host must keep. -detect_leaks=0: LeakSanitizer
# counts the Swift runtime's and the passes' lazily built global tables (made once, on the
# first input that reaches them) as leaks; a real per-input leak shows as growing rss instead.
exec "$scratch/$config/HostFuzz" "$scratch/corpus" Fuzz/seeds \
    -max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 -detect_leaks=0 -max_len=65536 \
    -artifact_prefix="$scratch/artifacts/" -print_final_stats=1 "$@"
