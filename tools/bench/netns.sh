#!/bin/bash
# Runs a command (the benchmark) in a network namespace of its own: loopback for the servers
# on kernel sockets, and the TAP device nt0 for natterd on lwIP (natterd-lwip in servers.py):
# natterd takes 10.77.0.2, the generator connects from 10.77.0.101 .. 10.77.0.116.
# Usage: unshare -n bash tools/bench/netns.sh COMMAND...
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "bench netns: needs root (a network namespace and a TAP device)" >&2
	exit 2
fi
ip link set lo up
ip tuntap add dev nt0 mode tap
ip addr add 10.77.0.1/24 dev nt0
for i in $(seq 101 116); do
	ip addr add "10.77.0.$i/24" dev nt0
done
ip link set nt0 up
export NATTER_BENCH_NETNS=1
exec "$@"
