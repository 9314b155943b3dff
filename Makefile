# The two commands (see README.md):
#   make bench   runs the default suite (release build) and writes results/runs/<UTC>-<host>.csv
#   make test    runs the tests
# Both install missing Debian packages first (scripts/install-deps). Extra bench arguments: make bench ARGS="--duration 1".
.PHONY: bench test deps

deps:
	@scripts/install-deps

bench: deps
	swift run -c release bench $(ARGS)

test: deps
	swift build --product bench
	swift test
