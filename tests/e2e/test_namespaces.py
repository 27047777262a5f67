"""Namespace prefixes declared on a client's stream header (natter issue 10).

A declaration on <stream:stream> is in scope for the whole stream, so a client may send
<x:message> with xmlns:x declared only there. What natterd routes on must carry the
declarations it uses: slixmpp, which parses namespace-aware, drops the stream of a recipient
that gets an unbound prefix.
"""
import re

from natter import DOMAIN, NS_DELAY, USERS, RawConn, jid, parse, stream_error_condition

NS_EXTRA = "urn:example:extra"
DECLS = {"x": "jabber:client", "e": NS_EXTRA, "p": "urn:xmpp:ping"}


def raw_login(daemon, user="bob", resource="raw"):
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert, decls=DECLS)
	raw.login(user, USERS[user], resource)
	return raw


def prefixed_message(to, body):
	"""A chat message whose every prefix is declared only on the stream header."""
	return (f"<x:message to='{to}' type='chat' id='ns-{abs(hash(body))}' e:flag='yes'>"
		f"<x:body>{body}</x:body><e:note>n<stream:part/></e:note></x:message>")


def check_prefixed_copy(msg, body):
	assert msg["body"] == body
	assert msg["from"].full == jid("bob") + "/raw"
	assert msg.xml.get(f"{{{NS_EXTRA}}}flag") == "yes", msg
	note = msg.xml.find(f"{{{NS_EXTRA}}}note")
	assert note is not None and note.text == "n", msg
	assert note.find("{http://etherx.jabber.org/streams}part") is not None, msg


def test_prefixed_message_reaches_namespace_aware_client(daemon, xmpp):
	alice = xmpp.run(xmpp.login("alice"))
	raw = raw_login(daemon)
	try:
		raw.send(prefixed_message(alice.boundjid.full, "prefixed hello"))
		msg = xmpp.run(alice.next_body("prefixed hello"))
		check_prefixed_copy(msg, "prefixed hello")
		# alice's stream survived the stanza: the next one still arrives
		raw.send(f"<message to='{jid('alice')}' type='chat'><body>plain after</body>"
			 "</message>")
		xmpp.run(alice.next_body("plain after"))
		assert not alice.gone.done()
	finally:
		raw.close()


def test_prefixed_message_to_offline_user(daemon, xmpp):
	raw = raw_login(daemon)
	try:
		raw.send(prefixed_message(jid("alice"), "prefixed while away"))
		raw.ping_server("stored")	# handled, so stored, before alice logs in
		alice = xmpp.run(xmpp.login("alice"))
		msg = xmpp.run(alice.next_body("prefixed while away"))
		check_prefixed_copy(msg, "prefixed while away")
		assert msg.xml.find(f"{{{NS_DELAY}}}delay") is not None, msg
		raw.send(f"<message to='{jid('alice')}' type='chat'><body>online now</body>"
			 "</message>")
		xmpp.run(alice.next_body("online now"))
		assert not alice.gone.done()
	finally:
		raw.close()


def test_prefixed_presence_and_bounce(daemon, xmpp):
	alice = xmpp.run(xmpp.login("alice"))
	raw = raw_login(daemon)
	try:
		raw.send(f"<x:presence to='{alice.boundjid.full}'><x:status>e busy</x:status>"
			 "<e:mood/></x:presence>")
		pres = xmpp.run(alice.next_presence(match=lambda p: p["status"] == "e busy"))
		assert pres.xml.find(f"{{{NS_EXTRA}}}mood") is not None, pres
		# natterd's own answer to a prefixed stanza: an error the sender can parse
		raw.send("<x:message to='someone@elsewhere.example' type='chat' id='far'>"
			 "<x:body>far away</x:body></x:message>")
		got = raw.read_until(re.compile(rb"<message[^>]*far.*?</message>", re.S))
		err = parse(got[got.index("<message"):])
		assert err.get("type") == "error", got
		cond = "{urn:ietf:params:xml:ns:xmpp-stanzas}remote-server-not-found"
		assert err.find(f"{{jabber:client}}error/{cond}") is not None, got
		raw.send(f"<message to='{jid('alice')}' type='chat'><body>still here</body>"
			 "</message>")
		xmpp.run(alice.next_body("still here"))
		assert not alice.gone.done()
	finally:
		raw.close()


def test_prefixed_iq_reaches_its_handler(daemon):
	raw = raw_login(daemon)
	try:
		raw.send(f"<x:iq type='get' id='pp1' to='{DOMAIN}'><p:ping/></x:iq>")
		got = raw.read_until(re.compile(rb"<iq[^>]*pp1[^>]*(/>|>.*?</iq>)", re.S))
		assert re.search(r"type=[\"']result[\"']", got), got
	finally:
		raw.close()


def test_unbound_prefix_is_a_stream_error(daemon, xmpp):
	alice = xmpp.run(xmpp.login("alice"))
	raw = raw_login(daemon)
	try:
		raw.send(f"<message to='{alice.boundjid.full}' type='chat'><body>unbound</body>"
			 "<y:z/></message>")
		raw.read_until_closed()
		assert stream_error_condition(raw.seen.decode(errors="replace")) == \
			"not-well-formed", raw.seen[-500:]
	finally:
		raw.close()
	xmpp.run(alice.no_message(wait=0.3, match=lambda m: m["body"] == "unbound"))
	assert not alice.gone.done()
