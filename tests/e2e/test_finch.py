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
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import natter
from natter import USERS, jid
from test_profanity import TMUX, Tmux

FINCH = shutil.which("finch")
# gnt's default theme draws the focused window's title and button white on blue; capture-pane -e
# keeps the colours.
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


def colours(tm):
	"""The screen with its colour escapes."""
	return tm.tmux("capture-pane", "-p", "-e", "-t", tm.name, check=False).stdout


async def focus(tm, title, timeout):
	"""Presses Alt+n until the window titled title has the keyboard."""
	deadline = asyncio.get_running_loop().time() + timeout * natter.SLOW
	pattern = FOCUSED + re.escape(title)
	while asyncio.get_running_loop().time() < deadline:
		if re.search(pattern, colours(tm)):
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


def finch_accepts_and_chats(daemon, xmpp, tmp_path):
	"""finch logs alice in through the certificate dialog and chats with bob (slixmpp)."""
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
		assert re.search(FOCUSED + "Accept", colours(tm)), "Accept does not have the focus"
		tm.tmux("send-keys", "-t", tm.name, "Enter")
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


def write_old_cert(datadir):
	"""Replaces datadir's cert.pem with one of the shape natterd made before issue 10, for
	the same key: self-signed, CN and dNSName the domain, a 16-byte serial, keyUsage
	digitalSignature alone, CA:FALSE, serverAuth, valid from an hour ago for ten years."""
	tls = datadir / "tls"
	key = serialization.load_pem_private_key((tls / "key.pem").read_bytes(), None)
	name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, natter.DOMAIN)])
	made = datetime.now(timezone.utc).replace(microsecond=0)
	try:
		until = made.replace(year=made.year + 10)
	except ValueError:		# 29 February: natterd's timegm() makes it 1 March
		until = made.replace(year=made.year + 10, month=3, day=1)
	serial = int.from_bytes(os.urandom(16), "big") & ((1 << 126) - 1) | (1 << 126)
	usage = dict.fromkeys(("content_commitment", "key_encipherment", "data_encipherment",
			       "key_agreement", "key_cert_sign", "crl_sign", "encipher_only",
			       "decipher_only"), False)
	cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
		.public_key(key.public_key()).serial_number(serial)
		.not_valid_before(made - timedelta(hours=1)).not_valid_after(until)
		.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
		.add_extension(x509.KeyUsage(digital_signature=True, **usage), critical=True)
		.add_extension(x509.SubjectAlternativeName([x509.DNSName(natter.DOMAIN)]),
			       critical=False)
		.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
			       critical=False)
		.sign(key, hashes.SHA256()))
	(tls / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
	return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def fingerprints(log):
	return re.findall(r"certificate for \S+, sha256 fingerprint ([0-9A-F:]{95})", log)


def test_finch_accepts_the_certificate_and_chats(daemon, xmpp, tmp_path):
	finch_accepts_and_chats(daemon, xmpp, tmp_path)


def test_box_with_the_old_certificate_gets_one_finch_accepts(daemon_factory, xmpp, tmp_path):
	"""An upgraded box: natterd's old certificate is made anew, for the same key, at start."""
	first = daemon_factory()
	first.stop()
	key = (first.datadir / "tls" / "key.pem").read_bytes()
	old_fp = write_old_cert(first.datadir)
	daemon = daemon_factory.restart(first)
	log = daemon.log()
	assert f"sha256 {old_fp}) is natterd's old self-signed certificate" in log, log
	new_fp = fingerprints(log)
	assert len(new_fp) == 1 and new_fp[0] != old_fp, log
	assert f"new certificate {daemon.cert}, sha256 fingerprint {new_fp[0]}" in log, log
	assert (daemon.datadir / "tls" / "key.pem").read_bytes() == key
	finch_accepts_and_chats(daemon, xmpp, tmp_path)
