"""The board's hardware through the real natterd, on a fake device tree in the test's folder.

ROOT/dev/watchdog is a plain file (each pet appends a byte, the magic close a 'V'),
ROOT/sys/class/leds/status holds the LED's attribute files (trigger, max_brightness, and the
delay_on and delay_off that a real kernel makes when the trigger becomes "timer"), and
ROOT/dev/input/event0 is a FIFO this test writes struct input_event records into, as the
gpio-keys driver would.
"""
import os
import re
import shlex
import struct
import subprocess
import time
from pathlib import Path

import pytest

import natter
from natter import EXEC, SLOW, jid, natterctl

KEY_RESTART = 0x198
EV_SYN, EV_KEY = 0, 1
HOLD_MS = 200
FACTORY_SHOW_S = 3.0		# BOARD_FACTORY_SHOW_MS
BUTTON_RETRY_S = 3.0		# BUTTON_RETRY_MS

# What trigger, delay_on and delay_off hold for each state (drivers/led.h): the timer trigger
# shows delay_off 0 as steady on and delay_on 0 as steady off.
SETUP = ("timer", "100", "1900")
RUNNING = ("timer", "1", "0")
ERROR = ("timer", "100", "100")
FACTORY = ("timer", "50", "50")
OFF = ("timer", "0", "1000")


def _event_format():
	"""struct input_event of the daemon's architecture: a timeval of two longs (two 32-bit
	words on armhf, run under qemu-arm), then type, code and value."""
	if EXEC and os.path.basename(EXEC[0]) == "qemu-arm":
		return "=IIHHi"
	return "@llHHi"


EVENT = _event_format()
USER = natter.UNPRIV_USER	# natterd drops to this user in the LED privilege test


class Tree:
	def __init__(self, root):
		self.root = root
		self.wd = root / "dev" / "watchdog"
		self.fifo = root / "dev" / "input" / "event0"
		self.led = root / "sys" / "class" / "leds" / "status"
		self.fifo.parent.mkdir(parents=True)
		self.led.mkdir(parents=True)
		self.wd.write_bytes(b"")
		os.mkfifo(self.fifo)
		(self.led / "trigger").write_text("[none] timer heartbeat\n")
		for name in ("delay_on", "delay_off"):
			(self.led / name).write_text("500\n")
		(self.led / "max_brightness").write_text("255\n")
		for f in self.led.iterdir():	# as sysfs has them: root's, 0644
			f.chmod(0o644)
		self.writer = None

	def args(self, hold_ms=HOLD_MS):
		return ["--sys-root", str(self.root), "--watchdog", "/dev/watchdog",
			"--watchdog-timeout-s", "2", "--led", "status",
			"--button", "/dev/input/event0", "--button-hold-ms", str(hold_ms)]

	def led_state(self):
		def read(name):
			# natterd truncates and writes at offset 0: the file is exactly one value
			text = (self.led / name).read_text()
			assert text == "" or (text.endswith("\n") and text.count("\n") == 1), text
			return text.strip()
		return (read("trigger"), read("delay_on"), read("delay_off"))

	def wait_led(self, want, timeout=5.0):
		deadline = time.monotonic() + timeout * SLOW
		while True:
			got = self.led_state()
			if got == want:
				return
			if time.monotonic() > deadline:
				raise AssertionError(f"LED shows {got}, not {want}")
			time.sleep(0.05)

	def press(self, value):
		"""One key event and its SYN_REPORT, written as the kernel would deliver them."""
		if self.writer is None:
			deadline = time.monotonic() + (BUTTON_RETRY_S + 5.0) * SLOW
			while True:
				try:	# ENXIO until natterd has the FIFO open for reading
					self.writer = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
					break
				except OSError:
					if time.monotonic() > deadline:
						raise
					time.sleep(0.05)
		data = (struct.pack(EVENT, 0, 0, EV_KEY, KEY_RESTART, value) +
			struct.pack(EVENT, 0, 0, EV_SYN, 0, 0))
		assert os.write(self.writer, data) == len(data)

	def hang_up(self):
		os.close(self.writer)
		self.writer = None


@pytest.fixture
def tree(tmp_path):
	t = Tree(tmp_path / "root")
	yield t
	if t.writer is not None:
		os.close(t.writer)


def wait_log(d, text, timeout=5.0, count=1):
	deadline = time.monotonic() + timeout * SLOW
	while d.log().count(text) < count:
		if time.monotonic() > deadline:
			raise AssertionError(f"no {text!r} (x{count}) in the log:\n{d.log()[-3000:]}")
		time.sleep(0.05)


