"""Harness for natter's end-to-end tests: the real natterd on loopback, real clients.

Three kinds of client live here:
  * Client / login(): slixmpp (Debian's python3-slixmpp 1.8.3), one asyncio loop per test.
  * RawConn: a plain socket speaking XMPP by hand (STARTTLS with Python's ssl module, SASL PLAIN,
    bind), for the misbehaving clients slixmpp will not be: bad XML, huge stanzas, silence,
    one byte at a time.
  * Daemon: starts build/natterd on free ports with a temporary data dir and stops it again,
    checking its exit status (and, in a sanitizer build, that it reported nothing).
Every wait here is bounded by a timeout.
"""
import asyncio
import base64
import http.client
import os
import pwd
import re
import shlex
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NATTER_BUILD", str(REPO / "build")))
NATTERD = BUILD / "natterd"
NATTERCTL = BUILD / "natterctl"
SANITIZED = os.environ.get("NATTER_SANITIZED") == "1"
# A cross build runs under an emulator: NATTER_EXEC="qemu-aarch64" goes in front of every
# natterd and natterctl command line (make test ARCH=arm64 sets it).
EXEC = shlex.split(os.environ.get("NATTER_EXEC", ""))


def _slow():
	"""How many times longer every wait may take than on a native, plain build."""
	text = os.environ.get("NATTER_SLOW", "1")
	try:
		factor = float(text)
	except ValueError:
		factor = 0.0
	if not 1.0 <= factor <= 100.0:
		raise ValueError(f"NATTER_SLOW={text!r}: want a factor from 1 to 100")
	# Sanitizer builds are several times slower; emulation (NATTER_SLOW) is on top of that.
	return (3.0 if SANITIZED else 1.0) * factor


SLOW = _slow()
DOMAIN = "localhost"
UNPRIV_USER = "natter-e2e"	# the unprivileged user natterd drops to in test_privs/test_lwip
# NATTER_NET=lwip runs every daemon on its own TCP/IP stack (lwIP) on the TAP device
# NATTER_LWIP_IF, which tools/lwip-netns.sh makes in a network namespace of its own;
# clients then reach the daemon at HOST instead of loopback.
NET = os.environ.get("NATTER_NET", "epoll")
LWIP_IF = os.environ.get("NATTER_LWIP_IF", "nt0")
HOST = os.environ.get("NATTER_HOST", "10.77.0.2" if NET == "lwip" else "127.0.0.1")
TIMEOUT = 10.0 * SLOW
# Clients at other addresses are other loopback addresses (all of 127.0.0.0/8, and ::1), which
# only the kernel's stack has: under lwIP the tests that need them are left to the epoll run
# (what they test, per-address counting, is above the network stack).
other_sources = pytest.mark.skipif(NET == "lwip", reason="other client addresses: epoll only")

USERS = {
	"alice": "alice-Secret-1",
	"bob": "bob-Secret-2",
	"carol": "carol-Secret-3",
}

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STREAM_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_DELAY = "urn:xmpp:delay"


def jid(user):
	return f"{user}@{DOMAIN}"


def free_port():
	"""A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close)."""
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def sanitizer_report(text):
	"""The first sanitizer marker found in text, or None."""
	for mark in SANITIZER_MARKS:
		if mark in text:
			return mark
	return None


# natterctl ------------------------------------------------------------------------------------

