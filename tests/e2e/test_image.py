"""The firmware bundle (tools/image/): mkimage.sh packs the build under test, install.sh
checks and installs it into a folder playing the box's root, and natter-start turns settings
into natterd's command line. The QEMU test (test_qemu_board.py) boots a real one.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

import natter

TOOLS = natter.REPO / "tools" / "image"
# The build's architecture, from its ELF header: Debian's name and the strip that reads it.
MACHINES = {0x3E: ("amd64", "strip"), 0xB7: ("arm64", "aarch64-linux-gnu-strip"),
	    0x28: ("armhf", "arm-linux-gnueabihf-strip")}


def build_arch():
	head = natter.NATTERD.read_bytes()[:20]
	return MACHINES[int.from_bytes(head[18:20], "little")]


def host_arch():
	return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
			      check=True).stdout.strip()


def mkimage(out, version="1.0-test", board="host", compatible=""):
	"""Packs the build under test as BOARD's bundle VERSION; returns the tarball's path."""
	arch, strip = build_arch()
	build = out / f"build-{board}"
	if not build.exists():
		build.mkdir(parents=True)
		for f in ("natterd", "natterctl"):
			shutil.copy(natter.BUILD / f, build / f)
		config = (natter.BUILD / ".config").read_text()
		config = re.sub(r'^CONFIG_NT_BOARD=".*"$', f'CONFIG_NT_BOARD="{board}"', config,
				flags=re.M)
		(build / ".config").write_text(config)
	proc = subprocess.run(["bash", str(TOOLS / "mkimage.sh"), "--board", board,
			       "--build", str(build), "--arch", arch, "--version", version,
			       "--out", str(out), "--strip", strip, "--compatible", compatible],
			      capture_output=True, text=True, timeout=60)
	assert proc.returncode == 0, proc.stderr
	return out / f"natter-{board}-{version}.tar.gz"


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
	"""packed(version, board, compatible): a bundle, packed once per module (mkimage.sh
	makes the same bundle from the same sources; test_same_sources_same_bundle checks)."""
	out = tmp_path_factory.mktemp("bundles")
	cache = {}

	def get(version="1.0-test", board="host", compatible=""):
		key = (version, board, compatible)
		if key not in cache:
			cache[key] = mkimage(out / str(len(cache)), version, board, compatible)
		return cache[key]
	return get


def unpack(tarball, into):
	with tarfile.open(tarball) as t:
		t.extractall(into)
	(top,) = [p for p in Path(into).iterdir() if p.name.startswith("natter-")]
	return top


def install(bundle, *args, check=True):
	proc = subprocess.run(["sh", str(bundle / "install.sh"), *args], capture_output=True,
			      text=True, timeout=60)
	if check:
		assert proc.returncode == 0, proc.stdout + proc.stderr
	return proc


def manifest_field(bundle, key):
	m = re.search(rf"^# {key}: (.*)$", (bundle / "MANIFEST").read_text(), re.M)
	return m.group(1) if m else None


@pytest.fixture
def bundle(tmp_path, packed):
	return unpack(packed(), tmp_path / "unpacked")


def test_bundle_layout_and_manifest(bundle):
	files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
	assert files == ["MANIFEST", "README.md", "VERSION", "bin/natterctl", "bin/natterd",
			 "init/60-natter.rules", "init/S50natterd", "init/natter-start",
			 "init/natterd.service", "install.sh", "settings"]
	assert manifest_field(bundle, "board") == "host"
	assert manifest_field(bundle, "arch") == build_arch()[0]
	assert manifest_field(bundle, "version") == "1.0-test"
	assert (bundle / "VERSION").read_text() == "1.0-test\n"
	# Every other file, with its SHA-256, in the format sha256sum -c reads.
	listed = {}
	for line in (bundle / "MANIFEST").read_text().splitlines():
		if not line.startswith("#"):
			digest, name = line.split("  ", 1)
			listed[name] = digest
	assert sorted(listed) == [f for f in files if f != "MANIFEST"]
	for name, digest in listed.items():
		assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest, name
	proc = subprocess.run(["sha256sum", "-c", "MANIFEST"], cwd=bundle, capture_output=True,
			      text=True)
	assert proc.returncode == 0, proc.stdout + proc.stderr
	# Stripped, and filled in for the board (the prefix is install.sh's to fill in).
	sections = subprocess.run(["readelf", "-S", str(bundle / "bin" / "natterd")],
				  capture_output=True, text=True, check=True).stdout
	assert ".symtab" not in sections and ".debug_info" not in sections
	unit = (bundle / "init" / "natterd.service").read_text()
	assert "board host" in unit and "@PREFIX@/current/init/natter-start" in unit
	assert "NATTER_USER=natter\n" in (bundle / "init" / "natter-start").read_text()


def test_same_sources_same_bundle(tmp_path):
	a = mkimage(tmp_path / "a").read_bytes()
	b = mkimage(tmp_path / "b").read_bytes()
	assert a == b


def test_install_update_and_keep_one_release_back(tmp_path, packed):
	root = tmp_path / "root"
	(root / "etc" / "init.d").mkdir(parents=True)
	(root / "etc" / "udev").mkdir()
	(root / "var" / "lib" / "natter").mkdir(parents=True)
	(root / "var" / "lib" / "natter" / "data.mdb").write_bytes(b"the office's accounts")
	opt = root / "opt" / "natter"
	for n, version in enumerate(("1.0", "1.1", "1.2")):
		out = install(unpack(packed(version), tmp_path / f"u{n}"),
			      "--root", str(root), "--init", "sysv")
		assert os.readlink(opt / "current") == f"releases/{version}", out.stdout
	assert "updating 1.1 to 1.2" in out.stdout
	# The release before stays for going back; older ones go.
	assert sorted(p.name for p in (opt / "releases").iterdir()) == ["1.1", "1.2"]
	assert (opt / "current" / "VERSION").read_text() == "1.2\n"
	assert os.readlink(root / "usr/local/bin/natterctl") == "/opt/natter/current/bin/natterctl"
	script = (root / "etc/init.d/S50natterd").read_text()
	assert "START=/opt/natter/current/init/natter-start" in script
	assert os.access(root / "etc/init.d/S50natterd", os.X_OK)
	rules = (root / "etc/udev/rules.d/60-natter.rules").read_text()
	assert 'SYMLINK+="input/natter-button"' in rules
	assert (root / "var/lib/natter/data.mdb").read_bytes() == b"the office's accounts"


def test_install_systemd_unit_with_another_prefix(tmp_path, bundle):
	root = tmp_path / "root"
	install(bundle, "--root", str(root), "--init", "systemd", "--prefix", "/usr/local/natter")
	unit = (root / "etc/systemd/system/natterd.service").read_text()
	assert "ExecStart=/usr/local/natter/current/init/natter-start" in unit
	assert (root / "usr/local/natter/current/bin/natterd").is_file()


def test_install_refuses_a_damaged_bundle(tmp_path, bundle):
	with open(bundle / "bin" / "natterctl", "ab") as f:
		f.write(b"\0")
	root = tmp_path / "root"
	proc = install(bundle, "--root", str(root), check=False)
	assert proc.returncode == 1
	assert "bin/natterctl: FAILED" in proc.stderr
	assert "does not match its MANIFEST" in proc.stderr
	assert not (root / "opt").exists()


def test_install_refuses_a_manifest_without_the_programs(tmp_path, bundle):
	m = bundle / "MANIFEST"
	m.write_text("".join(l for l in m.read_text().splitlines(True) if "bin/natterd" not in l))
	proc = install(bundle, "--root", str(tmp_path / "root"), check=False)
	assert proc.returncode == 1 and "MANIFEST does not list bin/natterd" in proc.stderr


def test_check_arch_and_board_against_this_machine(tmp_path, packed):
	arch = build_arch()[0]
	plain = unpack(packed(), tmp_path / "u1")
	proc = install(plain, "--check", check=False)
	if arch == host_arch():
		assert proc.returncode == 0 and "nothing installed (--check)" in proc.stdout, \
			proc.stderr
	else:
		assert proc.returncode == 1
		assert f"this bundle is for {arch}; this machine runs {host_arch()}" in proc.stderr
	# A board named by its device tree: this machine has none that says so.
	pi = unpack(packed(board="raspberrypi4", compatible="raspberrypi,4-model-b"),
		    tmp_path / "u2")
	if arch == host_arch():
		proc = install(pi, "--check", check=False)
		assert proc.returncode == 1
		assert "this bundle is for raspberrypi4 (raspberrypi,4-model-b)" in proc.stderr
		assert install(pi, "--check", "--force").returncode == 0
	# Another architecture's bundle (its MANIFEST says so; the files still match).
	m = plain / "MANIFEST"
	other = "armhf" if host_arch() != "armhf" else "arm64"
	m.write_text(m.read_text().replace(f"# arch: {arch}\n", f"# arch: {other}\n"))
	proc = install(plain, "--check", check=False)
	assert proc.returncode == 1
	assert f"this bundle is for {other}; this machine runs {host_arch()}" in proc.stderr


def test_update_refuses_another_board(tmp_path, packed):
	root = tmp_path / "root"
	install(unpack(packed(), tmp_path / "u1"), "--root", str(root),
		"--init", "none")
	bbb = unpack(packed(board="beaglebone-black"), tmp_path / "u2")
	proc = install(bbb, "--root", str(root), "--init", "none", check=False)
	assert proc.returncode == 1
	assert "/opt/natter holds natter for host; this bundle is for beaglebone-black" in \
		proc.stderr
	install(bbb, "--root", str(root), "--init", "none", "--force")
	assert "board: beaglebone-black" in (root / "opt/natter/current/MANIFEST").read_text()


def start_args(bundle, tmp_path, settings):
	"""natter-start --print with the box's settings file saying settings."""
	box = tmp_path / "box-settings"
	box.write_text(settings)
	proc = subprocess.run(["sh", str(bundle / "init" / "natter-start"), "--print"],
			      capture_output=True, text=True, timeout=30,
			      env={**os.environ, "NATTER_SETTINGS": str(box)})
	return proc.returncode, proc.stdout.split("\n")[:-1], proc.stderr


