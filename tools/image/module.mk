# Firmware bundles and QEMU (board/README.md):
#   make image BOARD=NAME      build/image/natter-NAME-VERSION.tar.gz (tools/image/mkimage.sh):
#                              natterd and natterctl for the board's ARCH (board/NAME/board.mk)
#                              and defconfig, built by a sub-make in build/NAME, stripped
#   make images                the bundle of every board
#   make qemu                  boots the qemu-arm64 bundle in qemu-system-aarch64 (qemu.py);
#                              QEMU_NET=epoll|lwip, QEMU_PORT, QEMU_TLS_PORT,
#                              QEMU_WEB_PORT
#   make test-qemu             tests/e2e/test_qemu_board.py against that guest
IMAGE_OUT ?= build/image
# git's name for the sources, worked out once and only when a recipe asks for it.
NATTER_VERSION ?= $(eval NATTER_VERSION := $(shell git describe --tags --always --dirty \
                  2>/dev/null || echo unknown))$(NATTER_VERSION)
# build/BOARD; the host board cross-built (ARCH=armhf) goes to build/host-armhf.
image-build = build/$(BOARD)$(if $(BOARD_ARCH),,$(if $(CROSS_TUPLE),-$(ARCH)))
image-arch  = $(or $(BOARD_ARCH),$(if $(CROSS_TUPLE),$(ARCH),$(shell dpkg \
              --print-architecture 2>/dev/null || echo amd64)))
image-file  = $(IMAGE_OUT)/natter-$(BOARD)-$(NATTER_VERSION).tar.gz
image-boards := $(patsubst board/%/settings,%,$(wildcard board/*/settings))
# A board's programs are for its own architecture only.
ifneq ($(BOARD_ARCH),)
ifneq ($(ARCH),$(BOARD_ARCH))
image-arch-error := board $(BOARD) is $(BOARD_ARCH); leave ARCH out (it is $(ARCH))
endif
endif

image: deps
	$(if $(image-arch-error),$(error $(image-arch-error)))
	$(Q)$(MAKE) --no-print-directory BOARD=$(BOARD) O=$(image-build) \
		$(image-build)/natterd $(image-build)/natterctl
	$(Q)bash tools/image/mkimage.sh --board $(BOARD) --build $(image-build) \
		--arch $(image-arch) --version $(NATTER_VERSION) --out $(IMAGE_OUT) \
		--strip $(STRIP) --compatible "$(BOARD_COMPATIBLE)"

images:
	$(Q)for b in $(image-boards); do \
		$(MAKE) --no-print-directory BOARD=$$b NATTER_VERSION=$(NATTER_VERSION) image \
		|| exit 1; done

# QEMU plays the qemu-arm64 board: `make qemu` alone means that one (whose ARCH is arm64,
# whatever ARCH this make has).
QEMU_NET      ?=
QEMU_PORT     ?= 15222
QEMU_TLS_PORT ?= 15223
QEMU_WEB_PORT ?= 15281
qemu-dir = $(image-build)/qemu
ifeq ($(BOARD),host)
qemu qemu-prep test-qemu:
	$(Q)$(MAKE) --no-print-directory BOARD=qemu-arm64 ARCH=arm64 $@
else
qemu-prep:
	$(Q)bash tools/deps.sh qemu $(BOARD_ARCH)
	$(Q)$(MAKE) --no-print-directory BOARD=$(BOARD) NATTER_VERSION=$(NATTER_VERSION) image
	$(Q)$(PY) tools/image/qemu.py build --board $(BOARD) --bundle $(image-file) \
		--dir $(qemu-dir)

qemu: qemu-prep
	$(Q)$(PY) tools/image/qemu.py run --board $(BOARD) --dir $(qemu-dir) \
		--port $(QEMU_PORT) --tls-port $(QEMU_TLS_PORT) --web-port $(QEMU_WEB_PORT) \
		$(if $(QEMU_NET),--net $(QEMU_NET))

# Boots the guest once per network backend and logs in from this machine, then says how
# long each boot took to natterd's ready line.
test-qemu: qemu-prep
	$(Q)rm -f $(qemu-dir)/boot-to-ready-*.txt
	$(Q)NATTER_QEMU=1 NATTER_QEMU_BOARD=$(BOARD) NATTER_QEMU_DIR=$(abspath $(qemu-dir)) \
		$(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_qemu_board.py $(E2E_ARGS)
	$(Q)for f in $(qemu-dir)/boot-to-ready-*.txt; do \
		n=$${f##*-}; echo "== $(BOARD) ($${n%.txt}): QEMU start to natterd ready:" \
		"$$(cat $$f) s (TCG)"; done
endif

.PHONY: image images qemu qemu-prep test-qemu
