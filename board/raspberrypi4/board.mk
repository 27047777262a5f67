# Raspberry Pi 4 Model B, Pi 400, CM4: 64-bit Raspberry Pi OS or Debian (arm64).
BOARD_ARCH := arm64
ARCH       ?= $(BOARD_ARCH)
O          ?= build/raspberrypi4
# What /proc/device-tree/compatible names on these boards; install.sh checks it.
BOARD_COMPATIBLE := raspberrypi,4-model-b raspberrypi,400 raspberrypi,4-compute-module
