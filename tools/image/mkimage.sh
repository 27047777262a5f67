#!/usr/bin/env bash
# mkimage.sh: packs a board's build into its firmware bundle (make image BOARD=NAME runs it).
#   mkimage.sh --board NAME --build DIR --arch ARCH --version V --out DIR
#              [--strip PROG] [--compatible "DT-COMPATIBLE ..."]
# DIR holds natterd, natterctl and the .config they were built with. The bundle,
# OUT/natter-NAME-V.tar.gz, unpacks to one folder natter-NAME-V/:
#   bin/natterd bin/natterctl   stripped
#   init/                       natter-start, natterd.service, S50natterd, 60-natter.rules
#   settings                    the board's default settings (board/NAME/settings)
#   install.sh README.md VERSION
#   MANIFEST                    "# key: value" lines (board, arch, version, ...), then the
#                               SHA-256 of every other file: `sha256sum -c MANIFEST` checks it
# The init files are tools/image/init/*, unless board/NAME/ has its own file of that name;
# @BOARD@ and @NT_USER@ in them are filled in here, @PREFIX@ by install.sh.
set -euo pipefail

board='' build='' arch='' version='' out='' strip=strip compatible=''
while [ $# -gt 0 ]; do
	case "$1" in
	--board) board=$2 ;;
	--build) build=$2 ;;
	--arch) arch=$2 ;;
	--version) version=$2 ;;
	--out) out=$2 ;;
	--strip) strip=$2 ;;
	--compatible) compatible=$2 ;;
	*)
		echo "mkimage: unknown argument '$1'" >&2
		exit 2
		;;
	esac
	shift 2
done
die() {
	echo "mkimage: $*" >&2
	exit 1
}
if [ -z "$board" ] || [ -z "$build" ] || [ -z "$arch" ] || [ -z "$version" ] || [ -z "$out" ]
then
	die "usage: mkimage.sh --board NAME --build DIR --arch ARCH --version V --out DIR"
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
boarddir=$repo/board/$board
[ -f "$boarddir/settings" ] || die "board/$board/settings is missing"
[ -f "$boarddir/README.md" ] || die "board/$board/README.md is missing"
for f in natterd natterctl .config; do
	[ -f "$build/$f" ] || die "$build/$f is missing: build the board first"
done
case "$version" in
*/* | "" | .*) die "version '$version' cannot be part of a file name" ;;
esac

# The user natterd drops to is compiled in (Kconfig NT_USER): the init files make that one.
nt_user=$(sed -n 's/^CONFIG_NT_USER="\(.*\)"$/\1/p' "$build/.config")
[ -n "$nt_user" ] || nt_user=natter
built_board=$(sed -n 's/^CONFIG_NT_BOARD="\(.*\)"$/\1/p' "$build/.config")
[ "$built_board" = "$board" ] ||
	die "$build was configured for board '$built_board', not '$board'"

name=natter-$board-$version
stage=$build/image/$name
rm -rf "$build/image"
mkdir -p "$stage/bin" "$stage/init" "$out"

for p in natterd natterctl; do
	"$strip" -o "$stage/bin/$p" "$build/$p"
	chmod 755 "$stage/bin/$p"
done
for f in natter-start natterd.service S50natterd 60-natter.rules; do
	src=$here/init/$f
	[ -f "$boarddir/$f" ] && src=$boarddir/$f
	sed -e "s|@BOARD@|$board|g" -e "s|@NT_USER@|$nt_user|g" "$src" >"$stage/init/$f"
done
chmod 755 "$stage/init/natter-start" "$stage/init/S50natterd"
chmod 644 "$stage/init/natterd.service" "$stage/init/60-natter.rules"
install -m 644 "$boarddir/settings" "$stage/settings"
install -m 644 "$boarddir/README.md" "$stage/README.md"
install -m 755 "$here/install.sh" "$stage/install.sh"
echo "$version" >"$stage/VERSION"

# The Debian packages that hold the libraries natterd needs, for install.sh to name when
# one is missing on the box (found only where this machine has them, i.e. on Debian).
case "$arch" in
amd64) triplet=x86_64-linux-gnu ;;
arm64) triplet=aarch64-linux-gnu ;;
armhf) triplet=arm-linux-gnueabihf ;;
*) die "unknown arch '$arch'" ;;
esac
pkgs=()
for lib in $(readelf -d "$stage/bin/natterd" "$stage/bin/natterctl" |
	sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
	# dpkg knows a file by the path its package ships it at: /lib or /usr/lib.
	for dir in /usr/lib/$triplet /lib/$triplet; do
		pkg=$(dpkg -S "$dir/$lib" 2>/dev/null | sed -n '1s/:.*//p') || true
		if [ -n "$pkg" ]; then
			pkgs+=("$pkg")
			break
		fi
	done
done
depends=$(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ' | sed 's/ *$//')

{
	echo "# natter firmware bundle"
	echo "# board: $board"
	echo "# arch: $arch"
	echo "# version: $version"
	echo "# user: $nt_user"
	echo "# compatible: $compatible"
	echo "# depends: $depends"
	(cd "$stage" && find . -type f ! -name MANIFEST | sed 's|^\./||' | LC_ALL=C sort |
		xargs sha256sum)
} >"$stage/MANIFEST"

# The same sources give the same bundle: fixed owner, order and times.
epoch=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
tarball=$out/$name.tar.gz
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
	-C "$build/image" -cf - "$name" | gzip -n -9 >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "  IMAGE   $tarball ($(du -k "$tarball" | cut -f1) KiB)"
