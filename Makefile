# The two commands (see README.md):
#   make bench   runs the default suite (release build) and writes results/runs/<UTC>-<host>.csv
#   make test    runs the tests, then runs them again with every CPU kept busy (they must not depend
#                on how much CPU they get)
# Both install missing Debian packages first (scripts/install-deps). Extra bench arguments: make bench ARGS="--duration 1".
#   make benchmark        the package-benchmark suite (Benchmarks/WalkBenchmarks; README "package-benchmark")
#   make benchmark-check  the same, gated: every walk benchmark must count 0 mallocs (Benchmarks/Thresholds)
# `swift build --build-tests` builds every target of the root package, and package-benchmark's would add
# about half a minute and six packages to fetch: the test targets below leave it out of the graph with
# WALKBENCH_NO_BENCHMARKS=1 (see Package.swift), so `make test` builds exactly what it did before.
.PHONY: bench test test-under-load fuzz tsan asan deps verify benchmark benchmark-check

test test-under-load fuzz tsan asan verify: export WALKBENCH_NO_BENCHMARKS = 1

deps:
	@scripts/install-deps

bench: deps
	swift run -c release bench $(ARGS)

test: deps
	swift build --product bench
	swift build --build-tests
	swift test --skip-build
	scripts/with-load swift test --skip-build

test-under-load: deps
	swift build --product bench
	swift build --build-tests
	scripts/with-load swift test --skip-build

benchmark: deps
	swift package benchmark --no-progress $(ARGS)

benchmark-check: deps
	swift package benchmark thresholds check --path Benchmarks/Thresholds --no-progress

# libFuzzer on the workload-file parser and the result-CSV reader, FUZZ_SECONDS each (Fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
fuzz: deps
	swift build --scratch-path .build/fuzz --product fuzz-workload-file $(FUZZ_FLAGS)
	swift build --scratch-path .build/fuzz --product fuzz-results-csv $(FUZZ_FLAGS)
	scripts/fuzz $(FUZZ_SECONDS)

# Sanitizer runs of the tests, each with a planted bug that must be reported (scripts/sanitize).
tsan: deps
	scripts/sanitize thread

asan: deps
	scripts/sanitize address

# Protocol proofs (Models/README.md): spin checks every model exhaustively under both memory models and
# prints each broken variant's counterexample; pure-schedule counterexamples are replayed as forced
# schedules against the debug build; scripts/check-fences reads the release build's reader windows for
# the fences the models assume.
# VERIFY_CONFIG=debug checks the debug build's windows instead (CI: no release build; same fences).
VERIFY_CONFIG ?= release
verify: deps
	swift build --product bench
	scripts/verify --replay .build/debug/bench
	swift build -c $(VERIFY_CONFIG) --product bench
	scripts/check-fences .build/$(VERIFY_CONFIG)/bench