def natterctl(datadir, *args, stdin=None, check=True, timeout=None):
	"""Run [EXEC] build/natterctl --datadir DIR ARGS...; returns the CompletedProcess."""
	cmd = [*EXEC, str(NATTERCTL), "--datadir", str(datadir), *args]
	proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
			      timeout=timeout or TIMEOUT)
	if SANITIZED:
		mark = sanitizer_report(proc.stderr)
		assert mark is None, f"natterctl {args}: sanitizer reported {mark}:\n{proc.stderr}"
	if check:
		assert proc.returncode == 0, (
			f"natterctl {' '.join(args)} exited {proc.returncode}\n"
			f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
	return proc


def add_user(datadir, user, password):
	return natterctl(datadir, "adduser", jid(user), stdin=password + "\n")


# natterd -------------------------------------------------------------------------------------

class DaemonError(Exception):
	pass


class Daemon:
	"""One natterd process on loopback. start() waits for "natterd: ready" on stderr."""

	def __init__(self, datadir, *, domain=DOMAIN, c2s_port=None, tls_port=None, extra=(),
		     lwip_args=True):
		"""lwip_args=False leaves out the harness's --net/--lwip options (and --listen),
		so that the data dir's settings choose the network."""
		self.lwip_args = lwip_args
		self.datadir = Path(datadir)
		self.domain = domain
		# Client ports, then the web page's (HTTPS, and plain HTTP that redirects to it);
		# all different, as two draws can give the same free port.
		ports = []
		for given in (c2s_port, tls_port, None, None):
			port = given
			while port is None or port in ports:
				port = free_port()
			ports.append(port)
		self.c2s_port, self.tls_port, self.https_port, self.http_port = ports
		self.extra = list(extra)
		self.proc = None
		self.returncode = None
		self.killed = False
		n = 0
		while True:
			self.logpath = self.datadir.parent / f"natterd-{self.datadir.name}-{n}.log"
			if not self.logpath.exists():
				break
			n += 1

	@property
	def cert(self):
		return self.datadir / "tls" / "cert.pem"

	def argv(self):
		return [*EXEC, str(NATTERD), "--datadir", str(self.datadir), "--domain", self.domain,
			*(["--listen", HOST] if self.lwip_args else []), "--c2s-port", str(self.c2s_port),
			"--c2s-tls-port", str(self.tls_port), "--https-port", str(self.https_port),
			"--http-port", str(self.http_port), "-v",
			# Release TLS buffers after every read, so that every test also runs every
			# session through sleep and wake (NATTER_TLS_SLEEP_MS overrides).
			"--tls-sleep-ms", os.environ.get("NATTER_TLS_SLEEP_MS", "0"),
			# As whoever runs the tests (test_privs.py checks the drop from root).
			"--user", pwd.getpwuid(os.geteuid()).pw_name,
			*(["--net", "lwip", "--lwip-if", LWIP_IF, "--lwip-ip4", f"{HOST}/24"]
			  if NET == "lwip" and self.lwip_args else []), *self.extra]

	def log(self):
		try:
			return self.logpath.read_text(errors="replace")
		except FileNotFoundError:
			return ""

	def start(self, timeout=None):
		timeout = timeout or TIMEOUT
		self.datadir.mkdir(parents=True, exist_ok=True)
		with open(self.logpath, "wb") as err:
			self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
						     stdout=err, stderr=err)
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if "natterd: ready" in self.log():
				return self
			if self.proc.poll() is not None:
				self.returncode = self.proc.returncode
				raise DaemonError(f"natterd exited {self.proc.returncode} before "
						  f"ready:\n{self.log()[-4000:]}")
			time.sleep(0.02)
		self.proc.kill()
		self.proc.wait(5)
		raise DaemonError(f"natterd not ready after {timeout} s:\n{self.log()[-4000:]}")

	def running(self):
		return self.proc is not None and self.proc.poll() is None

	def kill9(self):
		"""SIGKILL, as a power cut would; no exit checks apply to this run."""
		self.killed = True
		self.proc.send_signal(signal.SIGKILL)
		self.returncode = self.proc.wait(10)

	def stop(self, sig=signal.SIGTERM, timeout=None):
		"""Stop with sig and return the exit status (the process is killed if it hangs)."""
		if self.proc is None:
			return None
		if self.proc.poll() is None:
			self.proc.send_signal(sig)
			try:
				self.returncode = self.proc.wait(timeout or TIMEOUT)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait(5)
				raise DaemonError(f"natterd ignored signal {sig} for "
						  f"{timeout or TIMEOUT} s")
		else:
			self.returncode = self.proc.returncode
		return self.returncode

	def check_exit(self):
		"""Assert a clean exit: status 0, no sanitizer report, no password in the log."""
		if self.killed:
			return
		log = self.log()
		assert self.returncode == 0, (
			f"natterd exited with status {self.returncode}\n"
			f"--- log tail ---\n{log[-6000:]}")
		if SANITIZED:
			mark = sanitizer_report(log)
			assert mark is None, f"natterd: sanitizer reported {mark}:\n{log[-12000:]}"
		for user, password in USERS.items():
			blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
			assert password not in log and blob not in log, (
				f"natterd logged {user}'s password (or the PLAIN blob carrying it)")


# slixmpp clients -------------------------------------------------------------------------------

class LoginFailed(Exception):
	def __init__(self, msg, conditions=(), stream_errors=()):
		super().__init__(msg)
		self.conditions = list(conditions)
		self.stream_errors = list(stream_errors)


