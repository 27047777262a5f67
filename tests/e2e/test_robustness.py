"""Bad clients lose only their own stream; everyone else keeps chatting."""
import asyncio
import re
import time

import natter
from natter import USERS, RawConn, jid, stream_error_condition


async def chat_works(alice, bob, tag):
	"""alice and bob exchange one message each way (asserts both arrive)."""
	alice.say(bob.boundjid.full, f"a->b {tag}")
	bob.say(alice.boundjid.full, f"b->a {tag}")
	await bob.next_body(f"a->b {tag}")
	await alice.next_body(f"b->a {tag}")


def expect_stream_error(raw, condition, timeout=None):
	"""Read to the server's close; the stream error must be condition, then </stream:stream>."""
	rest = raw.read_until_closed(timeout)
	seen = raw.seen.decode(errors="replace")
	assert stream_error_condition(seen) == condition, (
		f"expected <{condition}/> stream error, got: {rest[-2000:]!r}")
	assert "</stream:stream>" in rest, f"stream error without closing the stream: {rest!r}"


def logged_in_raw(daemon, user="carol", resource="raw", trickle=False):
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert, trickle=trickle)
	raw.login(user, USERS[user], resource)
	return raw


def test_malformed_xml_ends_only_that_stream(daemon, xmpp):
	alice = xmpp.run(xmpp.login("alice"))
	bob = xmpp.run(xmpp.login("bob"))
	xmpp.run(chat_works(alice, bob, "before"))

	raw = logged_in_raw(daemon)
	try:
		raw.send("<message to='alice@localhost' type='chat'><body>broken</bod></message>")
		expect_stream_error(raw, "not-well-formed")
	finally:
		raw.close()

	xmpp.run(chat_works(alice, bob, "after"))
	assert not alice.gone.done() and not bob.gone.done()
	# The garbage never reached alice as a message.
	xmpp.run(alice.no_message(wait=0.3, match=lambda m: m["body"] == "broken"))


def test_malformed_xml_before_auth(daemon, xmpp):
	bob = xmpp.run(xmpp.login("bob"))
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	try:
		raw.open_stream()
		raw.send("<a><b></a>")
		expect_stream_error(raw, "not-well-formed")
	finally:
		raw.close()
	alice = xmpp.run(xmpp.login("alice"))
	xmpp.run(chat_works(alice, bob, "after pre-auth garbage"))


def test_oversized_stanza_is_policy_violation(daemon, xmpp):
	alice = xmpp.run(xmpp.login("alice"))
	bob = xmpp.run(xmpp.login("bob"))
	raw = logged_in_raw(daemon)
	try:
		# A stanza just under the limit is fine ...
		body = "x" * 60000
		raw.send(f"<message to='{alice.boundjid.full}' type='chat'><body>{body}</body>"
			 "</message>")
		msg = xmpp.run(alice.next_message(match=lambda m: m["body"].startswith("xxx")))
		assert len(msg["body"]) == len(body)
		# ... one over 65536 bytes ends the stream.
		big = "y" * 70000
		raw.send_draining(f"<message to='{alice.boundjid.full}' type='chat'>"
				       f"<body>{big}</body></message>".encode())
		expect_stream_error(raw, "policy-violation")
	finally:
		raw.close()
	xmpp.run(chat_works(alice, bob, "after the big one"))
	xmpp.run(alice.no_message(wait=0.3, match=lambda m: m["body"].startswith("yyy")))


def test_silent_unauthenticated_connection_times_out(daemon_factory, xmpp):
	d = daemon_factory(extra=["--handshake-timeout-ms", "1500"])
	raw = RawConn(d.c2s_port, cafile=d.cert)
	try:
		t0 = time.monotonic()
		rest = raw.read_until_closed(timeout=8 * natter.SLOW)
		took = time.monotonic() - t0
		assert stream_error_condition(rest) == "connection-timeout", rest
		assert 1.0 <= took <= 5.0 * natter.SLOW, f"closed after {took:.2f} s"
	finally:
		raw.close()
	# A normal client on the same daemon is unaffected by the timer.
	alice = xmpp.run(xmpp.login("alice"))
	bob = xmpp.run(xmpp.login("bob"))
	xmpp.run(chat_works(alice, bob, "after a timeout"))


def test_silent_logged_in_connection_times_out(daemon_factory):
	d = daemon_factory(extra=["--idle-timeout-ms", "2000"])
	raw = logged_in_raw(d)
	try:
		t0 = time.monotonic()
		rest = raw.read_until_closed(timeout=10 * natter.SLOW)
		took = time.monotonic() - t0
		assert stream_error_condition(rest) == "connection-timeout", rest
		assert "</stream:stream>" in rest, rest
		assert 1.5 <= took <= 6.0 * natter.SLOW, f"closed after {took:.2f} s"
	finally:
		raw.close()


def test_idle_timer_restarts_on_traffic(daemon_factory):
	"""A logged-in client that keeps talking (whitespace pings) is not timed out."""
	d = daemon_factory(extra=["--idle-timeout-ms", "2000"])
	raw = logged_in_raw(d)
	try:
		end = time.monotonic() + 3.5
		while time.monotonic() < end:
			raw.send(" ")
			time.sleep(0.5)
		assert not raw.eof and "connection-timeout" not in raw.seen.decode(errors="replace")
		raw.send("<iq type='get' id='p1' to='localhost'>"
			 "<ping xmlns='urn:xmpp:ping'/></iq>")
		got = raw.read_until(re.compile(rb"<iq[^>]*p1[^>]*(/>|>.*?</iq>)", re.S))
		assert re.search(r"type=['\"]result['\"]", got), got
	finally:
		raw.close()


def test_byte_at_a_time_client_logs_in_and_chats(daemon, xmpp):
	bob = xmpp.run(xmpp.login("bob", resource="slix"))
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert, trickle=True)
	try:
		full = raw.login("carol", USERS["carol"], "drip")
		assert full == jid("carol") + "/drip"
		raw.send(f"<message to='{jid('bob')}/slix' type='chat'>"
			 "<body>one byte at a time &amp; still here</body></message>")
		msg = xmpp.run(bob.next_body("one byte at a time & still here"))
		assert msg["from"].full == full
		bob.say(full, "got it, drip")
		xmpp.run(asyncio.sleep(0.2))  # let slixmpp flush the send
		got = raw.read_message()
		assert "got it, drip" in got and f"{jid('bob')}/slix" in got, got
	finally:
		raw.close()
