#!/usr/bin/env python3
"""Boots a board's firmware bundle in QEMU (make qemu, make test-qemu).

  qemu.py build --board NAME --bundle FILE.tar.gz --dir DIR
      Downloads the guest's Debian kernel and BusyBox (apt-get download, once, into DIR/debs;
      they are unpacked, never installed) and writes DIR/initramfs.gz: BusyBox, the kernel
      modules QEMU's devices need, the libraries natterd and natterctl link with (from this
      machine's multiarch folders), the guest's start files (tools/image/guest/) and the
      bundle itself, which the guest unpacks and installs with its install.sh.
  qemu.py run --board NAME --dir DIR [--port N] [--tls-port N] [--web-port N] [--net lwip|epoll]
      Boots it under TCG with the serial console on this terminal (Ctrl-A X quits QEMU;
      `poweroff` in the guest stops natterd first). The host's 127.0.0.1:PORT and TLS-PORT
      are forwarded to the guest's 5222 and 5223 on the NIC natterd serves on.

The guest has two NICs on two QEMU user networks that reach nothing but the host's
forwarded ports (restrict=on): eth0 (10.0.2.15) for the kernel's sockets, eth1 (10.0.3.15)
for natterd's own TCP/IP stack; the board's settings pick one (--net overrides them).
tests/e2e/test_qemu_board.py uses guest_argv() to boot the same guest.
"""
import argparse
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# What each board that QEMU can play needs. One for now: arm64 on the "virt" machine.
GUESTS = {
	"qemu-arm64": {
		"arch": "arm64",
		"triplet": "aarch64-linux-gnu",
		"qemu": "qemu-system-aarch64",
		# cortex-a57 rather than "max": TCG emulates pointer authentication slowly.
		"machine": ["-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-m", "512"],
		"console": "ttyAMA0",
		"kernel_meta": "linux-image-arm64",
		# Debian builds these as modules: the PCI transport and NIC of virtio, QEMU's
		# random number source (so that the first TLS key need not wait for entropy)
		# and the i6300esb watchdog.
		"modules": ["virtio_pci", "virtio_net", "virtio_rng", "i6300esb"],
		"devices": ["-device", "virtio-rng-pci", "-device", "i6300esb"],
	},
}
GUEST_PORTS = (5222, 5223, 5281)	# STARTTLS, direct TLS, the web page (HTTPS)
NETS = {
	# name: (QEMU user network, the guest's address on it, MAC)
	"epoll": ("10.0.2.0/24", "10.0.2.15", "52:54:00:4e:54:01"),
	"lwip": ("10.0.3.0/24", "10.0.3.15", "52:54:00:4e:54:02"),
}


class Error(Exception):
	pass


def guest(board):
	if board not in GUESTS:
		raise Error(f"QEMU plays no board '{board}' (known: {', '.join(GUESTS)})")
	return GUESTS[board]


def run(argv, **kw):
	return subprocess.run(argv, check=True, text=True, errors="replace", capture_output=True,
			      **kw).stdout


# Downloading -------------------------------------------------------------------------------

def kernel_package(g):
	"""The versioned kernel package Debian's meta package points at, e.g.
	linux-image-6.1.0-56-arm64."""
	meta = f"{g['kernel_meta']}:{g['arch']}"
	try:
		out = run(["apt-cache", "depends", meta])
	except subprocess.CalledProcessError as e:
		out = e.stdout or ""
	m = re.search(r"Depends:\s+(linux-image-[^\s:]+)", out)
	if not m:
		raise Error(f"apt knows no {meta}: run `make deps DEPS=qemu ARCH={g['arch']}` "
			    "(it adds the architecture and updates the package lists)")
	return m.group(1)


def fetch(pkg, arch, debs):
	"""DIR/debs/PKG_*_ARCH.deb, downloaded unless it is there."""
	have = sorted(glob.glob(str(debs / f"{pkg}_*_{arch}.deb")))
	if have:
		return Path(have[-1])
	debs.mkdir(parents=True, exist_ok=True)
	print(f"  FETCH   {pkg}:{arch}", flush=True)
	try:
		run(["apt-get", "download", f"{pkg}:{arch}"], cwd=debs)
	except subprocess.CalledProcessError as e:
		raise Error(f"apt-get download {pkg}:{arch} failed:\n{e.stderr}")
	have = sorted(glob.glob(str(debs / f"{pkg}_*_{arch}.deb")))
	if not have:
		raise Error(f"apt-get download {pkg}:{arch} left no .deb in {debs}")
	return Path(have[-1])


def unpack(deb, into):
	"""The .deb's files under into/ (again only when the .deb changed)."""
	stamp = into / ".from"
	if stamp.exists() and stamp.read_text() == deb.name:
		return into
	shutil.rmtree(into, ignore_errors=True)
	into.mkdir(parents=True)
	run(["dpkg-deb", "-x", str(deb), str(into)])
	stamp.write_text(deb.name)
	return into


# The initramfs -------------------------------------------------------------------------------