def test_led_follows_accounts_and_watchdog_is_petted(daemon_factory, tree):
	d = daemon_factory(users=False, extra=tree.args())
	tree.wait_led(SETUP)

	# Petted every 666 ms while it runs.
	size0 = tree.wd.stat().st_size
	assert size0 >= 1
	time.sleep(2.2)
	size1 = tree.wd.stat().st_size
	assert size1 >= size0 + 2, (size0, size1)

	# The first account: "running" at once, without a restart.
	natter.add_user(d.datadir, "alice", natter.USERS["alice"])
	tree.wait_led(RUNNING)

	assert d.stop() == 0
	data = tree.wd.read_bytes()
	assert data.endswith(b"V") and set(data[:-1]) == {ord(".")}, data
	assert tree.led_state() == OFF

	# After a restart with an account in the store: "running" again, petting again.
	tree.wd.write_bytes(b"")	# natterd writes from the start of the file it opens
	d2 = daemon_factory.restart(d)
	tree.wait_led(RUNNING)
	time.sleep(1.0)
	assert tree.wd.stat().st_size >= 2
	assert d2.stop() == 0
	data = tree.wd.read_bytes()
	assert data.endswith(b"V") and set(data[:-1]) == {ord(".")}, data


def test_factory_reset_from_the_button(daemon_factory, xmpp, tree):
	d = daemon_factory(extra=tree.args())
	tree.wait_led(RUNNING)
	cert = d.cert.read_bytes()
	key = (d.datadir / "tls" / "key.pem").read_bytes()
	alice = xmpp.run(xmpp.login("alice"))

	# A short press shows the setup code (natterctl shows the same one) and changes
	# nothing else. (Reopening the first-run page comes with the web page.)
	tree.press(1)
	tree.press(0)
	wait_log(d, "reset button: short press: the setup code is ")
	code = re.search(r"the setup code is ([A-Z0-9]{4}-[A-Z0-9]{4})", d.log()).group(1)
	assert natterctl(d.datadir, "setup-code").stdout.strip() == code
	assert jid("alice") in natterctl(d.datadir, "list").stdout
	assert not alice.gone.done()

	# Held past the hold time: the factory pattern while held, then everything is wiped.
	tree.press(1)
	tree.press(2)		# autorepeat changes nothing
	wait_log(d, "reset button: factory reset done")
	assert tree.led_state() == FACTORY
	tree.press(0)

	async def after():
		await alice.wait_gone()
		assert alice.stream_error_conditions() == ["not-authorized"]
		err = await xmpp.login_fails("alice", natter.USERS["alice"], mech="PLAIN")
		assert err.conditions == ["not-authorized"], str(err)
		err = await xmpp.login_fails("bob", natter.USERS["bob"], mech="SCRAM-SHA-256")
		assert err.conditions == ["not-authorized"], str(err)
	xmpp.run(after())
	assert natterctl(d.datadir, "list").stdout.strip() == ""
	assert d.cert.read_bytes() == cert
	assert (d.datadir / "tls" / "key.pem").read_bytes() == key
	tree.wait_led(SETUP, timeout=FACTORY_SHOW_S + 3.0)
	assert d.log().count("reset button: short press") == 1	# the long press is not one
	# The wipe took the setup code with the settings: the box has a new one.
	assert natterctl(d.datadir, "setup-code").stdout.strip() != code

	# The box is set up again from scratch.
	natter.add_user(d.datadir, "carol", "carol-new-pw")
	tree.wait_led(RUNNING)
	carol = xmpp.run(xmpp.login("carol", "carol-new-pw"))
	assert carol.boundjid.bare == jid("carol")

	# The button's device hangs up: natterd keeps running and reopens it.
	tree.hang_up()
	wait_log(d, "hung up; reopening it")
	tree.press(1)		# waits until natterd has reopened the FIFO
	tree.press(0)
	wait_log(d, "reset button: short press", count=2)
	assert d.running()


def test_failed_start_shows_error(tmp_path, tree):
	datadir = tmp_path / "broken"
	datadir.mkdir()
	(datadir / "data.mdb").write_bytes(b"this is not an LMDB file" * 512)
	d = natter.Daemon(datadir, extra=tree.args())
	with pytest.raises(natter.DaemonError):
		d.start()
	assert d.returncode == 1
	assert natter.sanitizer_report(d.log()) is None, d.log()
	assert tree.led_state() == ERROR
	assert tree.wd.read_bytes() == b""	# never armed: natterd did not get going


