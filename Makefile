# ggperf — one non-recursive Makefile.
#
# Layout (see README.md): engine/ is a static library that needs only libc,
# libm and pthreads; harness/, workloads/ and reports/ link into the one
# `ggperf` binary; tests/ is one Check runner with suites per module.
#
# Knobs:
#   DEBUG=1            -O0 build
#   SAN=address,undefined   sanitizer build (objects go to build-san-*/)
#   WERROR=1           warnings are errors (CI sets it)
#   SLOW_KERNEL=1      deliberately slower build (redundant work in one kernel)
#   SLOW_KERNEL_PCT=P  every matmul P% slower on any kernel path (the timing gate's power test)
#                      used to prove the deterministic regression gate works

CC      ?= gcc
CXX     ?= g++
SAN     ?=
DEBUG   ?= 0
WERROR  ?= 0

ifeq ($(SAN),)
BUILD   ?= build
else
BUILD   ?= build-san-$(subst $(comma),-,$(SAN))
endif
comma := ,

# Baseline ISA for the whole binary: SIMD kernels use per-function target
# attributes and are picked at run time, so the same binary runs under
# valgrind 3.19 (no AVX-512 decoding) and on older CPUs.
ARCHFLAGS := -march=x86-64 -mtune=generic
OPT       := $(if $(filter 1,$(DEBUG)),-O0,-O2)
WARN      := -Wall -Wextra -Wshadow -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror,)
SANFLAGS  := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all,)
DEFS      := -D_GNU_SOURCE $(if $(filter 1,$(SLOW_KERNEL)),-DGGPERF_SLOW_KERNEL=1,) \
             $(if $(SLOW_KERNEL_PCT),-DGGPERF_SLOW_KERNEL_PCT=$(SLOW_KERNEL_PCT),)
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

CFLAGS_COMMON = -std=c17 -g $(OPT) $(ARCHFLAGS) $(WARN) $(SANFLAGS) $(DEFS) -pthread -MMD -MP -I.
CFLAGS  ?=
CFLAGS  += $(CFLAGS_COMMON)
CXXFLAGS = -std=c++17 -g $(OPT) $(ARCHFLAGS) -Wall -Wextra $(SANFLAGS) $(DEFS) -pthread -MMD -MP -I.
LDFLAGS += $(SANFLAGS) -pthread

# Library flags come from pkg-config, but only after scripts/install-deps.sh
# has run: on a bare machine the packages are not there when this file is
# parsed. $(BUILD)/config.mk is generated after the deps stamp and included;
# make rebuilds it, then restarts with the real flags (GNU make's "remaking
# makefiles"). Goals that build nothing do not install anything.
PKGS     := sqlite3 jansson openblas libmicrohttpd
# Linked; OpenBLAS only gives its header: workloads/matmul.c dlopens it (its
# static TLS would cost every thread 60 KiB, every HTTP connection included).
PKGS_LINK := sqlite3 jansson libmicrohttpd
# libpfm4 ships no .pc file.
PFM_LIBS := -lpfm
NODEPS_GOALS := clean help layering uninstall
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NODEPS_GOALS),$(MAKECMDGOALS)),all),)
include $(BUILD)/config.mk
endif

