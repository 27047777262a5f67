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


def test_unknown_user_is_refused(unprivileged):
	_, base = unprivileged
	d = natter.Daemon(base / "data", extra=["--user", "no-such-user-here"])
	with pytest.raises(natter.DaemonError) as e:
		d.start()
	assert d.returncode == 1
	assert "no user 'no-such-user-here'" in str(e.value)
