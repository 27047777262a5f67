"""Memory and connection limits: no address, account or slow reader can lock out or starve
the others (natter issue 10). Every limit here is a natterctl setting, lowered for the test
before natterd starts, so that the counts stay small."""
import re
import socket

import pytest

import natter
from natter import USERS, RawConn, jid, natterctl, stream_error_condition, web_get
from test_board import wait_log

PREAUTH_PER_ADDR = 16		# CONFIG_NT_PREAUTH_PER_ADDR, the build's default

LIMITS = {			# setting: (a good value, bad values)
	"limit.max_conns": ("5000", ("0", "15", "abc", "1e3", "2000000")),
	"limit.preauth_per_addr": ("4", ("0", "-1", "x", "100000000")),
	"limit.preauth_max": ("64", ("0", "", "64k")),
	"limit.authed_per_addr": ("100", ("0", " 5", "5 ")),
	"limit.web_conns": ("32", ("0", "100000")),
	"limit.web_per_addr": ("8", ("0", "7.5")),
	"limit.sessions_per_account": ("5", ("0", "-3", "0x10")),
	"limit.output_budget_kb": ("1024", ("0", "63", "99999999999")),
}


def open_preauth(d, source, port=None):
	"""A connection from source that opened its stream and got the features, then idles
	before STARTTLS: it holds a pre-authentication slot."""
	raw = RawConn(port or d.c2s_port, source=source)
	feats = raw.open_stream()
	assert "starttls" in feats, feats
	return raw


def assert_refused(d, source, port=None, condition=None):
	"""A connection from source is closed at once, unserved; on the STARTTLS port with the
	stream error condition (when given) first."""
	raw = RawConn(port or d.c2s_port, source=source)
	try:
		try:
			raw.send(natter.stream_header())
		except OSError:
			pass
		raw.read_until_closed()
		got = raw.seen.decode(errors="replace")
		assert "<stream:features" not in got, f"{source} was served: {got!r}"
		if condition:
			assert stream_error_condition(got) == condition, got
	finally:
		raw.close()


async def chat(a, b, tag):
	a.say(b.boundjid.full, f"a->b {tag}")
	b.say(a.boundjid.full, f"b->a {tag}")
	await b.next_body(f"a->b {tag}")
	await a.next_body(f"b->a {tag}")


@natter.other_sources
def test_preauth_connections_per_address(daemon_factory, xmpp):
	"""One address holds at most PREAUTH_PER_ADDR connections that have not logged in; the
	next is closed at once and the refusal is logged once, not once per attempt; another
	address, a login and the web page are unaffected."""
	d = daemon_factory()
	held = [open_preauth(d, "127.0.0.2") for _ in range(PREAUTH_PER_ADDR)]
	try:
		for _ in range(5):	# logged once (twice should a 10 s period end between)
			assert_refused(d, "127.0.0.2", condition="policy-violation")
		wait_log(d, "c2s: refusing 127.0.0.2")
		assert d.log().count("c2s: refusing 127.0.0.2") <= 2, d.log()[-3000:]
		other = open_preauth(d, "127.0.0.3")
		other.close()
		alice = xmpp.run(xmpp.login("alice"))
		assert alice.boundjid.bare == jid("alice")
		assert web_get(d, "/") == 200
		# Direct TLS counts in the same pre-authentication budget.
		assert_refused(d, "127.0.0.2", d.tls_port)
	finally:
		for raw in held:
			raw.close()
	# The slots come back when the connections go.
	natter.wait_for(lambda: _served(d, "127.0.0.2"), "127.0.0.2 served again")


def _served(d, source):
	try:
		open_preauth(d, source).close()
		return True
	except (AssertionError, EOFError, OSError, TimeoutError):
		return False


