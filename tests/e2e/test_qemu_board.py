"""The qemu-arm64 board, end to end: its firmware bundle boots in qemu-system-aarch64 (TCG),
installs itself with its own install.sh, starts natterd from S50natterd, and a client on this
machine logs in through QEMU's forwarded port.

`make test-qemu` runs it (it builds the bundle and the guest first, tools/image/qemu.py);
conftest.py collects it only with NATTER_QEMU=1. Each network setting gets one boot:
lwip (natterd's own TCP/IP on the guest's eth1, the board's default) and epoll (the kernel's
sockets on eth0). Accounts are added on the guest's serial console with natterctl, as an
admin would, and the TLS certificate clients check is read there too.
"""
import hashlib
import http.client
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import natter

sys.path.insert(0, str(natter.REPO / "tools" / "image"))
import qemu  # noqa: E402

BOARD = os.environ.get("NATTER_QEMU_BOARD", "qemu-arm64")
GUEST_DIR = Path(os.environ.get("NATTER_QEMU_DIR", natter.REPO / "build" / BOARD / "qemu"))
DOMAIN = "natter.local"
# Boot to ready takes a few seconds under TCG here; a busy machine may take far longer.
BOOT_TIMEOUT = 180.0
CONSOLE_TIMEOUT = 60.0
READY = re.compile(rb"natterd: ready: domain (\S+), board (\S+),")
CERT = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)


class Guest:
	"""One QEMU guest with its serial console on pipes. Everything it prints is kept (with
	\\r\\n made \\n) for waits and for failure messages; every wait is bounded."""

	def __init__(self, net):
		self.net = net
		self.port = natter.free_port()
		self.tls_port = natter.free_port()
		self.web_port = natter.free_port()
		argv = qemu.guest_argv(BOARD, GUEST_DIR, port=self.port, tls_port=self.tls_port,
				       web_port=self.web_port, net=net, batch=True)
		self.out = b""
		self.lock = threading.Lock()
		self.n = 0
		self.t0 = time.monotonic()
		self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
					     stderr=subprocess.STDOUT)
		self.reader = threading.Thread(target=self._read, daemon=True)
		self.reader.start()

	def _read(self):
		while True:
			chunk = self.proc.stdout.read1(65536)
			if not chunk:
				return
			with self.lock:
				self.out += chunk.replace(b"\r\n", b"\n")

	def text(self, start=0):
		with self.lock:
			return self.out[start:].decode(errors="replace")

	def tail(self):
		return self.text()[-4000:]

	def wait_for(self, pattern, timeout, start=0):
		"""The first match of a bytes regex in the console output from offset start."""
		deadline = time.monotonic() + timeout
		while True:
			with self.lock:
				m = pattern.search(self.out, start)
			if m:
				return m
			if self.proc.poll() is not None:
				raise AssertionError(f"QEMU exited ({self.proc.returncode}) while "
						     f"waiting for {pattern.pattern!r}:\n"
						     f"{self.tail()}")
			if time.monotonic() > deadline:
				raise AssertionError(f"no {pattern.pattern!r} on the console "
						     f"within {timeout} s:\n{self.tail()}")
			time.sleep(0.05)

	def send(self, line):
		self.proc.stdin.write(line.encode() + b"\n")
		self.proc.stdin.flush()

	def sh(self, command, timeout=CONSOLE_TIMEOUT):
		"""Run a command in the console's shell; returns (exit status, what it printed).
		The marker's number comes from $?, so the shell's echo of the line never matches."""
		self.n += 1
		with self.lock:
			start = len(self.out)
		self.send(f"{command}; echo \"@@end-{self.n} $?@@\"")
		m = self.wait_for(re.compile(rb"@@end-%d (\d+)@@" % self.n), timeout, start)
		with self.lock:
			printed = self.out[start:m.start()].decode(errors="replace")
		return int(m.group(1)), printed

	def poweroff(self, timeout=CONSOLE_TIMEOUT):
		self.send("poweroff")
		try:
			return self.proc.wait(timeout)
		except subprocess.TimeoutExpired:
			raise AssertionError(f"QEMU still running {timeout} s after poweroff:\n"
					     f"{self.tail()}")

	def kill(self):
		if self.proc.poll() is None:
			self.proc.kill()
			self.proc.wait(10)


@pytest.fixture(scope="module", params=["lwip", "epoll"])
def guest(request):
	g = Guest(request.param)
	try:
		m = g.wait_for(READY, BOOT_TIMEOUT)
		g.ready_s = time.monotonic() - g.t0
		g.ready = m
		# The time from starting QEMU to natterd's ready line, for board/README.md.
		(GUEST_DIR / f"boot-to-ready-{g.net}.txt").write_text(f"{g.ready_s:.1f}\n")
		print(f"\n{BOARD} ({g.net}): natterd ready {g.ready_s:.1f} s after QEMU started")
		# The shell on the console answers once rcS is done.
		g.wait_for(re.compile(rb"rcS: 'poweroff' stops"), BOOT_TIMEOUT)
		yield g
	finally:
		g.kill()


def test_boots_installs_and_starts(guest):
	log = guest.text()
	assert guest.ready.group(1) == DOMAIN.encode()
	assert guest.ready.group(2) == BOARD.encode()
	assert "install.sh: natter " in log and "bundle checked" in log, log[-4000:]
	assert "install.sh: wrote /etc/init.d/S50natterd" in log
	assert "natter-start: made the system user natter" in log
	# natterd drops root after opening its ports and the watchdog, as on a board.
	assert re.search(r"natterd: running as natter \(uid \d+\)", log), log[-4000:]
	assert "watchdog: /dev/watchdog armed: timeout 15 s" in log
	if guest.net == "lwip":
		assert "net lwip: packet eth1, 10.0.3.15/24, MAC 52:54:00:4e:54:02" in log
	else:
		assert "net lwip" not in log
	rc, out = guest.sh("/etc/init.d/S50natterd status")
	assert rc == 0 and "running" in out, out
	rc, out = guest.sh("stat -c '%U %a' /var/lib/natter")
	assert rc == 0 and "natter 700" in out, out


