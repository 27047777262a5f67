"""A person's path: Debian's profanity (libstrophe, OpenSSL) in tmux talks to a slixmpp user.

profanity verifies natterd's self-signed certificate for real: the certificate goes into a
CA directory (OpenSSL hashed-name layout) that '/tls certpath set' points libstrophe at, and
libstrophe checks it against the JID's domain while connecting to 127.0.0.1."""
import asyncio
import os
import re
import shutil
import subprocess
import time


import natter
from natter import USERS, jid

TMUX = shutil.which("tmux")
PROFANITY = shutil.which("profanity")
OPENSSL = shutil.which("openssl")


class Tmux:
	"""A private tmux server (own socket) holding one session."""

	def __init__(self, name):
		self.sock = name
		self.name = name

	def tmux(self, *args, check=True):
		return subprocess.run([TMUX, "-L", self.sock, *args], capture_output=True,
				      text=True, timeout=10, check=check)

	def start(self, command):
		self.tmux("new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", command)

	def type(self, text):
		self.tmux("send-keys", "-t", self.name, "-l", text)
		self.tmux("send-keys", "-t", self.name, "Enter")

	def screen(self):
		return self.tmux("capture-pane", "-p", "-J", "-t", self.name, check=False).stdout

	def kill(self):
		self.tmux("kill-session", "-t", self.name, check=False)
		self.tmux("kill-server", check=False)

	async def wait_for(self, pattern, timeout, fail=None):
		"""Poll the screen until regex pattern shows (returns the screen); fail is a regex
		that means it went wrong. Polls with asyncio.sleep so slixmpp keeps running."""
		deadline = time.monotonic() + timeout * natter.SLOW
		screen = ""
		while time.monotonic() < deadline:
			screen = self.screen()
			if re.search(pattern, screen):
				return screen
			if fail and re.search(fail, screen):
				raise AssertionError(f"profanity shows /{fail}/:\n{screen}")
			await asyncio.sleep(0.2)
		raise AssertionError(f"profanity never showed /{pattern}/:\n{screen}")


def ca_dir_for(cert, where):
	"""An OpenSSL CA directory holding cert under its subject-hash name."""
	where.mkdir(parents=True, exist_ok=True)
	h = subprocess.run([OPENSSL, "x509", "-subject_hash", "-noout", "-in", str(cert)],
			   capture_output=True, text=True, timeout=10, check=True).stdout.strip()
	assert re.fullmatch(r"[0-9a-f]{8}", h), h
	shutil.copy(cert, where / "natter.pem")
	os.symlink("natter.pem", where / f"{h}.0")
	return where


def test_profanity_chats_with_slixmpp(daemon, xmpp, tmp_path):
	for tool, path in (("tmux", TMUX), ("profanity", PROFANITY), ("openssl", OPENSSL)):
		assert path, f"{tool} is not installed (tools/deps.sh installs it)"
	home = tmp_path / "home"
	for d in ("home", "config", "data"):
		(tmp_path / d).mkdir()
	cadir = ca_dir_for(daemon.cert, tmp_path / "cadir")
	env = (f"env -i PATH=/usr/bin:/bin HOME={home} XDG_CONFIG_HOME={tmp_path / 'config'} "
	       f"XDG_DATA_HOME={tmp_path / 'data'} TERM=xterm-256color LANG=C.UTF-8")
	tm = Tmux(f"natter-e2e-{os.getpid()}")
	logfile = tmp_path / "data" / "profanity" / "logs" / "profanity.log"

	async def go():
		bob = await xmpp.login("bob", resource="slix")
		tm.start(f"{env} {PROFANITY} -l DEBUG")
		await tm.wait_for(r"Type /help|Profanity\.", 15)
		tm.type(f"/tls certpath set {cadir}")
		await tm.wait_for(r"Certificate path set to", 5, fail=r"(?i)does not exist")
		tm.type(f"/connect {jid('alice')} server {natter.HOST} "
			f"port {daemon.c2s_port} tls force")
		await tm.wait_for(r"(?i)enter password", 10)
		tm.type(USERS["alice"])
		await tm.wait_for(r"logged in successfully", 15, fail=(
			r"(?i)login failed|verification failed|/tls allow|lost connection"))

		tm.type(f"/msg {jid('bob')} hello from profanity")
		msg = await bob.next_body("hello from profanity", 10 * natter.SLOW)
		assert msg["from"].bare == jid("alice"), msg["from"]
		assert msg["from"].resource, "profanity's message has no resource in from"

		bob.say(msg["from"].full, "hi profanity, slixmpp here")
		try:
			await tm.wait_for(r"hi profanity, slixmpp here", 5)
		except AssertionError:
			# The reply may sit in the chat window rather than the focused one.
			tm.type("/win 2")
			await tm.wait_for(r"hi profanity, slixmpp here", 5)
		tm.type("/quit")
		await asyncio.sleep(0.3)

	try:
		xmpp.run(go(), timeout=90)
	except BaseException:
		if logfile.exists():
			tail = logfile.read_text(errors="replace")[-6000:]
			print("--- profanity.log (tail) ---\n" + tail)
		print("--- screen ---\n" + tm.screen())
		raise
	finally:
		tm.kill()
