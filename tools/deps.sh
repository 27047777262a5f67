#!/usr/bin/env bash
# Installs the Debian packages natter's build and tests need. Quick when all are present.
#   bash tools/deps.sh          the build and `make test`
#   bash tools/deps.sh bench    also Prosody and ejabberd (the side-by-side anchors of
#                               `make bench`), gnuplot for its plots, linux-perf when available
set -eu
pkgs=(
	build-essential pkg-config clang libclang-rt-14-dev
	libmbedtls-dev libmxml-dev liblmdb-dev lmdb-utils libidn11-dev libcmocka-dev libssl-dev
	python3 python3-kconfiglib python3-slixmpp python3-pytest
	profanity tmux openssl valgrind procps iproute2
)
# Services the bench packages ship; Debian would start them on install.
services=()
optional=()
for set in "$@"; do
	case "$set" in
	bench)
		pkgs+=(prosody lua5.4 lua-sec lua-socket lua-expat lua-filesystem lua-bitop
			lua-unbound ejabberd erlang-base gnuplot-nox openssl util-linux)
		services+=(prosody ejabberd)
		optional+=(linux-perf)
		;;
	*)
		echo "deps: unknown package set '$set' (known: bench)" >&2
		exit 2
		;;
	esac
done

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# Optional packages are tried along with a real install only, so a machine without them
# does not pay for an apt-get update on every run.
want_optional=()
for p in "${optional[@]}"; do
	installed "$p" || want_optional+=("$p")
done

if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
export DEBIAN_FRONTEND=noninteractive

# The bench runs private instances of Prosody and ejabberd; the system services must not
# start (they would hold 5222, which `make run` needs). A policy-rc.d that exits 101 tells
# invoke-rc.d and deb-systemd-invoke not to start anything during the install.
policy=/usr/sbin/policy-rc.d
made_policy=
new_services=()
for s in "${services[@]}"; do
	installed "$s" || new_services+=("$s")
done
cleanup() {
	if [ -n "$made_policy" ]; then
		$sudo rm -f "$policy"
	fi
}
trap cleanup EXIT
if [ ${#new_services[@]} -gt 0 ] && [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# natter deps.sh: no service starts during this install\nexit 101\n' |
		$sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	made_policy=1
fi

$sudo apt-get update -qq
echo "deps: installing ${missing[*]}"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for p in "${want_optional[@]}"; do
	$sudo apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
		echo "deps: optional package $p not installed"
done

# Should a service have started anyway (no policy-rc.d honoured), stop and disable the
# ones this run installed; services that were there before are left as they are.
for s in "${new_services[@]}"; do
	if [ -d /run/systemd/system ]; then
		$sudo systemctl disable --now "$s" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$s" ]; then
		if $sudo "/etc/init.d/$s" status >/dev/null 2>&1; then
			$sudo "/etc/init.d/$s" stop >/dev/null 2>&1 || true
		fi
		$sudo update-rc.d "$s" disable >/dev/null 2>&1 || true
	fi
	# ejabberd's postinst runs `ejabberdctl status`, which leaves an epmd daemon on 4369.
	# epmd refuses -kill while a node is registered, so this ends only an unused one.
	if [ "$s" = ejabberd ] && command -v epmd >/dev/null; then
		epmd -kill >/dev/null 2>&1 || true
	fi
done
