"""Logging in: SASL mechanisms, bad credentials, TLS rules, resource binding."""
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
