# QEMU's "virt" machine with a 64-bit ARM CPU (Debian arm64); make qemu boots it.
BOARD_ARCH := arm64
ARCH       ?= $(BOARD_ARCH)
O          ?= build/qemu-arm64
# What QEMU's generated device tree names in /proc/device-tree/compatible.
BOARD_COMPATIBLE := linux,dummy-virt