class Client(slixmpp.ClientXMPP):
	"""A slixmpp client that verifies the daemon's certificate and queues what it receives."""

	def __init__(self, jid_, password, *, cafile, mech=None):
		super().__init__(jid_, password)
		self.ca_certs = Path(cafile)  # real verification: CERT_REQUIRED + check_hostname
		self.use_ipv6 = False
		self._no_tls_unique(mech)
		self.register_plugin("xep_0030")
		self.register_plugin("xep_0199")
		self.messages = asyncio.Queue()
		self.presences = asyncio.Queue()
		self.stream_errors = []
		self.auth_failures = []
		self.used_mech = None
		self.no_mechanism = False  # set when none of the offered mechanisms was usable
		self.started = asyncio.get_running_loop().create_future()
		self.gone = asyncio.get_running_loop().create_future()
		for kind, queue in (("message", self.messages), ("presence", self.presences)):
			self.register_handler(Callback(f"e2e {kind}",
						       MatchXPath("{jabber:client}" + kind),
						       queue.put_nowait))
		self.add_event_handler("session_start", self._on_start)
		self.add_event_handler("auth_success", self._on_auth)
		self.add_event_handler("failed_auth", self._on_failed_auth)
		self.add_event_handler("stream_error", self.stream_errors.append)
		self.add_event_handler("no_auth", self._on_no_auth)
		self.add_event_handler("disconnected", self._on_gone)

	def _no_tls_unique(self, mech):
		"""slixmpp 1.8.3 binds only to tls-unique and does not read XEP-0440, so with its
		tls-unique at hand it sends the gs2 flag "y" ("I would bind, you cannot"), which
		natterd, offering -PLUS, refuses as a downgrade (RFC 5802 section 6). Without it
		slixmpp is a client that does not bind: flag "n", and no -PLUS mechanism."""
		mechs = self["feature_mechanisms"]
		default = mechs.sasl_callback

		def creds(required, optional):
			got = default(required, optional)
			got.pop("channel_binding", None)
			return got
		mechs.sasl_callback = creds
		mechs.use_mechs = {mech} if mech else {
			m for m in slixmpp.util.sasl.client.MECHANISMS if not m.endswith("-PLUS")}

	async def get_dns_records(self, domain, port=None):
		# The address given to connect() is used as is: no DNS, no SRV, no IPv6 detour.
		return [(self.default_domain, self.address[0], self.address[1])]

	def _on_start(self, _event):
		if not self.started.done():
			self.started.set_result(True)

	def _on_auth(self, _stanza):
		self.used_mech = self["feature_mechanisms"].mech.name

	def _on_failed_auth(self, stanza):
		self.auth_failures.append(stanza["condition"])

	def _on_no_auth(self, _event):
		self.no_mechanism = True

	def _on_gone(self, reason):
		if not self.gone.done():
			self.gone.set_result(reason)
		if not self.started.done():
			self.started.set_exception(LoginFailed(
				f"{self.requested_jid}: stream ended before session start "
				f"({reason}); no usable SASL mechanism: {self.no_mechanism}, "
				f"SASL failures {self.auth_failures}, stream errors "
				f"{[e['condition'] for e in self.stream_errors]}",
				self.auth_failures, [e["condition"] for e in self.stream_errors]))

	def stream_error_conditions(self):
		return [e["condition"] for e in self.stream_errors]

	async def next_message(self, timeout=None, match=None):
		"""The next received message (optionally the next for which match(msg) is true)."""
		deadline = time.monotonic() + (timeout or TIMEOUT)
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				raise asyncio.TimeoutError(f"{self.boundjid}: no message in time")
			msg = await asyncio.wait_for(self.messages.get(), left)
			if match is None or match(msg):
				return msg

	async def next_body(self, body, timeout=None):
		return await self.next_message(timeout, lambda m: m["body"] == body)

	async def no_message(self, wait=0.7, match=None):
		"""Assert that no (matching) message arrives within wait seconds."""
		deadline = time.monotonic() + wait * SLOW
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				return
			try:
				msg = await asyncio.wait_for(self.messages.get(), left)
			except asyncio.TimeoutError:
				return
			if match is None or match(msg):
				raise AssertionError(f"{self.boundjid} got unexpected {msg}")

	async def next_presence(self, timeout=None, match=None):
		deadline = time.monotonic() + (timeout or TIMEOUT)
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				raise asyncio.TimeoutError(f"{self.boundjid}: no presence in time")
			pres = await asyncio.wait_for(self.presences.get(), left)
			if match is None or match(pres):
				return pres

	def say(self, to, body, mtype="chat", **kw):
		self.make_message(mto=to, mbody=body, mtype=mtype, **kw).send()

	async def ping(self, timeout=None):
		"""A round trip to the server (XEP-0199): everything this client sent before has
		been handled, what it stored is committed (answers leave after the turn's commit),
		and what the server sent this client in answer is queued here."""
		await self["xep_0199"].ping(jid=DOMAIN, timeout=timeout or TIMEOUT)

	def drain_messages(self):
		"""Every message received and not yet taken, taken now."""
		out = []
		while not self.messages.empty():
			out.append(self.messages.get_nowait())
		return out

	async def wait_gone(self, timeout=None):
		return await asyncio.wait_for(asyncio.shield(self.gone), timeout or TIMEOUT)

	async def close(self, timeout=3.0):
		"""Close the stream cleanly (bounded); abort the transport if the server dawdles."""
		if self.gone.done():
			return
		try:
			self.disconnect(wait=1.0)
			await asyncio.wait_for(asyncio.shield(self.gone), timeout * SLOW)
		except (asyncio.TimeoutError, Exception):
			self.abort()