@natter.other_sources
def test_preauth_global_cap(daemon_factory, xmpp):
	"""Past limit.preauth_max connections that have not logged in, from any addresses, new
	ones are refused; users already logged in keep chatting and the web page answers."""
	d = daemon_factory.with_limits(preauth_max=8)
	alice = xmpp.run(xmpp.login("alice"))
	bob = xmpp.run(xmpp.login("bob"))
	held = [open_preauth(d, f"127.0.1.{i}") for i in range(1, 9)]
	try:
		for i in range(9, 14):
			assert_refused(d, f"127.0.1.{i}", condition="resource-constraint")
		wait_log(d, "connections not logged in")
		assert d.log().count("connections not logged in") <= 2, d.log()[-3000:]
		xmpp.run(chat(alice, bob, "while full"))
		assert web_get(d, "/") == 200
	finally:
		for raw in held:
			raw.close()
	natter.wait_for(lambda: _served(d, "127.0.1.9"), "127.0.1.9 served again")
	carol = xmpp.run(xmpp.login("carol"))
	xmpp.run(chat(alice, carol, "after"))


@natter.other_sources
def test_c2s_leaves_the_web_page_its_slots(daemon_factory, xmpp):
	"""With limit.max_conns nearly taken by client connections, the web page still answers:
	its limit.web_conns slots are kept for it."""
	d = daemon_factory.with_limits(max_conns=16, web_conns=4, preauth_per_addr=100)
	held = []
	try:
		while True:
			try:
				held.append(open_preauth(d, "127.0.0.2"))
			except (AssertionError, EOFError, OSError, TimeoutError):
				break
			assert len(held) <= 16, "more client connections than limit.max_conns"
		assert len(held) == 12, f"{len(held)} client connections, want 16 - 4"
		assert web_get(d, "/") == 200
		wait_log(d, "kept for the web page")
	finally:
		for raw in held:
			raw.close()


@natter.other_sources
def test_ipv6_counts_per_address(daemon_factory):
	"""IPv6 peers are counted too (per /64: the unit test checks the keys; loopback has one
	IPv6 address, ::1)."""
	try:
		socket.create_connection(("::1", 9), timeout=0.1)
	except ConnectionRefusedError:
		pass
	except OSError:
		pytest.skip("no IPv6 loopback")
	if natter.NET != "epoll":
		pytest.skip("the lwIP run listens on one address")
	# Without --listen natterd listens on every address, ::1 too.
	d = daemon_factory.with_limits(preauth_per_addr=2, daemon_kw={"lwip_args": False})
	held = [RawConn(d.c2s_port, host="::1") for _ in range(2)]
	try:
		for raw in held:
			raw.send(natter.stream_header())
			raw.read_until(natter.FEATURES_END)
		raw = RawConn(d.c2s_port, host="::1")
		raw.send(natter.stream_header())
		got = raw.read_until_closed()
		assert stream_error_condition(got) == "policy-violation", got
		assert "<stream:features" not in got, got
		wait_log(d, "c2s: refusing ::/64")
	finally:
		for raw in held:
			raw.close()


def login_raw(d, user, resource):
	raw = RawConn(d.c2s_port, cafile=d.cert)
	raw.login(user, USERS[user], resource, presence=False)
	return raw


def test_sessions_per_account(daemon_factory, xmpp):
	"""The (limit.sessions_per_account + 1)-th resource of one account is refused at bind
	with resource-constraint (RFC 6120 7.6.2.1), then the stream ends with policy-violation;
	a resource bound again replaces its old session as before, and other accounts are
	unaffected."""
	d = daemon_factory.with_limits(sessions_per_account=3)
	held = [login_raw(d, "alice", f"r{i}") for i in range(3)]
	try:
		raw = RawConn(d.c2s_port, cafile=d.cert)
		held.append(raw)
		raw.open_stream()
		raw.starttls()
		raw.open_stream()
		assert "<success" in raw.auth_plain("alice", USERS["alice"])
		raw.open_stream()
		raw.send("<iq type='set' id='b4'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
			 "<resource>r3</resource></bind></iq>")
		got = raw.read_until(re.compile(rb"<iq[^>]*b4[^>]*>.*?</iq>", re.S))
		assert "type='error'" in got.replace('"', "'"), got
		assert "<resource-constraint" in got, got
		assert "3 sessions" in got, got
		# And the stream ends, for clients that show only why a stream ended.
		rest = raw.read_until_closed()
		assert stream_error_condition(rest) == "policy-violation", rest
		wait_log(d, "c2s: refusing alice@localhost: 3 sessions open")
		# The same resource again is a replacement, not a further session.
		held.append(login_raw(d, "alice", "r0"))
		bob = xmpp.run(xmpp.login("bob"))
		carol = xmpp.run(xmpp.login("carol"))
		xmpp.run(chat(bob, carol, "unaffected"))
	finally:
		for raw in held:
			raw.close()