class Cpio:
	"""A cpio archive in the kernel's "newc" format, every entry owned by root."""

	def __init__(self):
		self.out = bytearray()
		self.ino = 1
		self.names = set()

	def _entry(self, name, mode, data=b"", rdev=(0, 0)):
		name = name.lstrip("/")
		if name in self.names:
			raise Error(f"initramfs: {name} twice")
		self.names.add(name)
		raw = name.encode() + b"\0"
		# ino mode uid gid nlink mtime size devmajor devminor rdevmajor rdevminor
		# namesize check
		fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, *rdev, len(raw), 0)
		self.ino += 1
		self.out += b"070701" + b"".join(b"%08x" % f for f in fields) + raw
		self.out += b"\0" * (-len(self.out) % 4) + data
		self.out += b"\0" * (-len(self.out) % 4)

	def dir(self, name):
		if not name.strip("/"):
			return
		parts = name.strip("/").split("/")
		for i in range(1, len(parts) + 1):
			sub = "/".join(parts[:i])
			if sub not in self.names:
				self._entry(sub, 0o040755)

	def file(self, name, data, mode=0o644):
		self.dir(os.path.dirname(name.strip("/")))
		self._entry(name, 0o100000 | mode, data)

	def symlink(self, name, target):
		self.dir(os.path.dirname(name.strip("/")))
		self._entry(name, 0o120777, target.encode())

	def chardev(self, name, major, minor):
		self.dir(os.path.dirname(name.strip("/")))
		self._entry(name, 0o020600, rdev=(major, minor))

	def finish(self):
		self._entry("TRAILER!!!", 0)
		return bytes(self.out)


def elf_needs(path):
	"""(program interpreter or None, [NEEDED sonames]) of an ELF file."""
	interp = re.search(r"program interpreter: ([^\]]+)\]", run(["readelf", "-lW", str(path)]))
	needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
			    run(["readelf", "-dW", str(path)]))
	return (interp.group(1) if interp else None), needed


def add_libraries(cpio, programs, triplet):
	"""Every shared library the programs need, transitively, from this machine's multiarch
	folders, at /lib/TRIPLET/SONAME (where the loader looks without a cache), and the
	loader at the path the programs name."""
	dirs = [Path("/usr/lib") / triplet, Path("/lib") / triplet]
	todo, done = list(programs), set()
	while todo:
		interp, needed = elf_needs(todo.pop())
		if interp and interp not in done:
			done.add(interp)
			cpio.file(interp, Path(interp).resolve().read_bytes(), 0o755)
		for so in needed:
			if so in done:
				continue
			done.add(so)
			src = next((d / so for d in dirs if (d / so).exists()), None)
			if src is None:
				raise Error(f"{so} is not in {' or '.join(map(str, dirs))}: "
					    f"run `make deps ARCH=...` for the board's arch")
			cpio.file(f"/lib/{triplet}/{so}", src.resolve().read_bytes(), 0o755)
			todo.append(src.resolve())


def modinfo_depends(ko):
	m = re.search(r"\]\s+depends=(\S*)", run(["readelf", "-p", ".modinfo", str(ko)]))
	return [d for d in (m.group(1).split(",") if m else []) if d]


def add_modules(cpio, kernel, wanted):
	"""The modules wanted and those they depend on, and /etc/modules.load listing them in an
	order insmod can follow."""
	(kdir,) = list((kernel / "lib" / "modules").iterdir())
	index = {}
	for ko in kdir.rglob("*.ko"):
		index[ko.name[:-3].replace("-", "_")] = ko
	order = []

	def visit(name, path=()):
		if name in order:
			return
		if name in path:
			raise Error(f"modules depend on each other in a circle: {path}")
		if name not in index:
			raise Error(f"no module {name} in {kdir}")
		for dep in modinfo_depends(index[name]):
			visit(dep, path + (name,))
		order.append(name)

	for name in wanted:
		visit(name)
	load = []
	for name in order:
		rel = index[name].relative_to(kernel)
		cpio.file(f"/{rel}", index[name].read_bytes())
		load.append(f"/{rel}\n")
	cpio.file("/etc/modules.load", "".join(load).encode())
	return kdir.name


