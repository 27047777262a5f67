#!/bin/sh
# install.sh: installs or updates natter on a box from the bundle this script came in.
#   sh install.sh [--prefix DIR] [--init auto|systemd|sysv|none] [--no-start] [--force]
#   sh install.sh --root DIR ...   into DIR as the box's root, from another machine
#   sh install.sh --check          only check the bundle and that it fits this machine
#
# It checks the bundle against its MANIFEST, then that the bundle is for this board (the
# device tree's compatible) and this architecture (its programs run here), and refuses
# otherwise (--force skips the board checks, never the MANIFEST). Then:
#   PREFIX/releases/VERSION/    the bundle's files (PREFIX: /opt/natter)
#   PREFIX/current              a link to that release, switched in one step; the release
#                               before stays beside it for going back
#   /usr/local/bin/natterctl    a link to PREFIX/current/bin/natterctl
#   the service                 natterd.service (systemd) or /etc/init.d/S50natterd (BusyBox
#                               init) or /etc/init.d/natterd (sysvinit), enabled, restarted
#   /etc/udev/rules.d/60-natter.rules   where udev runs
#   the user natterd runs as    made if missing
# The data in /var/lib/natter is never touched: the service keeps it across updates.
# Runs with a POSIX sh and BusyBox or GNU tools.
set -eu

prefix=/opt/natter
root=
init=auto
start=1
force=0
check=0
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) prefix=${2:?--prefix needs a folder}; shift ;;
	--root) root=${2:?--root needs a folder}; shift ;;
	--init) init=${2:?--init needs auto, systemd, sysv or none}; shift ;;
	--no-start) start=0 ;;
	--force) force=1 ;;
	--check) check=1 ;;
	-h | --help)
		sed -n '2,19s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "install.sh: unknown argument '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
case "$init" in
auto | systemd | sysv | none) ;;
*) echo "install.sh: --init is auto, systemd, sysv or none, not '$init'" >&2; exit 2 ;;
esac
case "$prefix" in
/*) ;;
*) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;;
esac

die() {
	echo "install.sh: $*" >&2
	exit 1
}
[ -n "$root" ] || [ "$check" -eq 1 ] || [ "$(id -u)" -eq 0 ] ||
	die "run me as root (or with --root DIR)"
bundle=$(cd "$(dirname "$0")" && pwd)
cd "$bundle"

# The MANIFEST first: every file the bundle installs is listed there with its SHA-256.
[ -f MANIFEST ] || die "no MANIFEST in $bundle: not a natter bundle"
# BusyBox's sha256sum -c takes no comment lines; GNU's skips them.
if ! grep -v '^#' MANIFEST | sha256sum -c - >/dev/null 2>&1; then
	grep -v '^#' MANIFEST | sha256sum -c - 2>&1 | grep -v ': OK$' >&2 || true
	die "the bundle does not match its MANIFEST: download it again"
fi
field() {
	sed -n "s/^# $1: //p" MANIFEST | head -n 1
}
board=$(field board)
arch=$(field arch)
version=$(field version)
compatible=$(field compatible)
if [ -z "$board" ] || [ -z "$arch" ] || [ -z "$version" ]; then
	die "MANIFEST lacks board, arch or version"
fi
for f in bin/natterd bin/natterctl init/natter-start init/natterd.service init/S50natterd \
	settings VERSION; do
	grep -q "^[0-9a-f]\{64\}  $f\$" MANIFEST || die "MANIFEST does not list $f"
done
echo "install.sh: natter $version for $board ($arch), bundle checked"

# The architecture: the bundle's programs need that architecture's loader and libraries.
machine_arch() {
	# BusyBox has a dpkg of its own that knows no --print-architecture.
	if a=$(dpkg --print-architecture 2>/dev/null) && [ -n "$a" ]; then
		echo "$a"
		return
	fi
	case "$(uname -m)" in
	aarch64 | arm64) echo arm64 ;;
	armv7* | armv6* | armhf) echo armhf ;;
	x86_64 | amd64) echo amd64 ;;
	*) uname -m ;;
	esac
}
# What /proc/device-tree/compatible names, one a line (nothing on a machine without one).
machine_compatible() {
	for f in /proc/device-tree/compatible /sys/firmware/devicetree/base/compatible; do
		if [ -r "$f" ]; then
			tr '\0' '\n' <"$f"
			return
		fi
	done
}
check_machine() {
	here=$(machine_arch)
	if [ "$here" != "$arch" ]; then
		die "this bundle is for $arch; this machine runs $here programs"
	fi
	[ -n "$compatible" ] || return 0
	have=$(machine_compatible)
	for c in $compatible; do
		if printf '%s\n' "$have" | grep -qxF "$c"; then
			return 0
		fi
	done
	if [ "$force" -eq 1 ]; then
		echo "install.sh: this machine is not a $board (--force: going on)" >&2
		return 0
	fi
	# One line of the device tree's names, split on the newlines between them.
	# shellcheck disable=SC2086
	die "this bundle is for $board ($compatible); this machine's device tree says" \
		"'$(printf '%s ' $have)'. Use the bundle for this board, or --force"
}
[ -n "$root" ] || check_machine

dest=$root$prefix
current=$dest/current
# An update keeps the board: a bundle for another board over an install is refused.
if [ -f "$current/MANIFEST" ]; then
	old_board=$(sed -n 's/^# board: //p' "$current/MANIFEST" | head -n 1)
	old_version=$(sed -n 's/^# version: //p' "$current/MANIFEST" | head -n 1)
	if [ "$old_board" != "$board" ] && [ "$force" -eq 0 ]; then
		die "$prefix holds natter for $old_board; this bundle is for $board (--force)"
	fi
	echo "install.sh: updating $old_version to $version"
else
	old_version=
fi
if [ "$check" -eq 1 ]; then
	echo "install.sh: the bundle fits${root:+ $root}; nothing installed (--check)"
	exit 0
fi

# Copy what the MANIFEST lists into a new folder, try it, then switch in one step.
releases=$dest/releases
new=$releases/.$version.new
rm -rf "$new"
mkdir -p "$new"
grep -v '^#' MANIFEST | sed 's/^[0-9a-f]*  //' | while IFS= read -r f; do
	mkdir -p "$new/$(dirname "$f")"
	cp -p "$f" "$new/$f"
done
cp -p MANIFEST "$new/MANIFEST"
if [ -z "$root" ] && ! out=$("$new/bin/natterd" --help 2>&1); then
	rm -rf "$new"
	echo "$out" | head -n 5 >&2
	deps=$(field depends)
	die "natterd does not run here (above).${deps:+ It needs the packages: $deps}"
fi
if [ -e "$releases/$version" ]; then
	rm -rf "$releases/.$version.old"
	mv "$releases/$version" "$releases/.$version.old"
fi
mv "$new" "$releases/$version"
ln -s "releases/$version" "$dest/.current.new"
# mv -T replaces the link itself (without -T, mv would move the new link into the folder
# the old one points to). A BusyBox mv without -T swaps it in two steps.
if ! mv -T "$dest/.current.new" "$current" 2>/dev/null; then
	rm -f "$current"
	mv "$dest/.current.new" "$current"
fi
rm -rf "$releases/.$version.old"
# Keep the release before this one, for going back; drop the rest.
for r in "$releases"/*; do
	v=${r##*/}
	[ "$v" = "$version" ] || [ "$v" = "$old_version" ] || rm -rf "$r"
