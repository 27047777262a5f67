"""Offline messages (XEP-0160): stored, delivered in order and once, survive kill -9."""
import asyncio
import socket
import struct
from datetime import datetime, timezone

from natter import DOMAIN, NS_DELAY, USERS, RawConn, jid


def delay_of(msg):
	"""The <delay xmlns='urn:xmpp:delay'/> element of a message, or None."""
	return msg.xml.find(f"{{{NS_DELAY}}}delay")


def parse_stamp(stamp):
	# XEP-0082 DateTime: 2002-09-10T23:08:25Z or with fraction / offset.
	s = stamp.replace("Z", "+00:00")
	return datetime.fromisoformat(s)


def check_offline_copy(msg, sent_after, sender_full):
	d = delay_of(msg)
	assert d is not None, f"offline message without urn:xmpp:delay: {msg}"
	assert d.get("from") == DOMAIN, f"delay from={d.get('from')!r}"
	stamp = parse_stamp(d.get("stamp", ""))
	assert stamp.tzinfo is not None, f"stamp without zone: {d.get('stamp')}"
	now = datetime.now(timezone.utc)
	assert sent_after.timestamp() - 2 <= stamp.timestamp() <= now.timestamp() + 2, (
		f"stamp {d.get('stamp')} not between sending and now")
	assert msg["from"].full == sender_full, f"from {msg['from']} != {sender_full}"


def test_offline_in_order_once(daemon, xmpp):
	bodies = [f"offline #{i}" for i in range(1, 6)]

	async def go():
		sent_at = datetime.now(timezone.utc)
		bob = await xmpp.login("bob", resource="sender")
		for b in bodies:
			bob.say(jid("alice"), b)
		await asyncio.sleep(0.5)

		# Logged in but not yet available: nothing is pushed.
		alice = await xmpp.login("alice", presence=False)
		await alice.no_message(wait=0.8)
		alice.send_presence()
		got = []
		for _ in bodies:
			msg = await alice.next_message(match=lambda m: m["body"] in bodies)
			check_offline_copy(msg, sent_at, jid("bob") + "/sender")
			got.append(msg["body"])
		assert got == bodies
		await alice.no_message(wait=0.8, match=lambda m: m["body"] in bodies)
		await alice.close()

		# Delivered once: the next login finds the queue empty.
		again = await xmpp.login("alice")
		await again.no_message(wait=1.0, match=lambda m: m["body"] in bodies)

		# Live messages to an available user carry no delay.
		bob.say(jid("alice"), "live now")
		live = await again.next_body("live now")
		assert delay_of(live) is None
	xmpp.run(go())


def test_offline_survives_kill9(daemon_factory, xmpp):
	d = daemon_factory()

	async def send():
		bob = await xmpp.login("bob", resource="k9")
		bob.say(jid("alice"), "before the power cut")
		bob.say(jid("alice"), "second before the cut")
		await asyncio.sleep(0.5)
	sent_at = datetime.now(timezone.utc)
	xmpp.run(send())
	d.kill9()
	assert d.returncode == -9
	d2 = daemon_factory.restart(d)

	async def receive():
		alice = await xmpp.login("alice", daemon=d2)
		first = await alice.next_message(match=lambda m: "cut" in m["body"])
		second = await alice.next_message(match=lambda m: "cut" in m["body"])
		assert [first["body"], second["body"]] == ["before the power cut",
							   "second before the cut"]
		check_offline_copy(first, sent_at, jid("bob") + "/k9")
		await alice.no_message(wait=0.8, match=lambda m: "cut" in m["body"])
	xmpp.run(receive())


# A backlog as large as a user's queue may grow (CONFIG_NT_OFFLINE_MAX, 1000 messages) of
# stanzas of 9,000 bytes, legal ones well under RFC 6120's 10,000-byte floor: 9 MB, more than
# a connection's output queue (CONFIG_NT_OUTBUF_MAX, 1 MiB) and the kernel's socket buffers
# (4 MiB at most by default) together can hold.
BIG_COUNT = 1000
BIG_FILL = "x" * 9000


def big_body(i):
	return f"#{i:04d} {BIG_FILL}"


def big_index(msg):
	body = msg["body"]
	return int(body[1:5]) if body.startswith("#") and body.endswith(BIG_FILL) else None


async def send_backlog(xmpp, to):
	"""BIG_COUNT messages to `to`, all stored; one more is refused: the queue is full."""
	bob = await xmpp.login("bob", resource="flood")
	for i in range(BIG_COUNT):
		bob.say(jid(to), big_body(i))
	await bob.ping()
	errors = [m["error"]["condition"] for m in bob.drain_messages() if m["type"] == "error"]
	assert not errors, f"the server refused stored messages: {errors[:3]}"
	bob.say(jid(to), "one too many")
	bounce = await bob.next_message(match=lambda m: m["type"] == "error")
	assert bounce["error"]["condition"] == "resource-constraint"
	assert bounce["error"]["type"] == "wait"
	return bob


def test_offline_backlog_larger_than_output_queue(daemon, xmpp):
	"""Read by a client with a small receive buffer, so that the kernel takes little of the
	backlog off the server's output queue."""
	xmpp.run(send_backlog(xmpp, "alice"), timeout=120)
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert, rcvbuf=4096)
	raw.login("alice", USERS["alice"], resource="slow")
	for i in range(BIG_COUNT):
		msg = raw.read_message()
		assert f"#{i:04d} " in msg, f"message {i} missing or out of order"
	raw.close()
	assert "limit reached" not in daemon.log()

	async def again():
		# Each was deleted once handed over: the next login finds the store empty.
		alice = await xmpp.login("alice", resource="again")
		await alice.ping()
		assert all(big_index(m) is None for m in alice.drain_messages())
	xmpp.run(again())


def test_offline_backlog_connection_lost_halfway(daemon, xmpp):
	"""A client that drops its connection after reading 20 of the 1000 leaves the rest
	stored: the next login gets what had not been handed to the lost connection, in order and
	once, up to the last."""
	async def fill():
		await send_backlog(xmpp, "alice")
	xmpp.run(fill(), timeout=120)

	raw = RawConn(daemon.c2s_port, cafile=daemon.cert, rcvbuf=4096)
	raw.login("alice", USERS["alice"], resource="flaky")
	for i in range(20):
		assert f"#{i:04d} " in raw.read_message(), f"message {i} out of order"
	raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	raw.close()		# a reset, as a phone losing its network would leave it

	async def rest():
		alice = await xmpp.login("alice", resource="back")
		first = await alice.next_message(match=lambda m: big_index(m) is not None)
		got = [big_index(first)]
		while got[-1] < BIG_COUNT - 1:
			msg = await alice.next_message(match=lambda m: big_index(m) is not None)
			got.append(big_index(msg))
		assert 20 <= got[0] < BIG_COUNT - 1, f"the rest started at #{got[0]}"
		assert got == list(range(got[0], BIG_COUNT)), "not the rest, in order, once"
		await alice.ping()
		assert all(big_index(m) is None for m in alice.drain_messages())
	xmpp.run(rest(), timeout=120)
