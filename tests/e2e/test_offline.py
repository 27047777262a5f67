"""Offline messages (XEP-0160): stored, delivered in order and once, survive kill -9."""
import asyncio
from datetime import datetime, timezone

from natter import DOMAIN, NS_DELAY, jid


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
