# natter: one non-recursive Makefile; each folder adds its sources in a module.mk.
#   make host_defconfig | menuconfig | olddefconfig     configure (into $(O)/.config)
#   make [O=DIR] [V=1] [CROSS_COMPILE=aarch64-linux-gnu-]   build natterd and natterctl
#   make run | test | deps | fuzz | clean
O  ?= build
Q  := $(if $(filter 1,$(V)),,@)
PY := /usr/bin/python3
BOARD ?= host
export KCONFIG_CONFIG := $(O)/.config

CC         := $(CROSS_COMPILE)gcc
STRIP      := $(CROSS_COMPILE)strip
PKG_CONFIG ?= $(if $(CROSS_COMPILE),$(CROSS_COMPILE)pkg-config,pkg-config)
CLANG      ?= clang

PKGS      := mxml lmdb libidn
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# Debian's mbedTLS ships no .pc file.
TLS_LIBS  := -lmbedtls -lmbedx509 -lmbedcrypto

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -I$(O) -Ifirmware -I. \
             $(PKG_CFLAGS)
LDLIBS    = $(PKG_LIBS) $(TLS_LIBS)

all:

-include $(KCONFIG_CONFIG)

objs = $(patsubst %.c,$(O)/%.o,$(1))

include firmware/module.mk
include net/module.mk
include tools/module.mk
include $(sort $(wildcard tools/*/module.mk))
include tests/module.mk

all: $(O)/natterd $(O)/natterctl

$(O)/natterd: $(call objs,$(natterd-srcs))
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/natterctl: $(call objs,$(natterctl-srcs))
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/%.o: %.c $(O)/autoconf.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Configuration ---------------------------------------------------------------------------
# Made on first use from the board's defconfig; on a machine without kconfiglib yet it waits
# for `make deps` (make test and make run call it first, then build in a sub-make).
$(KCONFIG_CONFIG):
	@mkdir -p $(O)
	$(Q)if $(PY) -c 'import kconfiglib' 2>/dev/null; then \
		$(PY) -m defconfig --kconfig Kconfig board/$(BOARD)/defconfig >/dev/null; \
	else echo "natter: no kconfiglib yet; run make deps"; fi

$(O)/autoconf.h: $(KCONFIG_CONFIG) Kconfig
	$(Q)$(PY) -m genconfig --header-path $@ Kconfig

%_defconfig: board/%/defconfig
	@mkdir -p $(O)
	$(Q)$(PY) -m defconfig --kconfig Kconfig $<

menuconfig: $(KCONFIG_CONFIG)
	$(Q)MENUCONFIG_STYLE=aquatic $(PY) -m menuconfig Kconfig

olddefconfig: $(KCONFIG_CONFIG)
	$(Q)$(PY) -m olddefconfig Kconfig

savedefconfig: $(KCONFIG_CONFIG)
	$(Q)$(PY) -m savedefconfig --kconfig Kconfig --out $(O)/defconfig

# Running ---------------------------------------------------------------------------------
deps:
	$(Q)bash tools/deps.sh $(DEPS)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tools/run.sh $(O)

clean:
	rm -rf $(O)

.PHONY: all deps run clean menuconfig olddefconfig savedefconfig
.DELETE_ON_ERROR:
-include $(shell find $(O) -name '*.d' 2>/dev/null)