def test_refuses_a_damaged_bundle(guest):
	# A bundle whose file no longer matches its MANIFEST (BusyBox's sha256sum checks it).
	rc, out = guest.sh("rm -rf /tmp/bad && cp -a /tmp/bundle /tmp/bad && "
			   "(cd /tmp/bad/natter-* && echo NATTER_NET=epoll >> settings && "
			   "sh install.sh --no-start)")
	assert rc == 1, out
	assert "settings: FAILED" in out and "does not match its MANIFEST" in out, out
	rc, out = guest.sh("readlink /opt/natter/current")
	assert rc == 0 and "releases/" in out, out


def test_first_run_page_from_the_host(guest, tmp_path):
	"""A new box: its first-run page, reached from this machine, makes the admin account
	with the setup code read on the box, and the admin logs in over XMPP."""
	rc, out = guest.sh("cat /var/lib/natter/tls/cert.pem")
	m = CERT.search(out)
	assert rc == 0 and m, out
	cert = tmp_path / "cert.pem"
	cert.write_text(m.group(0) + "\n")
	ctx = natter.client_tls_context(cert)
	ctx.check_hostname = False		# the certificate names the domain, not 127.0.0.1

	def request(method, path, body=None):
		conn = http.client.HTTPSConnection("127.0.0.1", guest.web_port, context=ctx,
						   timeout=CONSOLE_TIMEOUT)
		try:
			headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
			conn.request(method, path, body=body, headers=headers)
			resp = conn.getresponse()
			return resp.status, resp.read().decode()
		finally:
			conn.close()

	status, page = request("GET", "/")
	assert status == 200 and 'id="code"' in page and DOMAIN in page, page
	rc, out = guest.sh("natterctl setup-code")
	code = out.strip().splitlines()[-1]
	assert rc == 0 and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code), out
	form = urllib.parse.urlencode({"code": code, "user": "boss", "password": "board-admin-1",
				       "password2": "board-admin-1"})
	status, page = request("POST", "/setup", form)
	assert status == 200 and f"boss@{DOMAIN}" in page and 'id="done"' in page, page
	status, page = request("GET", "/")
	assert status == 200 and 'id="reset"' in page, page
	rc, out = guest.sh("natterctl list")
	assert rc == 0 and f"boss@{DOMAIN}" in out, out
	conn = natter.RawConn(guest.port, cafile=cert, domain=DOMAIN, host="127.0.0.1")
	try:
		assert conn.login("boss", "board-admin-1", "qemu").startswith(f"boss@{DOMAIN}/")
	finally:
		conn.close()


def test_admin_adds_accounts_and_clients_chat(guest, tmp_path):
	for user in ("alice", "bob"):
		password = natter.USERS[user]
		rc, out = guest.sh(f"echo '{password}' | natterctl adduser {user}@{DOMAIN}")
		assert rc == 0, out
	rc, out = guest.sh("natterctl list")
	assert rc == 0 and f"alice@{DOMAIN}" in out and f"bob@{DOMAIN}" in out, out

	# The certificate as the admin reads it on the box, checked against the fingerprint
	# natterd logged.
	rc, out = guest.sh("cat /var/lib/natter/tls/cert.pem")
	m = CERT.search(out)
	assert rc == 0 and m, out
	cert = tmp_path / "cert.pem"
	cert.write_text(m.group(0) + "\n")
	der = ssl.PEM_cert_to_DER_cert(m.group(0))
	fp = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
	assert f"sha256 fingerprint {fp}" in guest.text()

	conns = []
	try:
		alice = natter.RawConn(guest.port, cafile=cert, domain=DOMAIN, host="127.0.0.1")
		conns.append(alice)
		assert alice.login("alice", natter.USERS["alice"], "qemu").startswith(
			f"alice@{DOMAIN}/")
		bob = natter.RawConn(guest.port, cafile=cert, domain=DOMAIN, host="127.0.0.1")
		conns.append(bob)
		bob.login("bob", natter.USERS["bob"], "qemu")
		alice.send(f"<message to='bob@{DOMAIN}' type='chat'><body>hello from the host"
			   f"</body></message>")
		msg = bob.read_message(timeout=CONSOLE_TIMEOUT)
		assert "hello from the host" in msg and f"alice@{DOMAIN}/qemu" in msg, msg

		# A wrong password is refused by the guest's store.
		eve = natter.RawConn(guest.port, cafile=cert, domain=DOMAIN, host="127.0.0.1")
		conns.append(eve)
		eve.open_stream()
		eve.starttls()
		eve.open_stream()
		got = eve.auth_plain("alice", "not-" + natter.USERS["alice"])
		assert "not-authorized" in got, got
	finally:
		for c in conns:
			c.close()


def test_poweroff_stops_natterd_cleanly(guest):
	start = len(guest.text())
	assert guest.poweroff() == 0, guest.tail()
	after = guest.text(start)
	# S50natterd stop (from rcK) sent SIGTERM: natterd disarmed the watchdog and exited.
	assert "natterd: SIGTERM: shutting down" in after, after
	assert "watchdog: /dev/watchdog disarmed" in after, after
	assert "natterd: stopped" in after, after
	assert "killing it" not in after, after