class Session:
	"""The slixmpp side of one test: one asyncio loop, and the clients made on it."""

	def __init__(self, loop, daemon_getter):
		self.loop = loop
		self.clients = []
		self._daemon = daemon_getter

	def run(self, coro, timeout=60.0):
		"""Run coro on this test's loop, bounded by timeout seconds."""
		return self.loop.run_until_complete(asyncio.wait_for(coro, timeout * SLOW))

	async def login(self, user, password=None, *, resource=None, daemon=None, mech=None,
			direct_tls=False, presence=True, priority=None, timeout=None):
		"""Log user in with slixmpp; returns the Client after session start.

		presence=True sends initial available presence (with priority if given).
		Raises LoginFailed when the stream ends before the session starts."""
		d = daemon or self._daemon()
		full = jid(user) if "@" not in user else user
		if resource:
			full += "/" + resource
		pw = USERS.get(user, "") if password is None else password
		client = Client(full, pw, cafile=d.cert, mech=mech)
		self.clients.append(client)
		port = d.tls_port if direct_tls else d.c2s_port
		client.connect((HOST, port), use_ssl=direct_tls)
		try:
			await asyncio.wait_for(asyncio.shield(client.started), timeout or TIMEOUT)
		except asyncio.TimeoutError:
			client.abort()
			raise LoginFailed(f"{full}: no session start within "
					  f"{timeout or TIMEOUT} s; SASL failures "
					  f"{client.auth_failures}")
		if presence:
			client.send_presence(ppriority=priority)
			await asyncio.sleep(0.1)  # let the server take the presence before we go on
		return client

	async def login_fails(self, user, password, **kw):
		"""Attempt a login that must fail; returns the LoginFailed."""
		try:
			c = await self.login(user, password, presence=False, **kw)
		except LoginFailed as e:
			return e
		await c.close()
		raise AssertionError(f"login of {user} with a wrong password succeeded")

	def close_all(self):
		async def closer():
			await asyncio.gather(*(c.close() for c in self.clients),
					     return_exceptions=True)
		try:
			self.loop.run_until_complete(asyncio.wait_for(closer(), 15))
		except Exception:
			for c in self.clients:
				c.abort()


# raw sockets -----------------------------------------------------------------------------------

FEATURES_END = re.compile(rb"</(?:stream:)?features>|<(?:stream:)?features[^>]*/>")


def stream_header(domain=DOMAIN, frm=None, decls=None):
	"""decls: extra {prefix: namespace} declarations, in scope for the whole stream."""
	f = f" from='{frm}'" if frm else ""
	x = "".join(f" xmlns:{p}='{ns}'" for p, ns in (decls or {}).items())
	return (f"<?xml version='1.0'?><stream:stream to='{domain}'{f} version='1.0' "
		f"xml:lang='en' xmlns='jabber:client' xmlns:stream='{NS_STREAMS}'{x}>")


def client_tls_context(cafile):
	ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
	ctx.load_verify_locations(cafile=str(cafile))
	ctx.check_hostname = True
	ctx.verify_mode = ssl.CERT_REQUIRED
	return ctx


