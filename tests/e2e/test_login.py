"""Logging in: SASL mechanisms, bad credentials, TLS rules, resource binding."""
import base64
import re
import ssl
import time

import pytest

import natter
from natter import USERS, RawConn, jid


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"])
def test_login_each_mechanism(daemon, xmpp, mech):
	async def go():
		alice = await xmpp.login("alice", mech=mech)
		assert alice.used_mech == mech
		assert alice.boundjid.bare == jid("alice")
		# The session is real: a message from bob arrives.
		bob = await xmpp.login("bob")
		bob.say(alice.boundjid.full, f"via {mech}")
		msg = await alice.next_body(f"via {mech}")
		assert msg["from"].bare == jid("bob")
	xmpp.run(go())


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "PLAIN"])
def test_wrong_password_is_not_authorized(daemon, xmpp, mech):
	async def go():
		err = await xmpp.login_fails("alice", "not-the-password", mech=mech)
		assert err.conditions == ["not-authorized"], str(err)
		# The account still works with the right password.
		alice = await xmpp.login("alice", mech=mech)
		assert alice.boundjid.bare == jid("alice")
	xmpp.run(go())


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "PLAIN"])
def test_unknown_user_is_not_authorized(daemon, xmpp, mech):
	async def go():
		err = await xmpp.login_fails("mallory", "whatever", mech=mech)
		# Same answer as a wrong password: no telling which accounts exist.
		assert err.conditions == ["not-authorized"], str(err)
	xmpp.run(go())


def test_no_auth_before_starttls(daemon):
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	try:
		feats = raw.open_stream()
		m = re.search(r"<starttls\b[^>]*>(.*?)</starttls>", feats, re.S)
		assert m, f"STARTTLS not offered (or not with <required/>): {feats}"
		assert "<required" in m.group(1), f"STARTTLS not required: {feats}"
		assert "<mechanisms" not in feats and "PLAIN" not in feats, (
			f"SASL offered in cleartext: {feats}")
		# Try anyway, with the right password, in cleartext.
		got = ""
		try:
			got = raw.auth_plain("alice", USERS["alice"])
		except EOFError:
			pass  # closing the stream is an acceptable answer
		assert "<success" not in got, f"PLAIN accepted in cleartext: {got}"
		if got:
			assert "encryption-required" in got, f"unexpected answer: {got}"
			# And the stream is not authenticated: binding must not work.
			try:
				raw.send("<iq type='set' id='b'>"
					 f"<bind xmlns='{natter.NS_BIND}'/></iq>")
				rest = raw.read_until_closed(timeout=2 * natter.SLOW)
			except (TimeoutError, OSError):
				rest = raw.buf.decode(errors="replace")
			assert "<jid>" not in rest, f"bound without authenticating: {rest}"
		assert "<success" not in raw.seen.decode(errors="replace")
	finally:
		raw.close()


def test_direct_tls_login(daemon, xmpp):
	async def go():
		alice = await xmpp.login("alice", direct_tls=True)
		bob = await xmpp.login("bob")
		assert isinstance(alice.socket, (ssl.SSLSocket, ssl.SSLObject))
		alice.say(bob.boundjid.full, "over direct TLS")
		msg = await bob.next_body("over direct TLS")
		assert msg["from"] == alice.boundjid
	xmpp.run(go())


def test_direct_tls_alpn_and_features(daemon):
	raw = RawConn(daemon.tls_port, cafile=daemon.cert, direct_tls=True, alpn=["xmpp-client"])
	try:
		assert raw.sock.selected_alpn_protocol() == "xmpp-client"
		feats = raw.open_stream()
		assert "<starttls" not in feats, f"STARTTLS offered inside TLS: {feats}"
		assert "PLAIN" in feats and "SCRAM-SHA-256" in feats, feats
		assert "<success" in raw.auth_plain("alice", USERS["alice"])
		feats = raw.open_stream()
		assert natter.jid("alice") + "/e2e" == raw.bind("e2e")
	finally:
		raw.close()


def test_mechanisms_after_starttls(daemon):
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	try:
		raw.open_stream()
		raw.starttls()
		feats = raw.open_stream()
		mechs = re.findall(r"<mechanism>([^<]+)</mechanism>", feats)
		for m in ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"):
			assert m in mechs, f"{m} not offered after TLS: {feats}"
		assert "<starttls" not in feats, f"STARTTLS offered twice: {feats}"
	finally:
		raw.close()


