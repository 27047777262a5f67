# natter: one non-recursive Makefile; each folder adds its sources in a module.mk.
#   make host_defconfig | menuconfig | olddefconfig     configure (into $(O)/.config)
#   make [O=DIR] [V=1] [CROSS_COMPILE=aarch64-linux-gnu-]   build natterd and natterctl
#   make ARCH=arm64|armhf [deps|test]   cross-build into build/ARCH, test under qemu-user
#   make run | test | deps | fuzz | clean
Q  := $(if $(filter 1,$(V)),,@)
PY := /usr/bin/python3
BOARD ?= host
# A board's board.mk names its Debian ARCH and its own output folder (build/BOARD), so that
# `make BOARD=raspberrypi4` cross-builds for that board and leaves the host's build/ alone.
-include board/$(BOARD)/board.mk

# Cross builds. ARCH names a Debian architecture; its cross compiler and multiarch libraries
# come from `make deps ARCH=...`, and its programs run on this machine under qemu-user.
ARCH ?=
ifneq ($(filter-out x86_64 amd64,$(ARCH)),)
cross-tuple-arm64 := aarch64-linux-gnu
cross-tuple-armhf := arm-linux-gnueabihf
cross-qemu-arm64  := qemu-aarch64
cross-qemu-armhf  := qemu-arm
CROSS_TUPLE := $(cross-tuple-$(ARCH))
ifeq ($(CROSS_TUPLE),)
$(error ARCH=$(ARCH) is not known: use arm64, armhf, or x86_64 (or none) for this machine)
endif
CROSS_COMPILE ?= $(CROSS_TUPLE)-
# The host build in build/ stays as it is.
O ?= build/$(ARCH)
# How `make test` runs a target program, and how much slower than native that makes it: a
# STARTTLS login took 46-77 ms under qemu-user (arm64 and armhf) against 20-24 ms natively.
# The end-to-end harness stretches its waits by this factor.
QEMU ?= $(cross-qemu-$(ARCH))
QEMU_SLOW ?= 3
else ifneq ($(CROSS_COMPILE),)
ifneq ($(filter test unit e2e run,$(MAKECMDGOALS)),)
$(error CROSS_COMPILE= alone builds only: with ARCH=arm64 or armhf, programs run under qemu-user)
endif
endif
# Native programs run as they are, whatever QEMU the environment holds.
QEMU := $(if $(CROSS_TUPLE),$(QEMU))
O  ?= build
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
include drivers/module.mk
include tools/module.mk
include $(sort $(wildcard tools/*/module.mk))
include tests/module.mk

all: $(O)/natterd $(O)/natterctl
# A cross build also builds the unit tests, to run them under qemu-user or on a board.
ifneq ($(CROSS_TUPLE),)
all: $(unit-bins)
endif

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
# A board defconfig newer than the configuration remakes it (menuconfig changes then go).
$(KCONFIG_CONFIG): $(wildcard board/$(BOARD)/defconfig)
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
	$(Q)bash tools/deps.sh $(DEPS) $(if $(CROSS_TUPLE),$(ARCH))
	$(if $(CROSS_TUPLE),$(Q)$(MAKE) -s --no-print-directory $(cross-mdb))

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)NATTER_EXEC="$(QEMU)" bash tools/run.sh $(O)

clean:
	rm -rf $(O)

.PHONY: all deps run clean menuconfig olddefconfig savedefconfig
.DELETE_ON_ERROR:
-include $(shell find $(O) -name '*.d' -type f 2>/dev/null)
