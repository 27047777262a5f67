#!/bin/bash
# Runs a command (the e2e suite) in a network namespace of its own, where natterd runs on
# lwIP over the TAP device nt0: the kernel's side is 10.77.0.1/24, the daemons take
# 10.77.0.2. Usage: unshare -n bash tests/e2e/lwip-netns.sh COMMAND...
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "lwip-netns: needs root (a network namespace and a TAP device)" >&2
	exit 2
fi
ip link set lo up
ip tuntap add dev nt0 mode tap
ip addr add 10.77.0.1/24 dev nt0
ip link set nt0 up
export NATTER_NET=lwip NATTER_LWIP_IF=nt0 NATTER_HOST=10.77.0.2
exec "$@"
