"""Routing: full and bare JIDs, priorities, stamped 'from', directed presence, server iqs."""
import asyncio
from xml.etree import ElementTree as ET

from slixmpp.exceptions import IqError

from natter import DOMAIN, jid


def test_full_jid_goes_to_that_resource(daemon, xmpp):
	async def go():
		a1 = await xmpp.login("alice", resource="one")
		a2 = await xmpp.login("alice", resource="two")
		bob = await xmpp.login("bob", resource="pc")
		bob.say(jid("alice") + "/two", "for two")
		msg = await a2.next_body("for two")
		assert msg["from"].full == jid("bob") + "/pc"
		assert msg["to"].full == jid("alice") + "/two"
		await a1.no_message(match=lambda m: m["body"] == "for two")
	xmpp.run(go())


def test_bare_jid_goes_to_highest_priority(daemon, xmpp):
	async def go():
		hi = await xmpp.login("alice", resource="hi", priority=5)
		lo = await xmpp.login("alice", resource="lo", priority=1)
		bob = await xmpp.login("bob")
		bob.say(jid("alice"), "bare 1")
		await hi.next_body("bare 1")
		await lo.no_message(match=lambda m: m["body"] == "bare 1")

		# Equal priorities: every top resource gets it.
		lo.send_presence(ppriority=5)
		await asyncio.sleep(0.3)
		bob.say(jid("alice"), "bare 2")
		await hi.next_body("bare 2")
		await lo.next_body("bare 2")
	xmpp.run(go())


def test_negative_priority_gets_no_bare_messages(daemon, xmpp):
	async def go():
		pos = await xmpp.login("alice", resource="pos", priority=1)
		neg = await xmpp.login("alice", resource="neg", priority=-1)
		bob = await xmpp.login("bob")
		bob.say(jid("alice"), "bare to positive")
		await pos.next_body("bare to positive")
		await neg.no_message(match=lambda m: m["body"] == "bare to positive")
		# Only the negative one left: still nothing for it on the bare JID ...
		await pos.close()
		await asyncio.sleep(0.3)
		bob.say(jid("alice"), "bare while only negative")
		await neg.no_message(match=lambda m: m["body"] == "bare while only negative")
		# ... but its full JID reaches it.
		bob.say(neg.boundjid.full, "full to negative")
		await neg.next_body("full to negative")
	xmpp.run(go())


def test_forged_from_is_overwritten(daemon, xmpp):
	async def go():
		alice = await xmpp.login("alice")
		bob = await xmpp.login("bob", resource="real")
		bob.make_message(mto=alice.boundjid.full, mbody="who am i", mtype="chat",
				 mfrom=jid("carol") + "/forged").send()
		msg = await alice.next_body("who am i")
		assert msg["from"].full == jid("bob") + "/real"
	xmpp.run(go())


def test_directed_presence(daemon, xmpp):
	async def go():
		alice = await xmpp.login("alice", resource="here")
		bob = await xmpp.login("bob", resource="there", presence=False)
		bob.send_presence(pto=alice.boundjid.full, pstatus="hello alice")
		pres = await alice.next_presence(match=lambda p: p["from"].bare == jid("bob"))
		assert pres["from"].full == jid("bob") + "/there"
		assert pres["status"] == "hello alice"
		assert pres["type"] in ("", "available")
	xmpp.run(go())


def test_unknown_iq_namespace_is_service_unavailable(daemon, xmpp):
	async def go():
		alice = await xmpp.login("alice")
		iq = alice.make_iq_get(ito=DOMAIN)
		iq.append(ET.Element("{urn:example:natter:nonsense}query"))
		try:
			res = await iq.send(timeout=5)
		except IqError as e:
			assert e.iq["type"] == "error"
			assert e.condition == "service-unavailable", e.condition
			assert e.iq["id"] == iq["id"]
		else:
			raise AssertionError(f"unknown namespace answered with a result: {res}")
	xmpp.run(go())


def test_ping_server(daemon, xmpp):
	async def go():
		alice = await xmpp.login("alice")
		iq = alice.make_iq_get(ito=DOMAIN)
		iq.append(ET.Element("{urn:xmpp:ping}ping"))
		res = await iq.send(timeout=5)
		assert res["type"] == "result"
		assert res["from"].full in (DOMAIN, "")
	xmpp.run(go())


def test_disco_info_server(daemon, xmpp):
	async def go():
		alice = await xmpp.login("alice")
		res = await alice["xep_0030"].get_info(jid=DOMAIN, local=False, timeout=5)
		info = res["disco_info"]
		idents = {(i[0], i[1]) for i in info["identities"]}
		assert ("server", "im") in idents, idents
		feats = set(info["features"])
		assert "http://jabber.org/protocol/disco#info" in feats, feats
		assert "urn:xmpp:ping" in feats, feats
	xmpp.run(go())
