#!/usr/bin/env bash
# Installs the Debian packages natter's build and tests need. Quick when all are present.
set -eu
pkgs=(
	build-essential pkg-config clang libclang-rt-14-dev
	libmbedtls-dev libmxml-dev liblmdb-dev lmdb-utils libidn11-dev libcmocka-dev
	python3 python3-kconfiglib python3-slixmpp python3-pytest
	profanity tmux openssl valgrind procps iproute2
)
missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
