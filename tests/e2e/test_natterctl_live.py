"""natterctl changing accounts while natterd runs (both share the LMDB environment)."""
import asyncio
import re
import time

import natter
from natter import jid, natterctl


def test_adduser_then_login_at_once(daemon, xmpp):
	natterctl(daemon.datadir, "adduser", jid("dave"), stdin="dave-pw-4\n")

	async def go():
		dave = await xmpp.login("dave", "dave-pw-4", mech="SCRAM-SHA-256")
		alice = await xmpp.login("alice")
		dave.say(alice.boundjid.full, "hi, I am new")
		msg = await alice.next_body("hi, I am new")
		assert msg["from"].bare == jid("dave")
	xmpp.run(go())
	listed = natterctl(daemon.datadir, "list").stdout
	assert jid("dave") in listed and jid("alice") in listed, listed


def test_passwd_switches_password(daemon, xmpp):
	natterctl(daemon.datadir, "passwd", jid("alice"), stdin="alice-new-pw\n")

	async def go():
		for mech in ("SCRAM-SHA-256", "PLAIN"):
			err = await xmpp.login_fails("alice", natter.USERS["alice"], mech=mech)
			assert err.conditions == ["not-authorized"], str(err)
		alice = await xmpp.login("alice", "alice-new-pw", mech="SCRAM-SHA-1")
		assert alice.boundjid.bare == jid("alice")
	xmpp.run(go())


def test_passwd_throws_the_old_sessions_out(daemon, xmpp):
	"""A new password ends every session that logged in with the old one (a thief's), with
	a stream error; other accounts' sessions and sessions made with the new password stay."""
	async def login():
		thief = await xmpp.login("alice", resource="thief", mech="SCRAM-SHA-256")
		plain = await xmpp.login("alice", resource="plain", mech="PLAIN")
		bob = await xmpp.login("bob")
		return thief, plain, bob
	thief, plain, bob = xmpp.run(login())

	t0 = time.monotonic()
	natterctl(daemon.datadir, "passwd", jid("alice"), stdin="alice-new-pw\n")

	async def after():
		await asyncio.gather(*(c.wait_gone(3 * natter.SLOW) for c in (thief, plain)))
		took = time.monotonic() - t0
		assert took <= 2.5 * natter.SLOW, f"sessions closed only after {took:.2f} s"
		for c in (thief, plain):
			assert c.stream_error_conditions() == ["not-authorized"], c.stream_errors
		assert not bob.gone.done()
		alice = await xmpp.login("alice", "alice-new-pw", resource="owner")
		# Another account change is noticed too, and leaves the new session alone.
		carol = await xmpp.login("carol")
		natterctl(daemon.datadir, "deluser", jid("carol"))
		await carol.wait_gone(3 * natter.SLOW)
		assert not alice.gone.done() and not bob.gone.done()
		alice.say(bob.boundjid.full, "new password, same me")
		await bob.next_body("new password, same me")
	xmpp.run(after())


def test_deluser_closes_live_sessions(daemon, xmpp):
	async def login():
		b1 = await xmpp.login("bob", resource="one")
		b2 = await xmpp.login("bob", resource="two")
		alice = await xmpp.login("alice")
		return b1, b2, alice
	b1, b2, alice = xmpp.run(login())

	t0 = time.monotonic()
	natterctl(daemon.datadir, "deluser", jid("bob"))

	async def after():
		await asyncio.gather(b1.wait_gone(3 * natter.SLOW), b2.wait_gone(3 * natter.SLOW))
		took = time.monotonic() - t0
		assert took <= 2.5 * natter.SLOW, f"sessions closed only after {took:.2f} s"
		# alice is untouched and bob cannot come back.
		assert not alice.gone.done()
		err = await xmpp.login_fails("bob", natter.USERS["bob"], mech="PLAIN")
		assert err.conditions == ["not-authorized"], str(err)
		carol = await xmpp.login("carol")
		carol.say(alice.boundjid.full, "still here")
		await alice.next_body("still here")
	xmpp.run(after())
	listed = natterctl(daemon.datadir, "list").stdout
	assert jid("bob") not in listed, listed


def test_unset_box_logs_its_setup_code(daemon_factory):
	"""With no account yet natterd's log says the setup code (the one natterctl shows);
	once there are accounts it does not repeat it."""
	d = daemon_factory(users=False)
	m = re.search(r"no accounts yet: the setup code is ([A-Z0-9]{4}-[A-Z0-9]{4})", d.log())
	assert m, d.log()[-2000:]
	assert natter.natterctl(d.datadir, "setup-code").stdout.strip() == m.group(1)
	natter.add_user(d.datadir, "alice", natter.USERS["alice"])
	d.stop()
	d2 = daemon_factory.restart(d)
	assert "setup code" not in d2.log()
