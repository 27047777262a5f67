#!/usr/bin/env bash
# Installs the Debian packages natter's build and tests need, and the browser test's npm
# package (playwright-core, into tests/browser/node_modules). Quick when all are present.
#   bash tools/deps.sh          the build and `make test`
#   bash tools/deps.sh bench    also Prosody and ejabberd (the side-by-side anchors of
#                               `make bench`), gnuplot for its plots, linux-perf when available
#   bash tools/deps.sh arm64    also the cross-build for arm64 (or armhf) and its tests: the
#                               cross gcc, the libraries as multiarch :arm64 packages beside
#                               the host's, and qemu-user to run the programs (make ARCH=arm64)
#   bash tools/deps.sh qemu     also qemu-system-arm, to boot a board's image (make qemu); the
#                               guest's kernel and busybox are arm64 packages that
#                               tools/image/qemu-fetch.sh downloads, never installs
set -eu
pkgs=(
	build-essential pkg-config clang libclang-rt-14-dev
	libmbedtls-dev libmxml-dev liblmdb-dev lmdb-utils libidn11-dev libcmocka-dev libssl-dev
	liblwip-dev ethtool
	python3 python3-kconfiglib python3-slixmpp python3-cryptography python3-pytest python3-openssl
	profanity finch tmux openssl valgrind procps iproute2
	chromium
)
# The browser test drives chromium with Playwright under Node.js. A fresh Debian has neither
# node nor npm: Debian's nodejs and npm bring them. A machine with Node.js from elsewhere
# (nodesource's nodejs, npm bundled) keeps it: Debian's npm conflicts with that nodejs.
command -v node >/dev/null || pkgs+=(nodejs)
if ! command -v npm >/dev/null; then
	if dpkg-query -W -f='${Status} ${Version}\n' nodejs 2>/dev/null |
		grep -q '^install ok installed .*nodesource'; then
		echo "deps: nodesource's nodejs is installed without its npm, and Debian's npm" \
			"conflicts with it: reinstall nodesource's nodejs (it bundles npm)" >&2
		exit 1
	fi
	pkgs+=(npm)
fi
# Services the bench packages ship; Debian would start them on install.
services=()
optional=()
# Foreign Debian architectures (dpkg --add-architecture) the sets need.
foreign=()
# The libraries of the cross-build, as ARCH packages. They are Multi-Arch: same, so they
# install beside the host's; dpkg wants one version on every architecture, which these
# (from the main archive, rarely updated) keep easily. pkg-config:ARCH is the cross pkg-config
# (/usr/bin/TUPLE-pkg-config). The C library comes with the cross compiler
# (libc6-dev-ARCH-cross), not as libc6-dev:ARCH: that one pulls linux-libc-dev:ARCH and the
# Kerberos and OpenSSL runtimes, whose security updates reach the archive's architectures at
# different times, and a host package one version ahead of its twin blocks the install.
cross_dev=(libmbedtls-dev libmxml-dev liblmdb-dev libidn11-dev libcmocka-dev liblwip-dev
	pkg-config)
for set in "$@"; do
	case "$set" in
	arm64 | armhf)
		[ "$set" = arm64 ] && tuple=aarch64-linux-gnu || tuple=arm-linux-gnueabihf
		foreign+=("$set")
		# qemu-user runs a program as "qemu-aarch64 PROG", finding the target's loader
		# and libraries at their multiarch paths: no binfmt_misc needed.
		pkgs+=("gcc-$tuple" "libc6-dev-$set-cross" qemu-user)
		for p in "${cross_dev[@]}"; do
			pkgs+=("$p:$set")
		done
		;;
	qemu)
		# The arm64 architecture lets apt-get download the guest's packages.
		foreign+=(arm64)
		pkgs+=(qemu-system-arm)
		;;
	bench)
		pkgs+=(prosody lua5.4 lua-sec lua-socket lua-expat lua-filesystem lua-bitop
			lua-unbound ejabberd erlang-base gnuplot-nox openssl util-linux)
		services+=(prosody ejabberd)
		optional+=(linux-perf)
		;;
	*)
		echo "deps: unknown package set '$set' (known: bench, arm64, armhf, qemu)" >&2
		exit 2
		;;
	esac
done

# A name without ":ARCH" means this machine's architecture (or "all"): once a library is also
# installed for a foreign architecture, dpkg lists one status line per architecture.
native=$(dpkg --print-architecture)
installed() {
	local name=${1%%:*} arch=$native
	[ "$name" = "$1" ] || arch=${1#*:}
	dpkg-query -W -f='${Architecture} ${Status}\n' "$name" 2>/dev/null |
		grep -qE "^($arch|all) install ok installed\$"
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
# playwright-core as tests/browser/package-lock.json pins it, into tests/browser/node_modules;
# npm ci runs again only when the lock changed since the last install (the stamp is a copy of
# it). Playwright never downloads a browser of its own: the test uses Debian's chromium.
browser_modules() {
	local dir stamp
	dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser" && pwd)
	stamp=$dir/node_modules/.natter-lock
	if [ -f "$dir/node_modules/playwright-core/package.json" ] &&
		cmp -s "$dir/package-lock.json" "$stamp"; then
		return 0
	fi
	echo "deps: npm ci in tests/browser (playwright-core)"
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
	cp "$dir/package-lock.json" "$stamp"
}

if [ ${#missing[@]} -eq 0 ]; then
	browser_modules
	exit 0
fi
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

for a in "${foreign[@]}"; do
	if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
		echo "deps: adding the Debian architecture $a"
		$sudo dpkg --add-architecture "$a"
	fi
done
# One index that does not download (a mirror mid-sync) need not stop the install: apt goes on
# with the lists it has, and the install below fails by itself if what it needs is not there.
if ! $sudo apt-get update -qq; then
	echo "deps: apt-get update failed (above); going on with the package lists apt has" >&2
fi
if [ ${#foreign[@]} -gt 0 ]; then
	# A foreign package that is not co-installable would make apt remove the host's one
	# (say libmxml-dev:amd64 for libmxml-dev:arm64): ask apt first, and refuse any removal.
	if ! plan=$(apt-get -s install --no-install-recommends "${missing[@]}" 2>&1); then
		printf '%s\n' "$plan" >&2
		echo "deps: apt cannot install ${missing[*]}" >&2
		exit 1
	fi
	removed=$(printf '%s\n' "$plan" | awk '$1 == "Remv" { printf " %s", $2 }')
	if [ -n "$removed" ]; then
		echo "deps: refusing to install: apt would remove$removed" >&2
		exit 1
	fi
	# "Inst NAME [OLD] (NEW ...)": an installed package upgraded, mostly a host library
	# brought to the version of its foreign twin.
	upgraded=$(printf '%s\n' "$plan" | awk '$1 == "Inst" && $3 ~ /^\[/ { printf " %s", $2 }')
	if [ -n "$upgraded" ]; then
		echo "deps: also upgrading, so that $native and ${foreign[*]} versions match:$upgraded"
	fi
fi
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

browser_modules
