# fuzz.mk - libFuzzer harnesses (tests/fuzz/fuzz_<name>.c), included by the
# Makefile. Everything is built with clang into build-fuzz/ (never build/
# or ./logship) with ASan, UBSan and libFuzzer.
#   make fuzz [FUZZ_TIME=60] [FUZZ_TARGETS="line json_string"]
#       each harness for FUZZ_TIME seconds on a temp copy of its corpus;
#       crashers are left in build-fuzz/findings/<name>/.
#   make fuzz-check   replays the committed corpora and regression inputs,
#       then a short fixed-seed run (-seed=1 -runs=N): deterministic, for CI.

FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# No system or user pattern directory may leak into the harnesses.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	-DLS_VERSION='"$(VERSION)"' -DLS_DATADIR='"/nonexistent/logship-fuzz"'
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
# The library as the binary links it; fuzz_config adds the config-file
# parser of cmd/ and what it calls.
# (with no build-time prefilter table: the harnesses derive every one)
FUZZ_LIB_OBJ := $(PARSERS_SRC:%.c=$(FUZZ_BUILD)/%.o) $(SHIPPER_SRC:%.c=$(FUZZ_BUILD)/%.o) \
	$(FUZZ_BUILD)/patterns_data.o $(FUZZ_BUILD)/tools/litcache_none.o
FUZZ_CMD_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,cmd/config.c cmd/opts.c $(wildcard cmd/progress.c))

.PHONY: fuzz fuzz-build fuzz-check
# objects made by the chained pattern rules below are kept
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_CMD_OBJ) $(FUZZ_NAMES:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/%.o: %.c $(wildcard parsers/*.h shipper/*.h cmd/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PC_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/embed: tools/embed.c
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) -O1 -o $@ $<

$(FUZZ_BUILD)/patterns_data.c: $(FUZZ_BUILD)/embed $(PATTERN_FILES)
	$(FUZZ_BUILD)/embed $(PATTERN_FILES) > $@.tmp && mv $@.tmp $@

$(FUZZ_BUILD)/patterns_data.o: $(FUZZ_BUILD)/patterns_data.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h \
		$(wildcard parsers/*.h shipper/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PC_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PC_LIBS) -lm

$(FUZZ_BUILD)/fuzz_config: $(FUZZ_CMD_OBJ)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) bash tests/fuzz/run.sh explore $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) bash tests/fuzz/run.sh check