def test_bind_conflict_kicks_first(daemon, xmpp):
	async def go():
		first = await xmpp.login("alice", resource="desk")
		second = await xmpp.login("alice", resource="desk")
		await first.wait_gone(5 * natter.SLOW)
		conds = first.stream_error_conditions()
		assert "conflict" in conds, conds
		assert second.boundjid.full == jid("alice") + "/desk"
		# The newcomer owns the resource now.
		bob = await xmpp.login("bob")
		bob.say(jid("alice") + "/desk", "to the new desk")
		await second.next_body("to the new desk")
	xmpp.run(go())


def test_server_generated_resource(daemon, xmpp):
	async def go():
		a = await xmpp.login("alice")
		b = await xmpp.login("alice")
		assert a.boundjid.resource, "server gave no resource"
		assert b.boundjid.resource and a.boundjid.resource != b.boundjid.resource
		# Both sessions live: a full-JID message reaches each one.
		bob = await xmpp.login("bob")
		bob.say(a.boundjid.full, "to a")
		bob.say(b.boundjid.full, "to b")
		await a.next_body("to a")
		await b.next_body("to b")
		assert not a.gone.done()
	xmpp.run(go())


def test_legacy_session_iq_answered(daemon):
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	try:
		raw.open_stream()
		raw.starttls()
		raw.open_stream()
		assert "<success" in raw.auth_plain("alice", USERS["alice"])
		raw.open_stream()
		raw.bind("s")
		raw.send("<iq type='set' id='sess'>"
			 "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
		got = raw.read_until(re.compile(rb"<iq[^>]*sess[^>]*(/>|>.*?</iq>)", re.S))
		assert re.search(r"type=['\"]result['\"]", got), got
	finally:
		raw.close()


def test_failed_logins_are_slowed(daemon):
	"""After 3 failures the next failure answers come late; the right password still works."""
	def fail_once():
		raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
		try:
			raw.open_stream()
			raw.starttls()
			raw.open_stream()
			t0 = time.monotonic()
			got = raw.auth_plain("alice", "wrong-password")
			took = time.monotonic() - t0
			assert "not-authorized" in got, got
			return took
		finally:
			raw.close()

	times = [fail_once() for _ in range(5)]
	fast = min(times[:3])
	assert times[3] >= fast + 0.25 and times[4] >= fast + 0.25, (
		f"failure answers not slowed after 3 failures: {[round(t, 3) for t in times]}")
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	try:
		raw.open_stream()
		raw.starttls()
		raw.open_stream()
		assert "<success" in raw.auth_plain("alice", USERS["alice"])
	finally:
		raw.close()


# Password guessing across connections and addresses ---------------------------------------------

def kconfig(name, default):
	"""CONFIG_<name> of the build under test (default when the build has no autoconf.h)."""
	try:
		text = (natter.BUILD / "autoconf.h").read_text()
	except FileNotFoundError:
		return default
	m = re.search(rf"#define CONFIG_{name} (\d+)", text)
	return int(m.group(1)) if m else default


SOURCE_LIMIT = kconfig("NT_LOGIN_FAIL_SOURCE_LIMIT", 20)
ACCOUNT_LIMIT = kconfig("NT_LOGIN_FAIL_ACCOUNT_LIMIT", 10)
# A failure answer may be held back up to 8 s (SASL_DELAY_MAX_MS) on its connection.
ANSWER_WAIT = natter.TIMEOUT + 8 * natter.SLOW
other_sources = natter.other_sources


def ready(daemon, source=None):
	"""A RawConn after STARTTLS from source, waiting for <auth>."""
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert, source=source)
	raw.open_stream()
	raw.starttls()
	raw.open_stream()
	return raw


def answer(got):
	"""'success' or the failure's condition."""
	if "<success" in got:
		return "success"
	m = re.search(r"<failure[^>]*>\s*<([a-z-]+)", got)
	return m.group(1) if m else got


def send_plain(conns, users, password):
	for raw, user in zip(conns, users):
		blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
		raw.send(f"<auth xmlns='{natter.NS_SASL}' mechanism='PLAIN'>{blob}</auth>")


def plain_at_once(conns, user, password):
	"""Every conn sends PLAIN for user at once; then their answers, in order."""
	send_plain(conns, [user] * len(conns), password)
	return [answer(raw.read_sasl_answer(ANSWER_WAIT)) for raw in conns]


def close_all(conns):
	for raw in conns:
		raw.close()


