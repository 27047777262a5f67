"""When storage runs short: each user's share of offline storage, the store's reserve for
accounts, and the map growing under load. Whatever the box accepts is delivered; whatever it
cannot keep is bounced to its sender with resource-constraint, never dropped in silence."""
import re

from natter import add_user, jid

# Stanzas near the 64 KiB stanza limit fill the store with few round trips.
FILL = "y" * 60000
LINE = re.compile(r"^#(\d{4}) y+$")


def body(i):
	return f"#{i:04d} {FILL}"


def index(msg):
	m = LINE.match(msg["body"] or "")
	return int(m.group(1)) if m else None


def send(sender, to, i):
	"""Message i, with an id that its bounce carries back (a bounce has no body)."""
	msg = sender.make_message(mto=jid(to), mbody=body(i), mtype="chat")
	msg["id"] = f"fill-{to}-{i:04d}"
	msg.send()


def bounced(msg):
	return int(msg["id"].rsplit("-", 1)[1])


async def flood(sender, to, limit):
	"""Up to `limit` big messages to `to`, in rounds of 20 with a ping round trip after each,
	until the server bounces one. Returns (indexes accepted, the bounce or None)."""
	accepted, sent = [], 0
	while sent < limit:
		batch = range(sent, min(sent + 20, limit))
		for i in batch:
			send(sender, to, i)
		sent = batch[-1] + 1
		await sender.ping()
		errors = [m for m in sender.drain_messages() if m["type"] == "error"]
		refused = sorted(bounced(m) for m in errors)
		accepted += [i for i in batch if i not in refused]
		if errors:
			assert refused == list(range(refused[0], sent)), (
				f"refused {refused}: once full, everything after must be refused too")
			return accepted, errors[0]
	return accepted, None


async def receive_all(xmpp, user, want, resource):
	client = await xmpp.login(user, resource=resource)
	got = []
	while len(got) < len(want):
		msg = await client.next_message(match=lambda m: index(m) is not None)
		got.append(index(msg))
	assert got == want, "not every accepted message arrived, in order, once"
	await client.ping()
	assert not [m for m in client.drain_messages() if index(m) is not None]
	await client.close()


def test_one_user_cannot_take_more_than_a_share(daemon, xmpp):
	"""CONFIG_NT_OFFLINE_USER_MAX_KB (10 MiB): about 170 of these, far below the 1000
	messages the count limit allows. Before the byte quota, 60 MB went in for one user."""
	async def go():
		bob = await xmpp.login("bob", resource="flood")
		accepted, bounce = await flood(bob, "alice", 400)
		assert bounce is not None, "400 messages of 60 KB stored for one user"
		assert bounce["error"]["condition"] == "resource-constraint"
		assert bounce["error"]["type"] == "wait"
		assert 150 <= len(accepted) <= 175, f"{len(accepted)} accepted"
		# Another user still gets messages stored.
		send(bob, "carol", 0)
		await bob.ping()
		assert not [m for m in bob.drain_messages() if m["type"] == "error"]
		await receive_all(xmpp, "alice", accepted, "a")
		await receive_all(xmpp, "carol", [0], "c")
	xmpp.run(go(), timeout=180)


def test_a_full_store_keeps_room_for_accounts(daemon_factory, xmpp):
	"""A store limited to 16 MiB keeps 4 MiB back: offline messages stop at about 12 MiB
	(alice's 10 MiB share, then 2 MiB for carol), an admin can still add an account while
	natterd runs, and every message accepted before the store filled is delivered."""
	d = daemon_factory(extra=["--store-max-mb", "16"])

	async def fill():
		bob = await xmpp.login("bob", resource="flood")
		to_alice, bounce = await flood(bob, "alice", 400)
		assert bounce is not None and bounce["error"]["condition"] == "resource-constraint"
		to_carol, bounce = await flood(bob, "carol", 400)
		assert bounce is not None, "the store took more than its limit"
		assert bounce["error"]["condition"] == "resource-constraint"
		assert 10 <= len(to_carol) <= 60, f"{len(to_carol)} for carol"
		return to_alice, to_carol
	to_alice, to_carol = xmpp.run(fill(), timeout=180)
	assert "the store is full" in d.log()

	add_user(d.datadir, "dave", "dave-Secret-4")		# the reserve is for this

	async def deliver():
		await receive_all(xmpp, "alice", to_alice, "a")
		await receive_all(xmpp, "carol", to_carol, "c")
		await (await xmpp.login("dave", "dave-Secret-4")).close()
		# Delivered and deleted: the room is there again.
		bob = await xmpp.login("bob", resource="again")
		again, bounce = await flood(bob, "carol", 20)
		assert bounce is None and again == list(range(20))
	xmpp.run(deliver(), timeout=180)


def test_the_store_grows_under_load(daemon_factory, xmpp):
	"""A new store's map is 16 MiB (CONFIG_NT_LMDB_MAP_MB); 20 MB for two offline users
	make it grow, with nothing refused."""
	d = daemon_factory(extra=["--store-max-mb", "64"])

	async def go():
		bob = await xmpp.login("bob", resource="flood")
		to_alice, bounce = await flood(bob, "alice", 165)
		assert bounce is None
		to_carol, bounce = await flood(bob, "carol", 165)
		assert bounce is None
		await receive_all(xmpp, "alice", to_alice, "a")
		await receive_all(xmpp, "carol", to_carol, "c")
	xmpp.run(go(), timeout=180)
	assert re.search(r"store: .*: map grown from 16 to 32 MiB", d.log()), d.log()[-3000:]