def test_start_command_line_from_settings(tmp_path, bundle):
	rc, args, err = start_args(bundle, tmp_path, "")
	assert rc == 0, err
	# No network option: natterd's own settings (natterctl set net.*) choose it.
	assert args == [str(bundle / "bin" / "natterd"), "--datadir", "/var/lib/natter",
			"--domain", "natter.local", "--c2s-port", "5222", "--c2s-tls-port", "5223"]
	# The box's own file wins; lwIP options only with lwIP; NATTER_ARGS keeps its words,
	# an empty one too.
	rc, args, err = start_args(bundle, tmp_path, "\n".join([
		"NATTER_DOMAIN=chat.example.org", "NATTER_NET=lwip", "NATTER_LWIP_IF=eth1",
		"NATTER_LWIP_IP4=192.0.2.10/24", "NATTER_C2S_TLS_PORT=",
		"NATTER_ARGS=\"--led '' -v\"",
		""]))
	assert rc == 0, err
	assert args[1:] == ["--datadir", "/var/lib/natter", "--domain", "chat.example.org",
			    "--net", "lwip", "--lwip-if", "eth1", "--lwip-ip4", "192.0.2.10/24",
			    "--c2s-port", "5222", "--led", "", "-v"]
	rc, args, err = start_args(bundle, tmp_path, "NATTER_NET=kernel\n")
	assert rc == 1 and "NATTER_NET is epoll or lwip, not 'kernel'" in err
	rc, args, err = start_args(bundle, tmp_path, "NATTER_DOMAIN=\n")
	assert rc == 1 and "NATTER_DOMAIN is not set" in err