ENGINE_SRC   := $(sort $(wildcard engine/*.c))
# harness/ is split by role into subfolders; cli/ is the front end on top.
HARNESS_SRC  := $(sort $(wildcard harness/*/*.c))
RESULTS_SRC  := $(sort $(wildcard results/*.c))
MODELGEN_SRC := $(sort $(wildcard modelgen/*.c))
SERVE_SRC    := $(sort $(wildcard serve/*.c))
CLI_SRC      := $(sort $(filter-out cli/main.c,$(wildcard cli/*.c)))
WORKLOAD_SRC := $(sort $(wildcard workloads/*.c))
REPORT_SRC   := $(sort $(wildcard reports/*.c))
TEST_SRC     := $(sort $(wildcard tests/test_*.c))

ENGINE_OBJ   := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
APP_OBJ      := $(patsubst %.c,$(BUILD)/%.o,$(RESULTS_SRC) $(MODELGEN_SRC) $(HARNESS_SRC) \
                  $(WORKLOAD_SRC) $(REPORT_SRC) $(SERVE_SRC) $(CLI_SRC))
# Test fixture builders (tests/*_fixture.c) are shared by suites and link into the runner.
FIXTURE_SRC  := $(sort $(wildcard tests/*_fixture.c))
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/check_main.o $(BUILD)/tests/testutil.o $(FIXTURE_SRC:%.c=$(BUILD)/%.o)

# Kernel microbenchmarks: C cases in bench/ over the C++ shim harness/gbench/gbench.cc
# (harness/gbench/ is C++ and not globbed into ggperf: only this binary links Google Benchmark).
BENCH_SRC   := $(sort $(wildcard bench/*.c))
BENCH_OBJ   := $(BENCH_SRC:%.c=$(BUILD)/%.o) $(BUILD)/harness/gbench/gbench.o \
               $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard harness/counters/*.c) harness/machine/sysfs.c harness/machine/cpuinfo.c results/fmt.c))
# Debian's compare.py wants Debian's python3 (scipy from python3-scipy), not
# whatever python3 comes first in PATH.
COMPARE_PY  := /usr/bin/python3 /usr/share/benchmark/compare.py
MB_MIN_TIME ?= 0.05
MB_ARGS     ?=

ENGINE_LIB := $(BUILD)/libengine.a
GGPERF     := $(BUILD)/ggperf
TESTBIN    := $(BUILD)/ggperf-tests
MICROBENCH := $(BUILD)/ggperf-microbench
STAMP_DEPS := $(BUILD)/.deps-ok

.PHONY: all deps layering test asan tsan fuzz microbench microbench-compare clean demo help gate gate-selftest
.DEFAULT_GOAL := all

# Build the ggperf binary (installs missing Debian packages first).
all: $(GGPERF)

# Print the targets and what each is for.
help:
	@grep -B1 -E '^[a-z][a-z-]*:' Makefile | grep -E '^#' | sed 's/^# //'

# Install the Debian packages the project needs when something is missing.
deps: $(STAMP_DEPS)
$(STAMP_DEPS): scripts/install-deps.sh
	@./scripts/install-deps.sh --check-only >/dev/null 2>&1 || ./scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@

# pkg-config's answers, computed once the packages are installed. A missing
# .pc file is an error here, not an empty flag and 1500 undefined references.
$(BUILD)/config.mk: $(STAMP_DEPS) Makefile
	@mkdir -p $(@D)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS_LINK))"; \
	   echo "CHECK_CFLAGS := $$(pkg-config --cflags check)"; \
	   echo "CHECK_LIBS := $$(pkg-config --libs check)"; \
	   echo "GBENCH_LIBS := $$(pkg-config --libs benchmark 2>/dev/null || echo -lbenchmark) -lpthread"; \
	 } > $@.tmp || { rm -f $@.tmp; echo "config.mk: pkg-config failed for $(PKGS) check" >&2; exit 1; }
	@grep -q 'PKG_LIBS := .*-ljansson' $@.tmp || { echo "config.mk: pkg-config gave no flags for $(PKGS)" >&2; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

# The engine is built with libc/libm/pthreads flags only: no library
# include path can leak into it.
$(BUILD)/engine/%.o: engine/%.c | $(STAMP_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c | $(STAMP_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc | $(STAMP_DEPS)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# The build info object is rebuilt every time so the commit is never stale.
$(BUILD)/buildinfo.c: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' '#include "harness/machine/buildinfo.h"' \
	  'const char buildinfo_version[] = "$(VERSION)";' \
	  'const char buildinfo_commit[] = "$(GIT_COMMIT)";' \
	  'const char buildinfo_cc[] = "$(shell $(CC) --version | head -1)";' \
	  'const char buildinfo_cflags[] = "$(strip $(OPT) $(ARCHFLAGS) $(SANFLAGS) $(DEFS))";' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/buildinfo.o: $(BUILD)/buildinfo.c
	$(CC) $(CFLAGS) -c $< -o $@
FORCE:

$(ENGINE_LIB): $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(GGPERF): $(BUILD)/cli/main.o $(APP_OBJ) $(BUILD)/buildinfo.o $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PFM_LIBS) -lm -ldl

$(MICROBENCH): $(BENCH_OBJ) $(BUILD)/buildinfo.o $(ENGINE_LIB)
	$(CXX) $(LDFLAGS) -o $@ $^ $(GBENCH_LIBS) $(PFM_LIBS) -lm

# Run the kernel microbenchmarks (MB_ARGS adds flags, e.g. MB_ARGS=--benchmark_filter=dot/Q4_0); JSON in $(BUILD)/microbench.json.
microbench: $(MICROBENCH)
	./$(MICROBENCH) --benchmark_min_time=$(MB_MIN_TIME) --benchmark_out_format=json \
	  --benchmark_out=$(BUILD)/microbench.json $(MB_ARGS)

# Compare two microbench JSON files with Google Benchmark's compare.py: A=old.json B=new.json.
microbench-compare:
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make microbench-compare A=old.json B=new.json"; exit 2; }
	$(COMPARE_PY) benchmarks $(A) $(B)

# The Check runner links everything but main.c; suites are found by name.
$(BUILD)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(@D)
	@grep -ho 'Suite \*[a-z0-9_]*_suite(void)' $(TEST_SRC) | sed 's/Suite \*\(.*\)(void)/X(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/tests/check_main.o: tests/check_main.c $(BUILD)/tests/suites.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -I$(BUILD)/tests -c $< -o $@

$(TESTBIN): $(TEST_OBJ) $(APP_OBJ) $(BUILD)/buildinfo.o $(ENGINE_LIB) | $(GGPERF)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PFM_LIBS) $(CHECK_LIBS) -lm -ldl

# Run every Check suite (fork mode); fails on any failure or on a skip this machine does not explain (list in $(BUILD)/test-skips.txt).
test: $(TESTBIN) $(GGPERF) $(MICROBENCH)
	@./scripts/check-layering.sh
	GGPERF_BIN=$(abspath $(GGPERF)) GGPERF_BUILD=$(abspath $(BUILD)) GGPERF_SKIP_REPORT=$(abspath $(BUILD))/test-skips.txt ./$(TESTBIN)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) SAN=address,undefined test

TSAN_SUITES ?= pool infer batch serve
TSAN_BUILD  := build-san-thread
# Pool suite + TSAN_SUITES (missing skipped) under ThreadSanitizer; fails on any failure or race.
tsan:
	$(MAKE) SAN=thread BUILD=$(TSAN_BUILD) $(TSAN_BUILD)/ggperf-tests
	@set -e; for s in pool $(filter-out pool,$(TSAN_SUITES)); do \
	  if ! grep -qx "X($${s}_suite)" $(TSAN_BUILD)/tests/suites.h; then \
	    echo "tsan: no suite '$$s', skipped"; continue; fi; \
	  echo "tsan: suite $$s"; \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66" CK_RUN_SUITE=$$s \
	    GGPERF_BIN=$(abspath $(TSAN_BUILD)/ggperf) GGPERF_BUILD=$(abspath $(TSAN_BUILD)) \
	    ./$(TSAN_BUILD)/ggperf-tests; \
	done

# The CI performance gate: callgrind counts of this build against ci/baseline.json.
gate: $(GGPERF)
	GGPERF_BIN=$(abspath $(GGPERF)) ./ci/gate.sh

# Prove the gate catches a slower build: build SLOW_KERNEL=1 into build-slow/, expect a pass for this build and a failure for that one.
gate-selftest: $(GGPERF)
	$(MAKE) BUILD=build-slow SLOW_KERNEL=1 SAN= build-slow/ggperf
	./ci/gate.sh --selftest $(abspath $(GGPERF)) $(abspath build-slow/ggperf)

# Bounded libFuzzer runs (FUZZ_SECONDS each, default 60).
fuzz:
	./scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

# The main job on the built-in default: synthesize a model and study it.
demo: $(GGPERF)
	./scripts/demo.sh

# Fail on an #include across a forbidden boundary (scripts/check-layering.sh says which).
layering:
	@./scripts/check-layering.sh

clean:
	rm -rf build build-san-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- install, uninstall, man page, completion, .deb (issue 21) ---------------
# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the microbenchmark
# binary, the man page ggperf(1), bash completion, the engine as a static
# library with its public headers and a pkg-config file (libc/libm/pthreads
# only). The installed ggperf needs nothing from this tree. Every path
# installed is in INSTALLED, which uninstall removes, with the folders that
# are ggperf's own.
VERSION     := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
DOCDIR      ?= $(DATADIR)/doc/ggperf
INSTALL     ?= install

# The engine's public API: what a program linking libggperf-engine.a
# includes (infer.h pulls in mem, model, pool, quant, region; gguf, tokenizer
# and sampler for reading files and text; cpu for the ISA it picks). Installed
# unchanged as include/ggperf/engine/X.h; the .pc file's -I.../include/ggperf
# resolves their "engine/X.h" includes. quant_impl.h stays private.
PUBLIC_HEADERS := engine/cpu.h engine/gguf.h engine/infer.h engine/mem.h engine/model.h engine/pool.h \
                  engine/quant.h engine/region.h engine/sampler.h engine/tokenizer.h
MAN_PAGE    := $(BUILD)/ggperf.1
COMPLETION  := $(BUILD)/ggperf.bash-completion
ENGINE_PC   := $(BUILD)/ggperf-engine.pc
DOC_FILES   := README.md CHANGELOG.md examples/top_logit.c

INSTALLED := $(BINDIR)/ggperf $(BINDIR)/ggperf-microbench $(LIBDIR)/libggperf-engine.a \
             $(LIBDIR)/pkgconfig/ggperf-engine.pc $(MANDIR)/man1/ggperf.1 $(BASHCOMPDIR)/ggperf \
             $(addprefix $(INCLUDEDIR)/ggperf/,$(PUBLIC_HEADERS)) \
             $(addprefix $(DOCDIR)/,$(notdir $(DOC_FILES)))
# ggperf's own folders, removed when empty (deepest first).
INSTALLED_DIRS := $(INCLUDEDIR)/ggperf/engine $(INCLUDEDIR)/ggperf $(DOCDIR)

.PHONY: install uninstall man completion deb

# The man page ggperf(1), from `ggperf help` and each command's --help (scripts/gen-man.sh).
man: $(MAN_PAGE)
$(MAN_PAGE): $(GGPERF) scripts/gen-man.sh VERSION
	./scripts/gen-man.sh $(GGPERF) $(VERSION) > $@.tmp && mv $@.tmp $@

# The bash completion script, printed by `ggperf completion bash` from the command and workload tables.
completion: $(COMPLETION)
$(COMPLETION): $(GGPERF)
	$(abspath $(GGPERF)) completion bash > $@.tmp && mv $@.tmp $@

# The prefix is baked into the .pc file: rewritten whenever PREFIX changes.
$(ENGINE_PC): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: ggperf-engine' \
	  'Description: ggperf reference llama inference engine: GGUF reader, quantized kernels, forward pass' \
	  'Version: $(VERSION)' \
	  'Cflags: -I$${includedir}/ggperf -pthread' \
	  'Libs: -L$${libdir} -lggperf-engine -lm -pthread' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

# Install into $(DESTDIR)$(PREFIX) (PREFIX=/usr/local by default).
install: $(GGPERF) $(MICROBENCH) $(ENGINE_LIB) $(MAN_PAGE) $(COMPLETION) $(ENGINE_PC)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(INCLUDEDIR)/ggperf/engine $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(GGPERF) $(MICROBENCH) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 $(ENGINE_LIB) $(DESTDIR)$(LIBDIR)/libggperf-engine.a
	$(INSTALL) -m 644 $(ENGINE_PC) $(DESTDIR)$(LIBDIR)/pkgconfig/ggperf-engine.pc
	$(INSTALL) -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/ggperf/engine/
	$(INSTALL) -m 644 $(MAN_PAGE) $(DESTDIR)$(MANDIR)/man1/ggperf.1
	$(INSTALL) -m 644 $(COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/ggperf
	$(INSTALL) -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/

# Remove everything install put there (same PREFIX and DESTDIR).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@for d in $(addprefix $(DESTDIR),$(INSTALLED_DIRS)); do [ ! -d "$$d" ] || rmdir "$$d" || true; done

# A Debian package, build/ggperf_VERSION_ARCH.deb (dpkg-deb): PREFIX=/usr, binaries stripped,
# Depends from the shared libraries the two binaries link (dpkg -S of ldd's answers).
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB      := $(BUILD)/ggperf_$(VERSION)_$(DEB_ARCH).deb
deb: $(DEB)
$(DEB): $(GGPERF) $(MICROBENCH) $(ENGINE_LIB) scripts/make-deb.sh VERSION FORCE
	rm -rf $(BUILD)/deb-root
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(BUILD)/deb-root) PREFIX=/usr
	./scripts/make-deb.sh $(BUILD)/deb-root $@ $(VERSION) $(DEB_ARCH)
