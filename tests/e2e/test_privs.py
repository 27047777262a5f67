"""natterd started as root opens its ports and files, then runs as its own unprivileged user
(on a board: the user the init script made). The rest of the suite runs natterd as whoever
runs the tests (--user root when that is root); this file checks the drop itself."""
import os
import re
import signal
import time
from pathlib import Path

import pytest

import natter

USER = natter.UNPRIV_USER
CAP_NET_ADMIN, CAP_NET_RAW = 12, 13


def proc_ids(pid):
	status = Path(f"/proc/{pid}/status").read_text()
	uids = [int(x) for x in re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()]
	gids = [int(x) for x in re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()]
	capeff = int(re.search(r"^CapEff:\s+(\w+)$", status, re.M).group(1), 16)
	return uids, gids, capeff


def test_root_drops_to_its_user_and_keeps_working(unprivileged, daemon_factory):
	pw, base = unprivileged
	d = daemon_factory(datadir=base / "data", extra=["--user", USER])
	uids, gids, capeff = proc_ids(d.proc.pid)
	assert uids == [pw.pw_uid] * 4, uids		# real, effective, saved, filesystem
	assert gids == [pw.pw_gid] * 4, gids
	want = (1 << CAP_NET_ADMIN | 1 << CAP_NET_RAW) if natter.NET == "lwip" else 0
	assert capeff == want, hex(capeff)		# lwIP keeps what reattaching its port needs
	assert f"running as {USER}" in d.log()
	for path in [d.datadir, *d.datadir.rglob("*")]:
		assert path.lstat().st_uid == pw.pw_uid, path

	# Works as that user: a login, an account added by root's natterctl meanwhile, and
	# the certificate read again on SIGHUP.
	a = natter.RawConn(d.c2s_port, cafile=d.cert)
	a.login("alice", natter.USERS["alice"])
	natter.add_user(d.datadir, "dave", "dave-Secret-4")
	b = natter.RawConn(d.c2s_port, cafile=d.cert)
	b.login("dave", "dave-Secret-4")
	d.proc.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + natter.TIMEOUT
	while "reloading the certificate" not in d.log():
		assert time.monotonic() < deadline, d.log()[-2000:]
		time.sleep(0.05)
	time.sleep(0.2)
	assert "tls: " in d.log().split("reloading the certificate", 1)[1]
	assert " error " not in d.log(), d.log()[-2000:]
	a.close()
	b.close()


def test_drop_gives_away_only_its_own_files(unprivileged, daemon_factory):
	"""The data dir's user may have planted links in it while natterd ran as that user: root
	must not give the files they point to away, nor keep a way back to more privileges."""
	pw, base = unprivileged
	data = base / "data"
	data.mkdir()
	secret = base / "root-secret"		# stands for /etc/shadow: same filesystem, root's
	secret.write_text("root only\n")
	secret.chmod(0o600)
	os.link(secret, data / "planted-hard-link")
	os.symlink(secret, data / "planted-symlink")
	sub = data / "sub"
	sub.mkdir()
	os.link(secret, sub / "deeper-hard-link")
	own = sub / "own-file"
	own.write_text("natterd's\n")

	d = daemon_factory(datadir=data, extra=["--user", USER])
	assert f"running as {USER}" in d.log()
	st = secret.stat()
	assert (st.st_uid, st.st_gid) == (0, 0), "root's file was given to natterd's user"
	assert st.st_mode & 0o777 == 0o600
	assert (data / "planted-symlink").lstat().st_uid == 0
	assert "planted-hard-link is a file with other names (a hard link)" in d.log()
	for path in (data, sub, own, data / "data.mdb"):
		assert path.lstat().st_uid == pw.pw_uid, path
	status = Path(f"/proc/{d.proc.pid}/status").read_text()
	assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status


def test_unknown_user_is_refused(unprivileged):
	_, base = unprivileged
	d = natter.Daemon(base / "data", extra=["--user", "no-such-user-here"])
	with pytest.raises(natter.DaemonError) as e:
		d.start()
	assert d.returncode == 1
	assert "no user 'no-such-user-here'" in str(e.value)