def test_led_keeps_working_after_dropping_root(unprivileged, daemon_factory, tree):
	"""natterd opens the LED as root and then runs as its own user, to whom the LED's files
	(root's, 0644) are read-only: every state after that goes through what it kept open."""
	pw, base = unprivileged
	for f in tree.led.iterdir():
		st = f.stat()
		assert st.st_uid == 0 and st.st_mode & 0o777 == 0o644, f
	d = daemon_factory(datadir=base / "data", users=False, extra=[*tree.args(), "--user", USER])
	assert f"running as {USER}" in d.log()
	uids = re.search(r"^Uid:\s+(.*)$", Path(f"/proc/{d.proc.pid}/status").read_text(), re.M)
	assert [int(x) for x in uids.group(1).split()] == [pw.pw_uid] * 4
	tree.wait_led(SETUP)
	natter.add_user(d.datadir, "alice", natter.USERS["alice"])
	tree.wait_led(RUNNING)
	assert d.stop() == 0
	assert tree.led_state() == OFF		# written as the unprivileged user, on the way out
	assert not re.search(r"(error|warn) +led: ", d.log()), d.log()[-3000:]
	for f in tree.led.iterdir():		# still root's, and no other file made
		assert f.stat().st_uid == 0, f
	assert sorted(f.name for f in tree.led.iterdir()) == [
		"delay_off", "delay_on", "max_brightness", "trigger"]


def test_missing_parts_are_logged_and_skipped(daemon_factory, xmpp, tmp_path):
	root = tmp_path / "empty-root"
	root.mkdir()
	d = daemon_factory(extra=["--sys-root", str(root), "--watchdog", "/dev/watchdog",
				  "--led", "status", "--button", "/dev/input/event0"])
	log = d.log()
	assert f"led: {root}/sys/class/leds/status: No such file or directory" in log
	assert f"watchdog: {root}/dev/watchdog: No such file or directory" in log
	assert f"button: {root}/dev/input/event0: No such file or directory" in log
	alice = xmpp.run(xmpp.login("alice"))
	assert alice.boundjid.bare == jid("alice")
	assert not (root / "dev").exists()	# nothing was created in its place


def test_bad_board_options_are_refused(tmp_path):
	for args in (["--button-hold-ms", "0"], ["--watchdog-timeout-s", "1"],
		     ["--button-hold-ms", "x"]):
		d = natter.Daemon(tmp_path / "data", extra=args)
		with pytest.raises(natter.DaemonError):
			d.start()
		assert d.returncode == 2, d.log()
		assert "must be a number" in d.log()


def test_init_script_log_is_root_only(unprivileged, tmp_path):
	"""The box's log file shows the setup code (a short press writes it there), so the init
	script makes it readable by root only, and tightens one an older image made."""
	pw, base = unprivileged
	top = tmp_path / "natter"
	(top / "init").mkdir(parents=True)
	(top / "bin").mkdir()
	script = (natter.REPO / "tools" / "image" / "init" / "natter-start").read_text()
	(top / "init" / "natter-start").write_text(
		script.replace("@NT_USER@", USER).replace("@BOARD@", "host"))
	if natter.EXEC:
		# A cross build's natterd runs under qemu-user, which the script cannot know.
		wrapper = top / "bin" / "natterd"
		wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(natter.EXEC)} '
				   f'{shlex.quote(str(natter.NATTERD))} "$@"\n')
		wrapper.chmod(0o755)
	else:
		(top / "bin" / "natterd").symlink_to(natter.NATTERD)
	(top / "settings").write_text(f"NATTER_DOMAIN={natter.DOMAIN}\n"
				      f"NATTER_DATADIR={base / 'data'}\n"
				      "NATTER_ARGS=--no-such-option\n")
	log = tmp_path / "natterd.log"

	def start():
		# natterd refuses the option at once, after the script has opened the log.
		script = str(top / "init" / "natter-start")
		return subprocess.run(["sh", "-c", 'umask 022 && exec sh "$0"', script],
				      capture_output=True, text=True, timeout=30 * SLOW,
				      env={**os.environ, "NATTER_LOG": str(log),
					   "NATTER_SETTINGS": str(tmp_path / "none")})
	proc = start()
	assert proc.returncode != 0, proc
	assert "no-such-option" in log.read_text(), (proc, log.read_text())
	assert log.stat().st_mode & 0o777 == 0o600, oct(log.stat().st_mode)
	assert (log.stat().st_uid, log.stat().st_gid) == (0, 0)
	assert (base / "data").stat().st_uid == pw.pw_uid

	log.chmod(0o644)			# as an older image left it
	start()
	assert log.stat().st_mode & 0o777 == 0o600, oct(log.stat().st_mode)
	assert log.read_text().count("no-such-option") >= 2	# appended, not truncated
