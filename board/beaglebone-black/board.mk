# BeagleBone Black: 32-bit ARM with hardware floating point (Debian armhf).
BOARD_ARCH := armhf
ARCH       ?= $(BOARD_ARCH)
O          ?= build/beaglebone-black
# What /proc/device-tree/compatible names on the board; install.sh checks it.
BOARD_COMPATIBLE := ti,am335x-bone-black
