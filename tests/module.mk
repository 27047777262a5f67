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

unit-bins = $(unit-tests:%=$(O)/tests/unit/test_%)

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

# Unit tests: every cmocka binary; stops at the first failing one.
unit: $(unit-bins)
	$(Q)for t in $(unit-bins); do echo "== $$t"; $$t || exit 1; done

# Fuzz targets: build each and run it for FUZZ_SECONDS on its seed corpus.
fuzz: $(fuzz-bins)
	$(Q)for t in $(fuzz-targets); do \
		mkdir -p $(O)/fuzz/corpus-$$t; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(O)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			-error_exitcode=77 $(O)/fuzz/corpus-$$t tests/fuzz/seeds/$$t \
			2>$(O)/fuzz/$$t.log || { tail -50 $(O)/fuzz/$$t.log; exit 1; }; \
	done

# End-to-end tests: the real daemon on loopback, driven by slixmpp and profanity.
E2E_ARGS ?=
e2e: all
	$(Q)NATTER_BUILD=$(abspath $(O)) $(PY) -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS)

# The same end-to-end suite against an ASan/UBSan build (leaks fail the run).
asan:
	$(Q)$(MAKE) --no-print-directory O=$(O)/asan BOARD=$(BOARD) \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" all
	$(Q)NATTER_BUILD=$(abspath $(O))/asan NATTER_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(PY) -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS)

# The sanitizer run of the end-to-end suite goes last: its pytest summary closes the output.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory asan

.PHONY: unit fuzz e2e asan test
