# Tests. Each unit test tests/unit/test_NAME.c is declared in tests/unit/NAME.mk with
#   unit-tests += NAME
#   unit-NAME-srcs := the firmware sources it links
# and each fuzz target tests/fuzz/fuzz_NAME.c in tests/fuzz/NAME.mk with
#   fuzz-targets += NAME
#   fuzz-NAME-srcs := the firmware sources it links
include $(sort $(wildcard tests/unit/*.mk))
include $(sort $(wildcard tests/fuzz/*.mk))

define unit_rule
$(O)/tests/unit/test_$(1): $(O)/tests/unit/test_$(1).o $(call objs,$(sort $(unit-$(1)-srcs)))
	$$(if $(Q),@echo "  LD      $$@")
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS) -lcmocka
endef
$(foreach t,$(unit-tests),$(eval $(call unit_rule,$(t))))

# natter-load is a host tool (it plays the PC that loads a board), so a cross build leaves out
# the unit tests of its code; the host's make unit runs them.
ifneq ($(CROSS_TUPLE),)
unit-host-only := $(foreach t,$(unit-tests), \
                    $(if $(filter tools/natter-load/%,$(unit-$(t)-srcs)),$(t)))
endif
unit-bins = $(addprefix $(O)/tests/unit/test_,$(filter-out $(unit-host-only),$(unit-tests)))

FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -I$(O) -Ifirmware -I. $(PKG_CFLAGS)
define fuzz_rule
$(O)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(sort $(fuzz-$(1)-srcs)) $(O)/autoconf.h
	@mkdir -p $$(@D)
	$$(if $(Q),@echo "  FUZZ    $$@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $$@ $$(filter %.c,$$^) $(LDLIBS)
endef
$(foreach t,$(fuzz-targets),$(eval $(call fuzz_rule,$(t))))

fuzz-bins = $(fuzz-targets:%=$(O)/fuzz/fuzz_%)
FUZZ_SECONDS ?= 20

# Unit tests: every cmocka binary (under $(QEMU) for ARCH=); stops at the first failing one.
unit: $(unit-bins)
	$(if $(unit-host-only),@echo "== skipped for ARCH=$(ARCH): $(unit-host-only:%=test_%)" \
		"(natter-load, a host tool; make unit without ARCH= runs them)")
	$(Q)for t in $(unit-bins); do echo "== $(strip $(QEMU) $$t)"; $(QEMU) $$t || exit 1; done

# $(call host-only,TARGET,WHY): with ARCH=, a run that is built for this machine only is
# skipped, and says so.
host-only = @echo "== $(1): skipped for ARCH=$(ARCH): host-only$(if $(2), ($(2)));" \
            "run make $(1) without ARCH="

# Fuzz targets: build each and run it for FUZZ_SECONDS on its seed corpus.
ifneq ($(CROSS_TUPLE),)
fuzz:
	$(call host-only,fuzz,clang libFuzzer targets built for this machine)
else
fuzz: $(fuzz-bins)
	$(Q)for t in $(fuzz-targets); do \
		mkdir -p $(O)/fuzz/corpus-$$t; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(O)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			-error_exitcode=77 $(O)/fuzz/corpus-$$t tests/fuzz/seeds/$$t \
			2>$(O)/fuzz/$$t.log || { tail -50 $(O)/fuzz/$$t.log; exit 1; }; \
	done
endif

# End-to-end tests: the real daemon on loopback, driven by slixmpp and profanity.
# With ARCH=, natterd and natterctl run under $(QEMU) with every wait stretched QEMU_SLOW
# times, and the load generator is a host build in $(O)/host: it plays the office's PC, as
# it would against a board.
E2E_ARGS ?=
ifneq ($(CROSS_TUPLE),)
e2e-env = NATTER_EXEC="$(QEMU)" NATTER_SLOW=$(QEMU_SLOW) \
          NATTER_LOAD=$(abspath $(O))/host/natter-load \
          NATTER_MDB_BIN=$(abspath $(O))/sysroot/usr/bin
e2e-tools = e2e-host-load $(cross-mdb)
e2e-host-load:
	$(Q)$(MAKE) --no-print-directory ARCH= CROSS_COMPILE= BOARD=host O=$(O)/host \
		$(O)/host/natter-load
.PHONY: e2e-host-load

# The target's own lmdb-utils for the tests that read the store directly: an LMDB file is not
# portable between 32- and 64-bit builds (the host's mdb_dump calls an armhf store "not an
# LMDB file"). lmdb-utils is Multi-Arch: foreign, so lmdb-utils:ARCH cannot be installed
# beside the host's: `make deps` unpacks it under $(O)/sysroot, and its programs run under
# qemu-user with liblmdb0:ARCH from the multiarch path.
cross-mdb := $(O)/sysroot/usr/bin/mdb_dump
$(cross-mdb):
	@rm -rf $(O)/sysroot.deb && mkdir -p $(O)/sysroot.deb && chmod 777 $(O)/sysroot.deb
	$(Q)cd $(O)/sysroot.deb && apt-get download -qq lmdb-utils:$(ARCH)
	$(Q)dpkg-deb -x $(O)/sysroot.deb/lmdb-utils_*.deb $(O)/sysroot
	@rm -rf $(O)/sysroot.deb
endif
e2e: all $(e2e-tools)
	$(Q)NATTER_BUILD=$(abspath $(O)) $(e2e-env) $(PY) -m pytest -q -p no:cacheprovider \
		tests/e2e $(E2E_ARGS)

# The same end-to-end suite against natterd on its own TCP/IP stack (lwIP) over a TAP device,
# inside a network namespace made for the run.
# Host builds only for now (the board builds run it on the board's NIC instead).
ifneq ($(CROSS_TUPLE),)
e2e-lwip:
	$(call host-only,e2e-lwip)
else
e2e-lwip: all
	$(Q)NATTER_BUILD=$(abspath $(O)) unshare -n bash tools/lwip-netns.sh \
		$(PY) -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS)
endif

# The same end-to-end suite against an ASan/UBSan build (leaks fail the run), on lwIP, then
# on the kernel's sockets.
ifneq ($(CROSS_TUPLE),)
asan:
	$(call host-only,asan,its LeakSanitizer needs ptrace and fails under qemu-user)
else
asan:
	$(Q)$(MAKE) --no-print-directory O=$(O)/asan BOARD=$(BOARD) \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" all
	$(Q)NATTER_BUILD=$(abspath $(O))/asan NATTER_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		unshare -n bash tools/lwip-netns.sh \
		$(PY) -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS)
	$(Q)NATTER_BUILD=$(abspath $(O))/asan NATTER_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(PY) -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS)
endif

# A pytest summary closes the output: the sanitizer run's, or with ARCH= (where that run is
# skipped) the end-to-end suite's under qemu-user.
# The qemu-arm64 board's bundle booted in QEMU (test-qemu, tools/image/module.mk; about 15 s)
# runs in the host's make test only: it is the same arm64 guest whatever ARCH is.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory $(if $(CROSS_TUPLE),asan,e2e)
	$(Q)$(MAKE) --no-print-directory e2e-lwip
	$(if $(CROSS_TUPLE),,$(Q)$(MAKE) --no-print-directory test-qemu)
	$(Q)$(MAKE) --no-print-directory $(if $(CROSS_TUPLE),e2e,asan)

.PHONY: unit fuzz e2e e2e-lwip asan test
