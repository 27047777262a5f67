"""Fixtures for natter's end-to-end tests.

daemon_factory  start natterd instances (each on free loopback ports, own data dir); at the end
                of the test each still running one gets SIGTERM and must exit 0 (and, in a
                sanitizer build, report nothing).
daemon          one natterd with the users in natter.USERS, default options.
xmpp            a natter.Session: this test's own asyncio loop plus slixmpp logins on it.
unprivileged    (needs root) the user natterd drops to, made for the test if missing, and a
                folder that user can reach for the data dir: (passwd entry, folder).
"""
import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import natter  # noqa: E402


# The lwIP-only tests need the network namespace that `make e2e-lwip` runs the suite in.
collect_ignore = [] if natter.NET == "lwip" else ["test_lwip.py"]
# The QEMU board test boots a guest from a board's bundle: `make test-qemu` runs it.
if os.environ.get("NATTER_QEMU") != "1":
	collect_ignore.append("test_qemu_board.py")


class Factory:
	def __init__(self, tmp_path):
		self.tmp_path = tmp_path
		self.daemons = []
		self.n = 0

	def datadir(self):
		self.n += 1
		return self.tmp_path / f"data{self.n}"

	def __call__(self, *, datadir=None, users=True, extra=(), **kw):
		"""Start a natterd; users=True first creates the accounts in natter.USERS."""
		datadir = Path(datadir) if datadir else self.datadir()
		datadir.mkdir(parents=True, exist_ok=True)
		if users:
			for user, pw in natter.USERS.items():
				natter.add_user(datadir, user, pw)
		d = natter.Daemon(datadir, extra=extra, **kw)
		self.daemons.append(d)
		d.start()
		return d

	def with_limits(self, daemon_kw=None, **limits):
		"""A natterd whose data dir has these limit.* settings (name_with_underscores=N)."""
		dd = self.datadir()
		dd.mkdir(parents=True)
		for name, value in limits.items():
			natter.natterctl(dd, "set", "limit." + name, str(value))
		return self(datadir=dd, **(daemon_kw or {}))

	def restart(self, old, **kw):
		"""A new natterd on old's data dir (old must be stopped or killed)."""
		assert not old.running()
		kw.setdefault("lwip_args", old.lwip_args)
		d = natter.Daemon(old.datadir, extra=old.extra, **kw)
		self.daemons.append(d)
		d.start()
		return d

	def stop_all(self):
		problems = []
		for d in self.daemons:
			if d.killed or d.proc is None:
				continue
			try:
				d.stop()
				d.check_exit()
			except (AssertionError, natter.DaemonError) as e:
				problems.append(str(e))
			# Shown by pytest only when the test fails.
			print(f"--- {d.logpath.name} (tail) ---\n{d.log()[-3000:]}")
		return problems


@pytest.fixture
def daemon_factory(tmp_path):
	f = Factory(tmp_path)
	yield f
	problems = f.stop_all()
	assert not problems, "\n\n".join(problems)


@pytest.fixture
def daemon(daemon_factory):
	return daemon_factory()


@pytest.fixture
def xmpp(daemon_factory):
	"""slixmpp on a fresh event loop; closed (clients first) before the daemons stop."""
	loop = asyncio.new_event_loop()
	asyncio.set_event_loop(loop)

	def current():
		assert daemon_factory.daemons, "no daemon started"
		running = [d for d in daemon_factory.daemons if d.running()]
		return running[-1] if running else daemon_factory.daemons[-1]

	s = natter.Session(loop, current)
	yield s
	s.close_all()
	pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
	for t in pending:
		t.cancel()
	if pending:
		loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
	loop.run_until_complete(loop.shutdown_asyncgens())
	loop.close()
	asyncio.set_event_loop(None)


@pytest.fixture
def unprivileged():
	assert os.geteuid() == 0, "the privilege-drop tests need root, as natterd on a board"
	made = False
	try:
		pwd.getpwnam(natter.UNPRIV_USER)
	except KeyError:
		subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
				"/usr/sbin/nologin", natter.UNPRIV_USER], check=True)
		made = True
	# pytest's own temporary folders are root's only: the data dir lives where its user can
	# reach it, as /var/lib/natter does on a board.
	base = Path(tempfile.mkdtemp(prefix="natter-privs-"))
	base.chmod(0o755)
	yield pwd.getpwnam(natter.UNPRIV_USER), base
	shutil.rmtree(base, ignore_errors=True)
	if made:
		subprocess.run(["userdel", natter.UNPRIV_USER], check=False)