done
echo "install.sh: installed in $prefix/releases/$version; $prefix/current points to it"

mkdir -p "$root/usr/local/bin"
ln -sfn "$prefix/current/bin/natterctl" "$root/usr/local/bin/natterctl"

# The init files name PREFIX; the bundle's copies say @PREFIX@.
put() {
	mkdir -p "$(dirname "$root$2")"
	sed "s|@PREFIX@|$prefix|g" "$1" >"$root$2.new"
	chmod "$3" "$root$2.new"
	mv -f "$root$2.new" "$root$2"
	echo "install.sh: wrote $2"
}
if [ "$init" = auto ]; then
	if [ -d "$root/run/systemd/system" ]; then
		init=systemd
	elif [ -d "$root/etc/init.d" ]; then
		init=sysv
	else
		init=none
	fi
fi
service=
case "$init" in
systemd)
	put init/natterd.service /etc/systemd/system/natterd.service 644
	service=systemd
	;;
sysv)
	if [ -z "$root" ] && command -v update-rc.d >/dev/null 2>&1; then
		put init/S50natterd /etc/init.d/natterd 755
		update-rc.d natterd defaults >/dev/null
		service=/etc/init.d/natterd
	else
		put init/S50natterd /etc/init.d/S50natterd 755
		service=/etc/init.d/S50natterd
	fi
	;;
none) echo "install.sh: no service installed (--init none)" ;;
esac
if [ -d "$root/etc/udev" ]; then
	put init/60-natter.rules /etc/udev/rules.d/60-natter.rules 644
	if [ -z "$root" ] && command -v udevadm >/dev/null 2>&1; then
		udevadm control --reload >/dev/null 2>&1 || true
		udevadm trigger --subsystem-match=input >/dev/null 2>&1 || true
	fi
fi

# From here on, this machine only.
if [ -n "$root" ]; then
	echo "install.sh: done (into $root: no user made, nothing started)"
	exit 0
fi
"$current/init/natter-start" --add-user
if [ "$service" = systemd ]; then
	systemctl daemon-reload
	systemctl enable natterd.service >/dev/null 2>&1
fi
if [ "$start" -eq 0 ] || [ -z "$service" ]; then
	echo "install.sh: done (natterd not started)"
	exit 0
fi
if [ "$service" = systemd ]; then
	systemctl restart natterd.service
else
	"$service" restart
fi
echo "install.sh: done; natterd (re)started"