@other_sources
@other_sources
def test_parallel_guesses_from_one_address_are_throttled(daemon_factory):
	"""One address guessing on many connections at once: for one account it gets at most
	ACCOUNT_LIMIT verdicts, over many names at most SOURCE_LIMIT; the rest are refused
	without a verdict, even for the right password. alice, at another address, gets in.
	(The box lets an address hold 16 connections that are not logged in: raised here, so
	that the login limits are what is tested.)"""
	daemon = daemon_factory.with_limits(preauth_per_addr=200)
	n = SOURCE_LIMIT + 30
	one = [ready(daemon, "127.0.0.1") for _ in range(n)]
	many = [ready(daemon, "127.0.0.5") for _ in range(n)]
	try:
		# Both at once, so that the held-back answers overlap.
		send_plain(one, ["alice"] * n, "guess")
		send_plain(many, [f"name{i}" for i in range(n)], "guess")
		for conns, limit in ((one, min(ACCOUNT_LIMIT, SOURCE_LIMIT)), (many, SOURCE_LIMIT)):
			got = [answer(raw.read_sasl_answer(ANSWER_WAIT)) for raw in conns]
			verdicts = got.count("not-authorized")
			assert verdicts + got.count("temporary-auth-failure") == n, got
			assert verdicts == limit, (
				f"{verdicts} of {n} parallel guesses answered (limit {limit}): {got}")
		# The right password from the guessing address: refused, so it proves nothing.
		got = plain_at_once(one[:1], "alice", USERS["alice"])
		assert got == ["temporary-auth-failure"], got
	finally:
		close_all(one + many)
	raw = ready(daemon, "127.0.0.2")
	try:
		assert answer(raw.auth_plain("alice", USERS["alice"])) == "success"
	finally:
		raw.close()
	# Logged once for each address, not once per refusal.
	for src in ("127.0.0.1", "127.0.0.5"):
		assert daemon.log().count(f"refusing logins from {src}") == 1, daemon.log()[-3000:]


@other_sources
def test_guessers_of_one_account_share_its_limit(daemon):
	"""Many addresses guessing one account: once it has ACCOUNT_LIMIT failures, an address
	that failed before is refused for it, one with a clean record still gets its answer."""
	sources = [f"127.0.2.{i}" for i in range(1, ACCOUNT_LIMIT + 1)]
	conns = [ready(daemon, src) for src in sources]
	try:
		assert plain_at_once(conns, "bob", "guess") == ["not-authorized"] * len(conns)
		assert plain_at_once(conns[:2], "bob", "guess") == ["temporary-auth-failure"] * 2
		# Other accounts are still answered for those addresses.
		assert plain_at_once(conns[:1], "alice", "guess") == ["not-authorized"]
	finally:
		close_all(conns)
	raw = ready(daemon, "127.0.2.200")
	try:
		assert answer(raw.auth_plain("bob", USERS["bob"])) == "success"
	finally:
		raw.close()


@other_sources
def test_random_names_do_not_flush_an_account_count(daemon_factory):
	"""With failed-login tables of 16 entries, three times as many random names from
	other addresses leave alice's count in place: the guessing address stays refused."""
	d = daemon_factory(extra=["--login-fail-keys", "16"])
	conns = [ready(d, "127.0.3.1") for _ in range(ACCOUNT_LIMIT)]
	try:
		assert plain_at_once(conns, "alice", "guess") == ["not-authorized"] * ACCOUNT_LIMIT
		flushers = []
		for i in range(16):	# 3 names each: no address passes any limit
			flushers.append(ready(d, f"127.0.4.{i + 1}"))
			for k in range(3):
				name = f"random{i}x{k}"
				got = answer(flushers[-1].auth_plain(name, "guess"))
				assert got == "not-authorized", got
		close_all(flushers)
		assert plain_at_once(conns[:1], "alice", "guess") == ["temporary-auth-failure"], (
			"alice's failures were flushed by random names")
	finally:
		close_all(conns)


def test_plain_checks_a_password_for_unknown_names_too(daemon):
	"""PLAIN for a name with no account costs the same PBKDF2 as for a real one (against
	credentials made from the server's secret), so its timing does not tell names apart."""
	raw = ready(daemon)
	try:
		assert answer(raw.auth_plain("alice", "wrong")) == "not-authorized"
		assert answer(raw.auth_plain("nobody-here", "wrong")) == "not-authorized"
		assert answer(raw.auth_plain("alice", USERS["alice"])) == "success"
	finally:
		raw.close()
	assert daemon.log().count("plain: password checked") == 3, daemon.log()[-3000:]