@natter.other_sources
def test_logged_in_connections_per_address(daemon_factory, xmpp):
	"""An address holds at most limit.authed_per_addr logged-in connections: one more login
	from it is ended with policy-violation after SASL; another address logs in."""
	d = daemon_factory.with_limits(authed_per_addr=2)
	held = []
	try:
		for user in ("alice", "bob"):
			raw = RawConn(d.c2s_port, cafile=d.cert, source="127.0.0.2")
			held.append(raw)
			raw.login(user, USERS[user], "r", presence=False)
		raw = RawConn(d.c2s_port, cafile=d.cert, source="127.0.0.2")
		held.append(raw)
		raw.open_stream()
		raw.starttls()
		raw.open_stream()
		raw.auth_plain("carol", USERS["carol"])
		raw.read_until_closed()
		seen = raw.seen.decode(errors="replace")
		assert stream_error_condition(seen) == "policy-violation", seen[-1000:]
		assert "too many logged-in connections" in seen, seen[-1000:]
		carol = xmpp.run(xmpp.login("carol"))
		assert carol.boundjid.bare == jid("carol")
	finally:
		for raw in held:
			raw.close()


def test_output_budget_ends_the_slowest_reader(daemon_factory, xmpp):
	"""With limit.output_budget_kb small, a client that stops reading while another floods it
	is ended with resource-constraint "too slow to read"; the sender and a third user keep
	chatting."""
	d = daemon_factory.with_limits(output_budget_kb=256)
	alice = xmpp.run(xmpp.login("alice"))
	carol = xmpp.run(xmpp.login("carol"))
	slow = RawConn(d.c2s_port, cafile=d.cert, rcvbuf=4096)
	full = slow.login("bob", USERS["bob"], "slow")
	slow.read_until("<presence")
	body = "x" * 4000

	async def flood():
		for burst in range(100):
			for i in range(20):
				alice.say(full, f"{burst}.{i} {body}")
			await alice.ping()
			if "too slow to read" in d.log():
				return
		raise AssertionError("the slow reader was never ended")

	# The kernel's socket buffers take a few MB first: only the rest is natterd's queue.
	xmpp.run(flood())
	slow.read_until_closed()
	seen = slow.seen.decode(errors="replace")
	assert stream_error_condition(seen) == "resource-constraint", seen[-2000:]
	assert "too slow to read" in seen[-2000:], seen[-2000:]
	xmpp.run(chat(alice, carol, "after the flood"))
	assert "output queue of" not in d.log(), "dropped without a stream error"


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_limit_settings(daemon_factory, name):
	"""natterctl set/get of each limit; bad values are refused with the allowed range."""
	dd = daemon_factory.datadir()
	dd.mkdir(parents=True)
	good, bad = LIMITS[name]
	natterctl(dd, "set", name, good)
	assert natterctl(dd, "get", name).stdout.strip() == good
	for value in bad:
		p = natterctl(dd, "set", name, value, check=False)
		assert p.returncode != 0, f"{name} = {value!r} was taken"
		assert "a whole number from" in p.stderr, p.stderr
		assert natterctl(dd, "get", name).stdout.strip() == good
	listing = natterctl(dd, "settings").stdout
	assert re.search(rf"^{re.escape(name)}\s+{good}\s", listing, re.M), listing
	d = daemon_factory(datadir=dd)
	assert "not a whole number" not in d.log()