class RawConn:
	"""A hand-driven XMPP client connection (blocking, every read bounded).

	trickle=True sends every byte on its own (its own TCP segment, or TLS record after
	STARTTLS) to exercise the daemon's framer across reads. decls ({prefix: namespace})
	are declared on every stream header this connection sends."""

	def __init__(self, port, *, cafile=None, direct_tls=False, alpn=None, trickle=False,
		     domain=DOMAIN, host=None, source=None, rcvbuf=None, decls=None):
		"""rcvbuf: a small receive buffer (bytes) makes a slow reader, whose kernel takes
		little of what the server sends before the client reads it."""
		self.domain = domain
		self.decls = decls
		self.cafile = cafile
		self.trickle = trickle
		self.buf = b""
		self.seen = b""  # everything ever received, for assertion messages
		self.eof = False
		host = host or HOST
		self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
		self.sock.settimeout(TIMEOUT)
		if rcvbuf:
			self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
		if source:
			self.sock.bind((source, 0))
		self.sock.connect((host, port))
		self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		if direct_tls:
			ctx = client_tls_context(cafile)
			if alpn:
				ctx.set_alpn_protocols(alpn)
			self.sock = ctx.wrap_socket(self.sock, server_hostname=domain)

	# bytes in and out ----------------------------------------------------------------------
	def send(self, data):
		if isinstance(data, str):
			data = data.encode()
		if not self.trickle:
			self.sock.sendall(data)
			return
		for i in range(len(data)):
			self.sock.sendall(data[i:i + 1])
			if i % 8 == 7:
				time.sleep(0.0005)

	def send_draining(self, data, chunk=4096):
		"""Send data in chunks, reading whatever the server answers in between, and stop
		sending once the server has closed (its answer stays readable in self.buf)."""
		if isinstance(data, str):
			data = data.encode()
		for i in range(0, len(data), chunk):
			if self.eof:
				return
			try:
				self.sock.sendall(data[i:i + chunk])
			except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
				return
			try:
				self._recv(time.monotonic() + 0.005)
			except TimeoutError:
				pass

	def _recv(self, deadline):
		left = deadline - time.monotonic()
		if left <= 0:
			raise TimeoutError
		self.sock.settimeout(left)
		try:
			chunk = self.sock.recv(65536)
		except socket.timeout:
			raise TimeoutError
		except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError,
			BrokenPipeError):
			chunk = b""
		if not chunk:
			self.eof = True
		self.buf += chunk
		self.seen += chunk
		return chunk

	def read_until(self, pattern, timeout=None):
		"""Consume and return the input up to the end of the first match of pattern
		(bytes regex or literal). Raises TimeoutError (with what was seen) if it never
		comes, EOFError if the server closes first."""
		rx = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(
			pattern.encode() if isinstance(pattern, str) else pattern))
		deadline = time.monotonic() + (timeout or TIMEOUT)
		while True:
			m = rx.search(self.buf)
			if m:
				out, self.buf = self.buf[:m.end()], self.buf[m.end():]
				return out.decode(errors="replace")
			if self.eof:
				raise EOFError(f"closed while waiting for {rx.pattern!r}; "
					       f"got {self.buf!r}")
			try:
				self._recv(deadline)
			except TimeoutError:
				raise TimeoutError(f"no {rx.pattern!r} in time; got {self.buf!r}")

	def read_until_closed(self, timeout=None):
		"""All remaining input up to the server's close; TimeoutError if it stays open."""
		deadline = time.monotonic() + (timeout or TIMEOUT)
		while not self.eof:
			try:
				self._recv(deadline)
			except TimeoutError:
				raise TimeoutError(f"connection still open; got {self.buf!r}")
		out, self.buf = self.buf, b""
		return out.decode(errors="replace")

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass

	# the XMPP steps --------------------------------------------------------------------------
	def open_stream(self, timeout=None):
		"""Send a stream header; return the server's stream header + features text."""
		self.send(stream_header(self.domain, decls=self.decls))
		return self.read_until(FEATURES_END, timeout)

	def starttls(self, wrap=None):
		"""STARTTLS with Python's ssl module, or with wrap(sock, cafile, domain), which
		returns an object with sendall/recv/settimeout/close (e.g. over pyOpenSSL)."""
		self.send(f"<starttls xmlns='{NS_TLS}'/>")
		got = self.read_until(re.compile(rb"<proceed[^>]*/>|<failure[^>]*>"))
		assert "<proceed" in got, f"STARTTLS refused: {got}"
		assert not self.buf, f"data after <proceed/>: {self.buf!r}"
		self.sock.settimeout(TIMEOUT)
		if wrap is not None:
			self.sock = wrap(self.sock, self.cafile, self.domain)
			return
		ctx = client_tls_context(self.cafile)
		self.sock = ctx.wrap_socket(self.sock, server_hostname=self.domain)

	def read_sasl_answer(self, timeout=None):
		"""The next <challenge>, <success> or <failure> element (text)."""
		return self.read_until(re.compile(
			rb"<(challenge|success|failure)\b[^>]*/>|"
			rb"<(challenge|success|failure)\b[^>]*>.*?</(challenge|success|failure)>",
			re.S), timeout)

	def auth_plain(self, user, password):
		"""SASL PLAIN; returns the server's answer element (<success/> or <failure>...)."""
		blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
		self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{blob}</auth>")
		return self.read_until(re.compile(
			rb"<success[^>]*/>|<success[^>]*>.*?</success>|<failure[^>]*>.*?</failure>"
			rb"|<failure[^>]*/>", re.S))

	def bind(self, resource=None):
		"""Bind a resource; returns the full JID the server assigned."""
		res = f"<resource>{resource}</resource>" if resource else ""
		self.send(f"<iq type='set' id='bind1'><bind xmlns='{NS_BIND}'>{res}</bind></iq>")
		got = self.read_until(re.compile(
			rb"<iq[^>]*bind1[^>]*>.*?</iq>|<iq[^>]*bind1[^>]*/>", re.S))
		m = re.search(r"<jid>([^<]+)</jid>", got)
		assert m and "type='result'" in got.replace('"', "'"), f"bind failed: {got}"
		return m.group(1)

	def login(self, user, password, resource=None, presence=True):
		"""The whole client path: stream, STARTTLS, stream, PLAIN, stream, bind, session,
		initial presence. Returns the bound full JID."""
		feats = self.open_stream()
		assert "starttls" in feats, f"no STARTTLS offered: {feats}"
		self.starttls()
		feats = self.open_stream()
		assert "PLAIN" in feats, f"no PLAIN after TLS: {feats}"
		got = self.auth_plain(user, password)
		assert "<success" in got, f"PLAIN failed: {got}"
		feats = self.open_stream()
		assert "bind" in feats, f"no bind offered: {feats}"
		full = self.bind(resource)
		if "session" in feats:
			self.send("<iq type='set' id='sess1'>"
				  "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
			self.read_until(re.compile(rb"<iq[^>]*sess1[^>]*(/>|>.*?</iq>)", re.S))
		if presence:
			self.send("<presence/>")
		return full

	def ping_server(self, iq_id, timeout=None):
		"""An XEP-0199 ping to the server; returns its answer. The server handles a
		stream's stanzas in order, so everything sent before has been handled by then."""
		self.send(f"<iq type='get' id='{iq_id}' to='{self.domain}'>"
			  "<ping xmlns='urn:xmpp:ping'/></iq>")
		return self.read_until(re.compile(
			rb"<iq[^>]*id=[\"']" + re.escape(iq_id.encode()) +
			rb"[\"'][^>]*(/>|>.*?</iq>)", re.S), timeout)

	def read_message(self, timeout=None):
		"""The next <message>...</message> (text); other input before it is dropped."""
		return self.read_until(re.compile(rb"<message\b.*?</message>", re.S), timeout)


def stream_error_condition(text):
	"""The condition element name inside a <stream:error> in text, or None."""
	m = re.search(r"<(?:stream:)?error\b[^>]*>(.*?)</(?:stream:)?error>", text, re.S)
	if not m:
		return None
	c = re.search(r"<([a-z-]+)\b[^>]*xmlns=['\"]" + re.escape(NS_STREAM_ERR), m.group(1))
	return c.group(1) if c else None


def parse(text):
	"""Parse one stanza's text (as read by RawConn) into an Element, jabber:client default."""
	wrapped = (f"<w xmlns='jabber:client' xmlns:stream='{NS_STREAMS}'>{text}</w>")
	return list(ET.fromstring(wrapped))[0]


# small helpers -------------------------------------------------------------------------------

def wait_for(cond, what, timeout=None):
	"""Poll cond() until it is true; AssertionError naming what after timeout seconds."""
	deadline = time.monotonic() + (timeout or TIMEOUT)
	while not cond():
		if time.monotonic() > deadline:
			raise AssertionError(f"not in time: {what}")
		time.sleep(0.05)


def web_get(d, path="/"):
	"""GET path on the box's HTTPS page (any certificate); the status."""
	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	conn = http.client.HTTPSConnection(HOST, d.https_port, timeout=TIMEOUT, context=ctx)
	try:
		conn.request("GET", path)
		resp = conn.getresponse()
		resp.read()
		return resp.status
	finally:
		conn.close()
