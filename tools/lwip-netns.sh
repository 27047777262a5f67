#!/bin/bash
# Runs a command in a network namespace of its own where natterd can run on lwIP over the TAP
# device nt0: loopback is up, the kernel's side of nt0 is 10.77.0.1/24 plus 10.77.0.101 ..
# 10.77.0.116 (the bench's client addresses), and natterd takes 10.77.0.2.
# Used by make e2e-lwip, make asan (NATTER_* for tests/e2e) and make bench (natterd-lwip).
# Usage: unshare -n bash tools/lwip-netns.sh COMMAND...
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "lwip-netns: needs root (a network namespace and a TAP device)" >&2
	exit 2
fi
ip link set lo up
ip tuntap add dev nt0 mode tap
ip addr add 10.77.0.1/24 dev nt0
for i in $(seq 101 116); do
	ip addr add "10.77.0.$i/24" dev nt0
done
ip link set nt0 up
export NATTER_NET=lwip NATTER_LWIP_IF=nt0 NATTER_HOST=10.77.0.2 NATTER_BENCH_NETNS=1
exec "$@"