def build(board, bundle, out):
	g = guest(board)
	bundle = Path(bundle)
	if not bundle.is_file():
		raise Error(f"no bundle {bundle}: make image BOARD={board} first")
	debs = out / "debs"
	kernel = unpack(fetch(kernel_package(g), g["arch"], debs), out / "kernel")
	busybox = unpack(fetch("busybox-static", g["arch"], debs), out / "busybox")

	cpio = Cpio()
	for d in ("/dev", "/proc", "/sys", "/run", "/tmp", "/root", "/var", "/opt"):
		cpio.dir(d)
	cpio.chardev("/dev/console", 5, 1)
	cpio.file("/bin/busybox", (busybox / "bin" / "busybox").read_bytes(), 0o755)
	for name, dest, mode in (("init", "/init", 0o755),
				 ("inittab", "/etc/inittab", 0o644),
				 ("rcS", "/etc/init.d/rcS", 0o755),
				 ("rcK", "/etc/init.d/rcK", 0o755),
				 ("profile", "/etc/profile", 0o644)):
		cpio.file(dest, (HERE / "guest" / name).read_bytes(), mode)
	cpio.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
	cpio.file("/etc/group", b"root:x:0:\n")
	kver = add_modules(cpio, kernel, g["modules"])

	# The programs inside the bundle tell which libraries the guest needs.
	progs = out / "programs"
	shutil.rmtree(progs, ignore_errors=True)
	progs.mkdir(parents=True)
	with tarfile.open(bundle) as tar:
		for m in tar.getmembers():
			if m.isfile() and re.fullmatch(r"[^/]+/bin/[^/]+", m.name):
				(progs / Path(m.name).name).write_bytes(tar.extractfile(m).read())
	if not (progs / "natterd").exists():
		raise Error(f"{bundle} holds no bin/natterd")
	add_libraries(cpio, sorted(progs.iterdir()), g["triplet"])
	cpio.file(f"/opt/{bundle.name}", bundle.read_bytes())

	vmlinuz = next((kernel / "boot").glob("vmlinuz-*"))
	shutil.copyfile(vmlinuz, out / "vmlinuz")
	data = gzip.compress(cpio.finish(), compresslevel=6, mtime=0)
	(out / "initramfs.gz.tmp").write_bytes(data)
	os.replace(out / "initramfs.gz.tmp", out / "initramfs.gz")
	print(f"  QEMU    {out}/initramfs.gz ({len(data) // 1024} KiB, kernel {kver})")


# Booting -------------------------------------------------------------------------------------

def guest_argv(board, out, *, port, tls_port, web_port=None, net=None, batch=False):
	"""The QEMU command line that boots DIR's kernel and initramfs. net None: the board's
	settings choose natterd's network, and the ports go to the NIC they name."""
	g = guest(board)
	out = Path(out)
	for f in ("vmlinuz", "initramfs.gz"):
		if not (out / f).exists():
			raise Error(f"no {out / f}: run qemu.py build (make qemu does)")
	if net is None:
		settings = (REPO / "board" / board / "settings").read_text()
		m = re.search(r"^NATTER_NET=(\w+)", settings, re.M)
		net = m.group(1) if m else "epoll"
	if net not in NETS:
		raise Error(f"--net is {' or '.join(NETS)}, not '{net}'")
	append = f"console={g['console']} panic=-1 quiet natter.net={net}"
	argv = [g["qemu"], *g["machine"], "-kernel", str(out / "vmlinuz"),
		"-initrd", str(out / "initramfs.gz"), "-append", append, "-no-reboot"]
	for i, (name, (subnet, addr, mac)) in enumerate(NETS.items()):
		fwd = ""
		if name == net:
			fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-{addr}:{gp}"
				      for h, gp in zip((port, tls_port, web_port), GUEST_PORTS)
				      if h is not None)
		# No boot ROM: the kernel comes from -kernel (and Debian's ipxe-qemu, which has
		# the ROM, is only a recommendation of qemu-system).
		argv += ["-netdev", f"user,id=n{i},net={subnet},restrict=on{fwd}",
			 "-device", f"virtio-net-pci,netdev=n{i},mac={mac},romfile="]
	argv += g["devices"]
	if batch:
		argv += ["-display", "none", "-serial", "stdio", "-monitor", "none"]
	else:
		argv += ["-nographic"]
	return argv


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	sub = ap.add_subparsers(dest="cmd", required=True)
	b = sub.add_parser("build")
	b.add_argument("--board", required=True)
	b.add_argument("--bundle", required=True)
	b.add_argument("--dir", required=True)
	r = sub.add_parser("run")
	r.add_argument("--board", required=True)
	r.add_argument("--dir", required=True)
	r.add_argument("--port", type=int, default=15222)
	r.add_argument("--tls-port", type=int, default=15223)
	r.add_argument("--web-port", type=int, default=15281)
	r.add_argument("--net", choices=sorted(NETS), default=None)
	a = ap.parse_args()
	try:
		if a.cmd == "build":
			Path(a.dir).mkdir(parents=True, exist_ok=True)
			build(a.board, a.bundle, Path(a.dir))
			return 0
		argv = guest_argv(a.board, a.dir, port=a.port, tls_port=a.tls_port,
				  web_port=a.web_port, net=a.net)
	except Error as e:
		print(f"qemu.py: {e}", file=sys.stderr)
		return 1
	print(f"\n  natter on QEMU: XMPP clients connect to 127.0.0.1 port {a.port} (STARTTLS) "
	      f"or {a.tls_port} (direct TLS).\n  The box's first-run page: https://127.0.0.1:"
	      f"{a.web_port}/\n  Ctrl-A X quits QEMU; `poweroff` in the guest "
	      "stops natterd first.\n", flush=True)
	os.execvp(argv[0], argv)


if __name__ == "__main__":
	sys.exit(main())
