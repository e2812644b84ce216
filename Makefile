# logship - build, test, bench, demo, install.
# `make demo` and `make test` install missing Debian packages first (make deps).

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

# Linked: used by every command. Loaded with dlopen() when first needed
# (ship's HTTP, the journal): only their headers are needed to build, and
# parse and tail never map them (see shipper/http.c, shipper/journal.c).
LIBS_LINKED := libpcre2-8 zlib libzstd libxxhash
LIBS_LOADED := libcurl libsystemd
LIBS_PC := $(LIBS_LINKED) $(LIBS_LOADED)
# Debian packages: build, then test-only.
DEB_BUILD := gcc make pkg-config libpcre2-dev libcurl4-openssl-dev zlib1g-dev \
	libzstd-dev libxxhash-dev libsystemd-dev libcunit1-dev
DEB_TEST := util-linux bsdextrautils gzip zstd procps time valgrind systemd-journal-remote \
	zsh fish bash-completion clickhouse-server clickhouse-client clang libclang-rt-14-dev

WARN := -Wall -Wextra -Wshadow -Wformat=2
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -DLS_VERSION='"$(VERSION)"' \
	-DLS_DATADIR='"$(PREFIX)/share/logship"'
ifeq ($(DEVELOPER),1)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

PC_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS = $(shell $(PKG_CONFIG) --libs $(LIBS_LINKED) 2>/dev/null) -ldl
CUNIT_LIBS = $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null || echo -lcunit)

BUILD := build$(if $(SANITIZE),-san)
PARSERS_SRC := $(wildcard parsers/*.c)
SHIPPER_SRC := $(wildcard shipper/*.c)
CMD_SRC := $(wildcard cmd/*.c)
PATTERN_FILES := $(sort $(wildcard patterns/*.pattern)) $(wildcard patterns/attack-techniques.txt)

LIB_CORE := $(PARSERS_SRC:%.c=$(BUILD)/%.o) $(SHIPPER_SRC:%.c=$(BUILD)/%.o) \
	$(BUILD)/patterns_data.o
LIB_OBJ := $(LIB_CORE) $(BUILD)/litcache.o
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c) tests/unit_main.c
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: FORCE all test unit cli patterns-test bench demo install clean deps check-libs soak \
	completions

all: check-libs logship

check-libs:
	@for m in $(LIBS_PC) cunit; do \
	  $(PKG_CONFIG) --exists $$m 2>/dev/null || { \
	    echo "logship: missing library $$m: run 'make deps' (or apt-get install $(DEB_BUILD))" >&2; exit 1; }; \
	done

# Relink when the flags change: a sanitizer build and a plain one share
# ./logship, so the stamp is one file for both.
LINK_STAMP := build/.link-flags
logship: $(CMD_OBJ) $(LIB_OBJ) $(LINK_STAMP)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIB_OBJ) $(PC_LIBS) -lm

$(LINK_STAMP): FORCE
	@mkdir -p build
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@

$(BUILD)/%.o: %.c $(wildcard parsers/*.h shipper/*.h cmd/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PC_CFLAGS) -c -o $@ $<

$(BUILD)/embed: tools/embed.c
	@mkdir -p $(BUILD)
	$(CC) -O1 -o $@ $<

$(BUILD)/patterns_data.c: $(BUILD)/embed $(PATTERN_FILES)
	$(BUILD)/embed $(PATTERN_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/patterns_data.o: $(BUILD)/patterns_data.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The built-in rules' prefilters, derived once here rather than at every
# start (see tools/litcache.c); a broken built-in entry stops the build.
$(BUILD)/litcache: $(BUILD)/tools/litcache.o $(BUILD)/tools/litcache_none.o $(LIB_CORE)
	$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS) -lm

$(BUILD)/litcache.c: $(BUILD)/litcache
	$(BUILD)/litcache > $@.tmp && mv $@.tmp $@

$(BUILD)/litcache.o: $(BUILD)/litcache.c
	$(CC) $(ALL_CFLAGS) $(PC_CFLAGS) -I. -c -o $@ $<

$(BUILD)/tools/%.o: tools/%.c $(wildcard parsers/*.h shipper/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PC_CFLAGS) -I. -c -o $@ $<

$(BUILD)/unit-tests: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS) $(CUNIT_LIBS) -lm

# Every test: unit suites, pattern examples, command-line scripts,
# integration; then the unit suites and the command-line scripts again under
# ASan and UBSan, built in build-san/ (its own objects and binary, so the
# plain ./logship is untouched). SAN_TESTS=0 leaves that pass out.
SAN_TESTS ?= 1
SAN_FLAGS := address,undefined
test: deps all $(BUILD)/unit-tests
ifeq ($(SAN_TESTS)$(SANITIZE),1)
	@$(MAKE) --no-print-directory SANITIZE=$(SAN_FLAGS) build-san/logship build-san/unit-tests
	@UNIT_TESTS=$(BUILD)/unit-tests SAN_LOGSHIP=build-san/logship \
	  SAN_UNIT_TESTS=build-san/unit-tests bash tests/run-all.sh
else
	@UNIT_TESTS=$(BUILD)/unit-tests LOGSHIP_SANITIZE='$(SANITIZE)' bash tests/run-all.sh
endif

# The sanitized binary of the test pass (not ./logship).
build-san/logship: $(CMD_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIB_OBJ) $(PC_LIBS) -lm

unit: all $(BUILD)/unit-tests
	LOGSHIP_SRCDIR=. $(BUILD)/unit-tests

# Longer runs of the torture and crash tests than make test's, by hand.
soak: deps all
	DURATION=$${SOAK_DURATION:-60} bash tests/integration/rotation-torture.sh
	KILLS=$${SOAK_KILLS:-100} bash tests/integration/clickhouse-crash.sh

bench: deps all
	@bash bench/run.sh

demo: deps all
	@bash samples/demo.sh

deps:
	@missing=""; \
	for p in $(DEB_BUILD) $(DEB_TEST); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The shell completions are generated from the option tables in cmd/ and
# committed; tests/cli/t019-completions.sh fails when they are stale.
completions: all
	@mkdir -p completions
	./logship completion bash > completions/logship.bash.tmp && mv completions/logship.bash.tmp completions/logship.bash
	./logship completion zsh > completions/_logship.tmp && mv completions/_logship.tmp completions/_logship
	./logship completion fish > completions/logship.fish.tmp && mv completions/logship.fish.tmp completions/logship.fish

# The built-in patterns are compiled in; share/logship/patterns is left for
# packagers' and admins' additions.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/logship/patterns \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 logship $(DESTDIR)$(PREFIX)/bin/logship
	[ ! -f docs/logship.1 ] || install -m 644 docs/logship.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	[ ! -f completions/logship.bash ] || { install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions && \
	  install -m 644 completions/logship.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/logship; }
	[ ! -f completions/_logship ] || { install -d $(DESTDIR)$(PREFIX)/share/zsh/site-functions && \
	  install -m 644 completions/_logship $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_logship; }
	[ ! -f completions/logship.fish ] || { install -d $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d && \
	  install -m 644 completions/logship.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/logship.fish; }

clean:
	rm -rf build build-san build-fuzz logship

FORCE:

# libFuzzer harnesses: make fuzz, make fuzz-check (see tests/fuzz/fuzz.mk).
include tests/fuzz/fuzz.mk
