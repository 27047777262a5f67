"""A person's path with libpurple: Debian's finch (Pidgin's terminal twin, TLS through NSS) in tmux
accepts the box's self-signed certificate through its dialog, then chats with a slixmpp user.

NSS refuses a self-signed certificate whose keyUsage lacks keyCertSign as an invalid chain, and
libpurple then shows "SSL Certificate Error" with no way to accept it (natter issue 10). With
keyCertSign the person gets "Accept certificate for ADDRESS?" and can say yes, as here.

finch's windows overlap and a new one does not take the keyboard: focus() moves it there with
Alt+n, finch's "next window" key, reading which title gnt draws in its focus colours."""
import asyncio
import os
import re
import shutil
from xml.sax.saxutils import escape

import natter
from natter import USERS, jid
from test_profanity import TMUX, Tmux

FINCH = shutil.which("finch")
# gnt's default theme draws the focused window's title white on blue; capture-pane -e keeps it.
FOCUSED = re.escape("\x1b[37m\x1b[44m") + "\x0f?"

ACCOUNTS = """<?xml version='1.0' encoding='UTF-8' ?>
<account version='1.0'>
 <account>
  <protocol>prpl-jabber</protocol>
  <name>{jid}/finch</name>
  <password>{password}</password>
  <settings>
   <setting name='connect_server' type='string'>{host}</setting>
   <setting name='port' type='int'>{port}</setting>
   <setting name='connection_security' type='string'>require_tls</setting>
  </settings>
  <settings ui='gnt-purple'>
   <setting name='auto-login' type='bool'>1</setting>
  </settings>
 </account>
</account>
"""


def purple_home(tmp_path, daemon):
	"""A HOME whose ~/.purple has one enabled XMPP account: alice, to the daemon's STARTTLS
	port at the address clients use, encryption required."""
	home = tmp_path / "home"
	(home / ".purple").mkdir(parents=True)
	(home / ".purple" / "accounts.xml").write_text(ACCOUNTS.format(
		jid=escape(jid("alice")), password=escape(USERS["alice"]), host=escape(natter.HOST),
		port=daemon.c2s_port))
	return home


async def focus(tm, title, timeout):
	"""Presses Alt+n until the window titled title has the keyboard."""
	deadline = asyncio.get_running_loop().time() + timeout * natter.SLOW
	pattern = FOCUSED + re.escape(title)
	while asyncio.get_running_loop().time() < deadline:
		screen = tm.tmux("capture-pane", "-p", "-e", "-t", tm.name, check=False).stdout
		if re.search(pattern, screen):
			return
		tm.tmux("send-keys", "-t", tm.name, "M-n")
		await asyncio.sleep(0.2)
	raise AssertionError(f"finch's window {title!r} never took the keyboard:\n{tm.screen()}")


async def wait_log(daemon, pattern, timeout):
	deadline = asyncio.get_running_loop().time() + timeout * natter.SLOW
	while asyncio.get_running_loop().time() < deadline:
		if re.search(pattern, daemon.log()):
			return
		await asyncio.sleep(0.1)
	raise AssertionError(f"natterd never logged /{pattern}/:\n{daemon.log()[-3000:]}")


def test_finch_accepts_the_certificate_and_chats(daemon, xmpp, tmp_path):
	for tool, path in (("tmux", TMUX), ("finch", FINCH)):
		assert path, f"{tool} is not installed (tools/deps.sh installs it)"
	home = purple_home(tmp_path, daemon)
	env = (f"env -i PATH=/usr/bin:/bin HOME={home} TERM=xterm-256color LANG=C.UTF-8")
	tm = Tmux(f"natter-finch-{os.getpid()}")
	host = re.escape(natter.HOST)

	async def go():
		bob = await xmpp.login("bob", resource="slix")
		tm.start(f"{env} {FINCH}")
		# The old certificate got "SSL Certificate Error": "The certificate chain
		# presented is invalid", with an OK button only.
		await tm.wait_for(r"SSL Certificate Verification", 20,
				  fail=r"SSL Certificate Error|invalid certificate")
		await focus(tm, "SSL Certificate Verification", 10)	# also brings it to the top
		# libpurple names the address it connected to; the domain comes next ("claims to
		# be from localhost instead").
		screen = await tm.wait_for(rf"Accept certificate for {host}\?", 5)
		assert "self-signed" in screen, screen
		tm.tmux("send-keys", "-t", tm.name, "Enter")	# Accept, the first button, has focus
		await wait_log(daemon, r"alice@localhost/finch bound from", 15)

		bob.say(jid("alice"), "hello finch, slixmpp here")
		await tm.wait_for(r"hello finch, slixmpp here", 10)
		await focus(tm, jid("bob"), 10)
		tm.type("hi bob, typed in finch")
		msg = await bob.next_body("hi bob, typed in finch", 10 * natter.SLOW)
		assert msg["from"].full == jid("alice") + "/finch", msg["from"]

	try:
		xmpp.run(go(), timeout=90)
	except BaseException:
		print("--- screen ---\n" + tm.screen())
		raise
	finally:
		tm.kill()
	# What the person accepted is the box's certificate: libpurple keeps it for next time.
	kept = home / ".purple" / "certificates" / "x509" / "tls_peers" / natter.HOST
	assert kept.exists(), f"finch kept no certificate for {natter.HOST}"
	assert pem_body(kept) == pem_body(daemon.cert)


def pem_body(path):
	return "".join(path.read_text().split("-----")[2].split())
