"""natterctl on its own: accounts, passwords, errors and exit codes, against temp data dirs.

The store is inspected and damaged with lmdb-utils (mdb_dump, mdb_load), and the SCRAM keys
natterctl stores are checked against a password with Python's own PBKDF2 and HMAC.
"""
import hashlib
import hmac
import os
import pty
import re
import select
import shutil
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

import natter
from natter import EXEC, SLOW

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NATTER_BUILD", str(REPO / "build")))
NATTERCTL = BUILD / "natterctl"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
TIMEOUT = 30 * SLOW


def iterations():
	"""CONFIG_NT_SCRAM_ITERATIONS of the build under test."""
	text = (BUILD / "autoconf.h").read_text()
	return int(re.search(r"#define CONFIG_NT_SCRAM_ITERATIONS (\d+)", text).group(1))


def ctl(*args, datadir=None, stdin="", env=None):
	"""Runs natterctl [--datadir DIR] ARGS; returns the CompletedProcess."""
	cmd = [*EXEC, str(NATTERCTL)]
	if datadir is not None:
		cmd += ["--datadir", str(datadir)]
	cmd += [str(a) for a in args]
	run_env = dict(os.environ)
	run_env.pop("NATTER_DATADIR", None)
	run_env.update(env or {})
	proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=run_env,
			      timeout=TIMEOUT)
	for mark in SANITIZER_MARKS:
		assert mark not in proc.stderr, proc.stderr
	return proc


def ok(*args, **kw):
	proc = ctl(*args, **kw)
	assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
	return proc


def fails(code, message, *args, **kw):
	"""Runs natterctl, expecting exit code and a 'natterctl: ' line containing message."""
	proc = ctl(*args, **kw)
	assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
	lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("natterctl: ")]
	assert any(message in ln for ln in lines), proc.stderr
	return proc


def adduser(d, jid, pw):
	return ok("adduser", jid, datadir=d, stdin=pw + "\n")


# The store seen from outside ------------------------------------------------------------------

# An LMDB file is not portable between 32- and 64-bit builds, so a cross build's store is read
# with the target's own lmdb-utils: NATTER_MDB_BIN names their folder, and they run like
# natterctl (NATTER_EXEC). Without it, the host's.
MDB_BIN = os.environ.get("NATTER_MDB_BIN")


def mdb(tool, *args):
	"""The command line of lmdb-utils' tool with args."""
	if MDB_BIN:
		return [*EXEC, str(Path(MDB_BIN) / tool), *args]
	return [tool, *args]


def have_lmdb_utils():
	if MDB_BIN:
		return True	# set by make test ARCH=...: a missing tool is an error, not a skip
	return shutil.which("mdb_dump") and shutil.which("mdb_load")


needs_lmdb_utils = pytest.mark.skipif(not have_lmdb_utils(), reason="lmdb-utils not installed")


def dump(d, table):
	"""{key bytes: value bytes} of one table, read with mdb_dump."""
	out = subprocess.run(mdb("mdb_dump", "-s", table, str(d)), capture_output=True, text=True,
			     check=True, timeout=TIMEOUT).stdout
	body = out.split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0]
	vals = [bytes.fromhex(ln.strip()) for ln in body.splitlines() if ln.strip()]
	return dict(zip(vals[0::2], vals[1::2]))


def load(d, table, records):
	"""Writes raw records into a table with mdb_load (overwriting keys that exist)."""
	lines = ["VERSION=3", "format=bytevalue", "type=btree", "HEADER=END"]
	for k, v in records.items():
		lines += [" " + k.hex(), " " + v.hex()]
	lines.append("DATA=END")
	subprocess.run(mdb("mdb_load", "-s", table, str(d)), input="\n".join(lines) + "\n",
		       text=True, check=True, timeout=TIMEOUT)


def decode_account(v):
	"""The account value layout documented in firmware/store/accounts.c."""
	assert v[0] == 1, "version byte"
	flags, created = struct.unpack(">IQ", v[1:13])
	pos, creds = 13, []
	for name in ("sha1", "sha256"):
		it, slen = struct.unpack(">IB", v[pos:pos + 5])
		pos += 5
		salt = v[pos:pos + slen]
		pos += slen
		klen = v[pos]
		pos += 1
		stored, server = v[pos:pos + klen], v[pos + klen:pos + 2 * klen]
		pos += 2 * klen
		creds.append(dict(hash=name, iterations=it, salt=salt, stored=stored,
				  server=server))
	assert pos == len(v), "trailing bytes"
	return dict(flags=flags, created=created, creds=creds)


def password_matches(cred, pw):
	"""RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey likewise."""
	salted = hashlib.pbkdf2_hmac(cred["hash"], pw.encode(), cred["salt"], cred["iterations"])
	client_key = hmac.new(salted, b"Client Key", cred["hash"]).digest()
	server_key = hmac.new(salted, b"Server Key", cred["hash"]).digest()
	return (hashlib.new(cred["hash"], client_key).digest() == cred["stored"]
		and server_key == cred["server"])


def account(d, jid):
	return decode_account(dump(d, "accounts")[jid.encode()])


def offline_key(jid, seq):
	return jid.encode() + b"\0" + struct.pack(">Q", seq)


# Happy paths -------------------------------------------------------------------------------------

def test_adduser_creates_datadir_and_private_store(tmp_path):
	d = tmp_path / "new"
	proc = adduser(d, "alice@example.org", "alice-pw")
	assert "alice@example.org" in proc.stdout
	assert stat.S_IMODE(d.stat().st_mode) == 0o700
	assert stat.S_IMODE((d / "data.mdb").stat().st_mode) == 0o600
	assert ok("list", datadir=d).stdout == "alice@example.org\n"
	assert ok("check", datadir=d).stdout.strip() == "ok: 1 accounts, 0 offline messages"


def test_adduser_in_existing_empty_dir(tmp_path):
	adduser(tmp_path, "bob@example.org", "pw")
	assert ok("list", datadir=tmp_path).stdout == "bob@example.org\n"


def test_list_is_sorted_and_jids_are_prepared(tmp_path):
	for user in ("carol", "Alice", "bob", "dave"):
		adduser(tmp_path, f"{user}@Example.ORG", user + "-pw")
	assert ok("list", datadir=tmp_path).stdout.splitlines() == [
		"alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"]


@needs_lmdb_utils
def test_stored_credentials_match_the_password(tmp_path):
	t0 = int(time.time())
	adduser(tmp_path, "alice@example.org", "correct horse")
	adduser(tmp_path, "bob@example.org", "correct horse")
	a, b = account(tmp_path, "alice@example.org"), account(tmp_path, "bob@example.org")
	assert t0 - 5 <= a["created"] <= time.time() + 5
	salts = set()
	for cred in a["creds"] + b["creds"]:
		assert cred["iterations"] == iterations()
		assert len(cred["salt"]) == 16
		salts.add(cred["salt"])
		assert password_matches(cred, "correct horse")
		assert not password_matches(cred, "correct horse\n")
	assert len(salts) == 4, "every credential has its own random salt"
	assert [len(c["stored"]) for c in a["creds"]] == [20, 32]


@needs_lmdb_utils
def test_password_line_loses_only_its_line_end(tmp_path):
	ok("adduser", "a@x", datadir=tmp_path, stdin=" spaced pw \r\nsecond line\n")
	ok("adduser", "b@x", datadir=tmp_path, stdin="no newline at all")
	for cred in account(tmp_path, "a@x")["creds"]:
		assert password_matches(cred, " spaced pw ")
	for cred in account(tmp_path, "b@x")["creds"]:
		assert password_matches(cred, "no newline at all")


@needs_lmdb_utils
def test_passwd_replaces_credentials_and_keeps_the_rest(tmp_path):
	adduser(tmp_path, "alice@example.org", "old-pw")
	before = account(tmp_path, "alice@example.org")
	proc = ok("passwd", "alice@example.org", datadir=tmp_path, stdin="new-pw\n")
	assert "old-pw" not in proc.stdout + proc.stderr
	assert "new-pw" not in proc.stdout + proc.stderr
	after = account(tmp_path, "alice@example.org")
	assert (after["flags"], after["created"]) == (before["flags"], before["created"])
	for cred in after["creds"]:
		assert password_matches(cred, "new-pw")
		assert not password_matches(cred, "old-pw")
	assert ok("list", datadir=tmp_path).stdout == "alice@example.org\n"


@needs_lmdb_utils
def test_deluser_removes_account_and_offline_messages(tmp_path):
	adduser(tmp_path, "alice@example.org", "pw")
	adduser(tmp_path, "bob@example.org", "pw")
	load(tmp_path, "offline", {
		offline_key("alice@example.org", 0): b"<message>1</message>",
		offline_key("alice@example.org", 1): b"<message>2</message>",
		offline_key("bob@example.org", 0): b"<message>3</message>",
	})
	assert ok("check", datadir=tmp_path).stdout.strip() == \
		"ok: 2 accounts, 3 offline messages"
	ok("deluser", "Alice@example.org", datadir=tmp_path)
	assert ok("list", datadir=tmp_path).stdout == "bob@example.org\n"
	assert list(dump(tmp_path, "offline")) == [offline_key("bob@example.org", 0)]
	assert ok("check", datadir=tmp_path).stdout.strip() == "ok: 1 accounts, 1 offline messages"


def test_datadir_from_environment(tmp_path):
	env = {"NATTER_DATADIR": str(tmp_path / "envdir")}
	ok("adduser", "e@x", stdin="pw\n", env=env)
	assert ok("list", env=env).stdout == "e@x\n"
	assert ok("list", datadir=tmp_path / "envdir", env={"NATTER_DATADIR": "/nonexistent"}) \
		.stdout == "e@x\n"


def test_help_exits_zero():
	proc = ok("--help")
	assert proc.stdout.startswith("usage: natterctl")


# Passwords ---------------------------------------------------------------------------------

def test_empty_password_is_refused_and_makes_no_store(tmp_path):
	for stdin in ("\n", "", "\r\n"):
		fails(1, "empty password", "adduser", "a@x", datadir=tmp_path, stdin=stdin)
	assert list(tmp_path.iterdir()) == []


def test_too_long_password_is_refused(tmp_path):
	fails(1, "password too long", "adduser", "a@x", datadir=tmp_path, stdin="p" * 600 + "\n")
	adduser(tmp_path, "b@x", "pw")
	fails(1, "password too long", "passwd", "b@x", datadir=tmp_path, stdin="p" * 600 + "\n")


def test_password_saslprep_failure(tmp_path):
	# U+0007 (BEL) is a prohibited ASCII control character in SASLprep.
	fails(1, "SASLprep", "adduser", "a@x", datadir=tmp_path, stdin="bad\apw\n")
	assert list(tmp_path.iterdir()) == [], "no store for a refused password"


def run_on_tty(args, answers):
	"""Runs natterctl with a pseudo-terminal as stdin and stderr, answering each prompt.
	Returns (exit code, everything the terminal showed, stdout)."""
	master, slave = pty.openpty()
	proc = subprocess.Popen([*EXEC, str(NATTERCTL), *args], stdin=slave, stderr=slave,
				stdout=subprocess.PIPE, text=False, start_new_session=True)
	os.close(slave)
	seen = b""
	try:
		for prompt, answer in answers:
			deadline = time.monotonic() + TIMEOUT
			while prompt not in seen:
				assert time.monotonic() < deadline, \
					f"no {prompt!r} prompt; saw {seen!r}"
				if select.select([master], [], [], 0.2)[0]:
					seen += os.read(master, 1024)
			seen = seen.replace(prompt, b"<" + prompt + b">", 1)
			os.write(master, answer + b"\n")
		out, _ = proc.communicate(timeout=TIMEOUT)
		while select.select([master], [], [], 0.2)[0]:
			try:
				chunk = os.read(master, 1024)
			except OSError:
				break
			if not chunk:
				break
			seen += chunk
	finally:
		if proc.poll() is None:
			proc.kill()
		os.close(master)
	return proc.returncode, seen.decode(errors="replace"), out.decode()


@needs_lmdb_utils
def test_terminal_prompts_twice_without_echo(tmp_path):
	code, shown, out = run_on_tty(["--datadir", str(tmp_path), "adduser", "t@x"],
				      [(b"Password: ", b"tty-secret"), (b"Again: ", b"tty-secret")])
	assert code == 0, shown
	assert "tty-secret" not in shown, "the password was echoed"
	assert "added t@x" in out
	for cred in account(tmp_path, "t@x")["creds"]:
		assert password_matches(cred, "tty-secret")


def test_terminal_passwords_must_match(tmp_path):
	code, shown, _ = run_on_tty(["--datadir", str(tmp_path), "adduser", "t@x"],
				    [(b"Password: ", b"one-secret"), (b"Again: ", b"two-secret")])
	assert code == 1
	assert "natterctl: passwords do not match" in shown
	assert "one-secret" not in shown and "two-secret" not in shown
	assert not (tmp_path / "data.mdb").exists()


def test_password_never_printed(tmp_path):
	pw = "Sekr1t-Never-Shown"
	for args in (("adduser", "a@x"), ("adduser", "a@x"), ("passwd", "a@x"),
		     ("passwd", "nobody@x"), ("adduser", "a@x/res")):
		proc = ctl(*args, datadir=tmp_path, stdin=pw + "\n")
		assert pw not in proc.stdout and pw not in proc.stderr, args


# Errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
	((), "no command given"),
	(("frobnicate",), "unknown command 'frobnicate'"),
	(("adduser",), "adduser needs a JID"),
	(("passwd",), "passwd needs a JID"),
	(("deluser",), "deluser needs a JID"),
	(("list", "extra"), "unexpected argument 'extra'"),
	(("deluser", "a@x", "b@x"), "unexpected argument 'b@x'"),
	(("--bogus", "list"), "bad option '--bogus'"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
	proc = fails(2, message, *args, datadir=tmp_path)
	assert "usage: natterctl" in proc.stderr
	assert list(tmp_path.iterdir()) == []


def test_datadir_option_needs_a_value():
	proc = fails(2, "option '--datadir' needs a value", "--datadir")
	assert "usage: natterctl" in proc.stderr


@pytest.mark.parametrize("jid,message", [
	("alice@example.org/phone", "has a resource"),
	("example.org", "has no user part"),
	("al ice@example.org", "is not a valid JID"),
	("@example.org", "is not a valid JID"),
	("alice@", "is not a valid JID"),
	("a" * 1100 + "@example.org", "too long"),
])
@pytest.mark.parametrize("command", ["adduser", "passwd", "deluser"])
def test_bad_jids_are_refused(tmp_path, command, jid, message):
	fails(1, message, command, jid, datadir=tmp_path, stdin="pw\n")
	assert list(tmp_path.iterdir()) == [], "nothing may be created for a bad JID"


def test_jid_too_long_for_an_lmdb_key(tmp_path):
	# Valid (a localpart may have 1023 bytes) but past LMDB's 511-byte key limit.
	fails(1, "too long for the store", "adduser", "u" * 600 + "@x", datadir=tmp_path,
	      stdin="pw\n")
	fails(1, "no such user", "deluser", "u" * 600 + "@x", datadir=tmp_path)


def test_adduser_existing_user(tmp_path):
	adduser(tmp_path, "alice@example.org", "pw")
	fails(1, "user alice@example.org already exists", "adduser", "ALICE@example.org",
	      datadir=tmp_path, stdin="other\n")
	assert ok("list", datadir=tmp_path).stdout == "alice@example.org\n"
	if have_lmdb_utils():
		for cred in account(tmp_path, "alice@example.org")["creds"]:
			assert password_matches(cred, "pw")


def test_missing_user(tmp_path):
	adduser(tmp_path, "alice@example.org", "pw")
	fails(1, "no such user bob@example.org", "passwd", "bob@example.org", datadir=tmp_path,
	      stdin="pw\n")
	fails(1, "no such user bob@example.org", "deluser", "bob@example.org", datadir=tmp_path)
	ok("deluser", "alice@example.org", datadir=tmp_path)
	fails(1, "no such user alice@example.org", "deluser", "alice@example.org",
	      datadir=tmp_path)
	assert ok("list", datadir=tmp_path).stdout == ""


@pytest.mark.parametrize("args", [("list",), ("check",), ("deluser", "a@x"), ("passwd", "a@x")])
def test_missing_datadir_is_not_created(tmp_path, args):
	d = tmp_path / "absent"
	fails(1, f"data dir {d} does not exist", *args, datadir=d, stdin="pw\n")
	assert not d.exists()


@pytest.mark.parametrize("args", [("list",), ("check",), ("deluser", "a@x"), ("passwd", "a@x")])
def test_dir_without_store_gets_no_store(tmp_path, args):
	fails(1, f"no natter store in {tmp_path}", *args, datadir=tmp_path, stdin="pw\n")
	assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("list",), ("check",), ("adduser", "a@x"), ("deluser", "a@x"),
				  ("passwd", "a@x")])
def test_garbage_data_file_is_refused_and_kept(tmp_path, args):
	junk = os.urandom(3) + b"this is not an LMDB file" * 1000
	(tmp_path / "data.mdb").write_bytes(junk)
	fails(1, "cannot open the store", *args, datadir=tmp_path, stdin="pw\n")
	assert (tmp_path / "data.mdb").read_bytes() == junk


def test_adduser_datadir_without_parent(tmp_path):
	d = tmp_path / "no" / "such" / "parent"
	fails(1, f"cannot create data dir {d}", "adduser", "a@x", datadir=d, stdin="pw\n")
	assert not (tmp_path / "no").exists()


def test_datadir_that_is_a_file(tmp_path):
	f = tmp_path / "file"
	f.write_text("x")
	fails(1, "cannot open the store", "list", datadir=f)
	fails(1, "cannot open the store", "adduser", "a@x", datadir=f, stdin="pw\n")


@needs_lmdb_utils
def test_check_reports_corrupt_records(tmp_path):
	adduser(tmp_path, "alice@example.org", "pw")
	adduser(tmp_path, "bob@example.org", "pw")
	load(tmp_path, "accounts", {b"bob@example.org": b"\x01garbage"})
	load(tmp_path, "offline", {b"no-separator": b"<message/>"})
	proc = fails(1, "2 problems found", "check", datadir=tmp_path)
	assert re.search(r"natterctl: account \"bob@example.org\": .*undecodable", proc.stderr)
	assert "natterctl: offline record \"no-separator\": bad key" in proc.stderr
	assert proc.stdout == ""
	fails(1, "corrupt", "list", datadir=tmp_path)
	fails(1, "corrupt", "passwd", "bob@example.org", datadir=tmp_path, stdin="pw\n")
	ok("passwd", "alice@example.org", datadir=tmp_path, stdin="pw2\n")


@needs_lmdb_utils
def test_other_schema_version_is_refused(tmp_path):
	adduser(tmp_path, "alice@example.org", "pw")
	load(tmp_path, "meta", {b"schema": struct.pack(">I", 2)})
	proc = fails(1, "cannot open the store", "check", datadir=tmp_path)
	assert "schema version 2" in proc.stderr
	fails(1, "cannot open the store", "list", datadir=tmp_path)
	fails(1, "cannot open the store", "adduser", "b@x", datadir=tmp_path, stdin="pw\n")


@needs_lmdb_utils
def test_foreign_lmdb_environment_is_refused(tmp_path):
	subprocess.run(mdb("mdb_load", str(tmp_path)), text=True, check=True, timeout=TIMEOUT,
		       input="VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
			     " 6869\n 7468657265\nDATA=END\n")
	fails(1, "cannot open the store", "list", datadir=tmp_path)
	fails(1, "cannot open the store", "adduser", "a@x", datadir=tmp_path, stdin="pw\n")


# One store, two programs, two firmwares ---------------------------------------------------------

def schema_of(d):
	"""meta "schema" of the store in d: 4 bytes, big-endian."""
	return struct.unpack(">I", dump(d, "meta")[b"schema"])[0]


def store_image(d):
	return {t: dump(d, t) for t in ("meta", "accounts", "offline", "settings")}


@needs_lmdb_utils
def test_natterctl_store_opens_in_natterd_and_back(daemon_factory, xmpp):
	# natterctl makes the store (the factory adds natter.USERS with natterctl adduser).
	d = daemon_factory()
	ver = schema_of(d.datadir)

	async def login():
		alice = await xmpp.login("alice")
		assert alice.boundjid.bare == natter.jid("alice")
		await alice.close()
	xmpp.run(login())
	d.stop()
	d.check_exit()
	assert schema_of(d.datadir) == ver
	assert ok("check", datadir=d.datadir).stdout.startswith(f"ok: {len(natter.USERS)} accounts")

	# natterd makes the store; natterctl reads and writes it, natterd takes that back.
	d2 = daemon_factory(users=False)
	d2.stop()
	d2.check_exit()
	assert schema_of(d2.datadir) == ver
	assert ok("check", datadir=d2.datadir).stdout.strip() == "ok: 0 accounts, 0 offline messages"
	natter.add_user(d2.datadir, "alice", natter.USERS["alice"])
	daemon_factory.restart(d2)
	xmpp.run(login())


@needs_lmdb_utils
def test_natterd_refuses_a_store_from_a_newer_firmware(tmp_path):
	d = tmp_path / "data"
	adduser(d, "alice@localhost", "pw-alice-1")
	newer = schema_of(d) + 1
	load(d, "meta", {b"schema": struct.pack(">I", newer)})
	before = store_image(d)
	daemon = natter.Daemon(d)	# not the factory's: it expects a clean exit
	with pytest.raises(natter.DaemonError):
		daemon.start()
	assert daemon.returncode not in (None, 0)
	message = (f"store schema version {newer} is newer than this firmware's ({newer - 1}): "
		   "update the firmware or restore a backup")
	assert message in daemon.log()
	if natter.SANITIZED:
		assert natter.sanitizer_report(daemon.log()) is None, daemon.log()
	proc = fails(1, "cannot open the store", "check", datadir=d)
	assert message in proc.stderr
	assert store_image(d) == before, "a refused store must not be touched"


# Bulk import ---------------------------------------------------------------------------------

def import_(d, text, *opts):
	return ctl("import", *opts, datadir=d, stdin=text)


@needs_lmdb_utils
def test_import_three_users(tmp_path):
	text = ("# staff\n"
		"alice@example.org alice secret\n"
		"\n"
		"Bob@Example.org\tbob-pw\r\n"
		"carol@example.org  two leading spaces")
	proc = import_(tmp_path, text)
	assert proc.returncode == 0, proc.stderr
	assert proc.stdout == "imported 3 accounts, skipped 0 that exist\n"
	assert proc.stderr == ""
	assert ok("list", datadir=tmp_path).stdout.splitlines() == [
		"alice@example.org", "bob@example.org", "carol@example.org"]
	want = {"alice@example.org": "alice secret", "bob@example.org": "bob-pw",
		"carol@example.org": " two leading spaces"}
	for jid, pw in want.items():
		a = account(tmp_path, jid)
		assert a["created"] > 0
		for cred in a["creds"]:
			assert cred["iterations"] == iterations()
			assert password_matches(cred, pw), (jid, cred["hash"])
	assert ok("check", datadir=tmp_path).stdout.strip() == "ok: 3 accounts, 0 offline messages"


@needs_lmdb_utils
def test_import_existing_user_is_an_error_unless_skipped(tmp_path):
	adduser(tmp_path, "bob@example.org", "old-pw")
	text = "alice@example.org a-pw\nbob@example.org new-pw\ncarol@example.org c-pw\n"
	proc = fails(1, "line 2: user bob@example.org already exists", "import", datadir=tmp_path,
		     stdin=text)
	assert "no account was imported" in proc.stderr
	assert ok("list", datadir=tmp_path).stdout == "bob@example.org\n"

	proc = ok("import", "--skip-existing", datadir=tmp_path, stdin=text)
	assert proc.stdout == "imported 2 accounts, skipped 1 that exist\n"
	assert ok("list", datadir=tmp_path).stdout.splitlines() == [
		"alice@example.org", "bob@example.org", "carol@example.org"]
	for cred in account(tmp_path, "bob@example.org")["creds"]:
		assert password_matches(cred, "old-pw"), "an existing account must stay as it was"
	assert ok("--skip-existing", "import", datadir=tmp_path, stdin=text).stdout == \
		"imported 0 accounts, skipped 3 that exist\n"


@pytest.mark.parametrize("line,message", [
	("nopassword@example.org", "line 2: expected \"JID PASSWORD\""),
	("empty@example.org ", "line 2: empty password for empty@example.org"),
	(" leading-space-pw", "line 2: no JID before the space"),
	("long@example.org " + "p" * 600, "line 2: password of long@example.org too long"),
	("bel@example.org bad\apw", "line 2: bel@example.org: password refused by SASLprep"),
])
def test_import_malformed_line(tmp_path, line, message):
	text = "alice@example.org Sekr1t-A\n" + line + "\ncarol@example.org Sekr1t-C\n"
	proc = fails(1, message, "import", datadir=tmp_path / "d", stdin=text)
	assert "1 problems in the input; no account was imported" in proc.stderr
	assert "Sekr1t" not in proc.stdout + proc.stderr
	assert "bad\apw" not in proc.stderr and "ppppp" not in proc.stderr
	assert not (tmp_path / "d").exists(), "nothing may be created for bad input"


@pytest.mark.parametrize("jid,message", [
	("alice@example.org/phone", "line 3: 'alice@example.org/phone' has a resource"),
	("example.org", "line 3: 'example.org' has no user part"),
	("@example.org", "line 3: '@example.org' is not a valid JID"),
	("a" * 1100 + "@example.org", "line 3: JID too long"),
])
def test_import_bad_jid(tmp_path, jid, message):
	adduser(tmp_path, "zed@example.org", "pw")
	text = "a@example.org Sekr1t\n\n" + jid + " Sekr1t\n"
	proc = fails(1, message, "import", "--skip-existing", datadir=tmp_path, stdin=text)
	assert "Sekr1t" not in proc.stdout + proc.stderr
	assert ok("list", datadir=tmp_path).stdout == "zed@example.org\n"


def test_import_reports_every_problem_with_its_line(tmp_path):
	text = "a@x pw\nbad-line\nb@x pw\n@x pw\nc@x\n"
	proc = fails(1, "3 problems in the input", "import", datadir=tmp_path, stdin=text)
	lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("natterctl: line ")]
	assert [ln.split(":")[1].strip() for ln in lines] == ["line 2", "line 4", "line 5"]


def test_import_stops_after_twenty_problems(tmp_path):
	proc = fails(1, "stopped after 20 problems", "import", datadir=tmp_path,
		     stdin="junk\n" * 500)
	assert proc.stderr.count("natterctl: line ") == 20


def test_import_duplicate_and_too_long_for_the_store(tmp_path):
	text = "a@x pw1\nb@x pw\nA@X pw2\n"
	proc = fails(1, "line 3: a@x is on an earlier line too", "import", "--skip-existing",
		     datadir=tmp_path, stdin=text)
	assert ok("list", datadir=tmp_path).stdout == ""
	fails(1, "line 1: " + "u" * 600 + "@x is too long for the store", "import",
	      datadir=tmp_path, stdin="u" * 600 + "@x pw\n")
	assert ok("list", datadir=tmp_path).stdout == ""


def test_import_skip_existing_goes_only_with_import(tmp_path):
	proc = fails(2, "--skip-existing goes only with import", "--skip-existing", "list",
		     datadir=tmp_path)
	assert "usage: natterctl" in proc.stderr
	fails(2, "unexpected argument 'extra'", "import", "extra", datadir=tmp_path, stdin="")


def test_import_empty_input(tmp_path):
	proc = ok("import", datadir=tmp_path, stdin="# nothing\n\n")
	assert proc.stdout.startswith("imported 0 accounts")


def test_import_refuses_a_terminal(tmp_path):
	code, shown, _ = run_on_tty(["--datadir", str(tmp_path), "import"], [])
	assert code == 1
	assert "natterctl: import reads \"JID PASSWORD\" lines from stdin" in shown
	assert list(tmp_path.iterdir()) == []


def test_import_more_than_one_batch(tmp_path):
	n = 1234	# commits in batches of 1000
	text = "".join(f"user{i}@localhost pw{i}\n" for i in range(n))
	t0 = time.monotonic()
	proc = ok("import", datadir=tmp_path, stdin=text)
	assert proc.stdout == f"imported {n} accounts, skipped 0 that exist\n"
	assert time.monotonic() - t0 < TIMEOUT
	listed = ok("list", datadir=tmp_path).stdout.splitlines()
	assert len(listed) == n and "user1233@localhost" in listed
	assert ok("check", datadir=tmp_path).stdout.strip() == \
		f"ok: {n} accounts, 0 offline messages"
	if have_lmdb_utils():
		for i in (0, 999, 1000, 1233):
			for cred in account(tmp_path, f"user{i}@localhost")["creds"]:
				assert password_matches(cred, f"pw{i}")


# Settings ------------------------------------------------------------------------------------

def test_settings_set_get_unset(tmp_path):
	d = tmp_path / "data"
	out = ok("set", "net.lwip.ip4", "192.168.1.20/24", datadir=d).stdout
	assert "net.lwip.ip4 = 192.168.1.20/24" in out
	ok("set", "net.stack", "lwip", datadir=d)
	ok("set", "net.lwip.gw4", "", datadir=d)		# empty: no gateway
	assert ok("get", "net.lwip.ip4", datadir=d).stdout == "192.168.1.20/24\n"
	assert ok("get", "net.lwip.gw4", datadir=d).stdout == "\n"
	listing = ok("settings", datadir=d).stdout.splitlines()
	rows = {ln.split()[0]: ln.split()[1] for ln in listing}
	assert rows["net.stack"] == "lwip"
	assert rows["net.lwip.ip4"] == "192.168.1.20/24"
	assert rows["net.lwip.if"] == "(default)"
	ok("unset", "net.lwip.ip4", datadir=d)
	fails(1, "net.lwip.ip4 is not set", "get", "net.lwip.ip4", datadir=d)
	assert "was not set" in ok("unset", "net.lwip.ip4", datadir=d).stdout


@pytest.mark.parametrize("name,value,message", [
	("net.stack", "kernel", "net.stack must be epoll or lwip"),
	("net.lwip.driver", "usb", "net.lwip.driver must be tap or packet"),
	("net.lwip.if", "eth0/1", "net.lwip.if must be a network interface name"),
	("net.lwip.if", "a-very-long-interface", "net.lwip.if must be a network interface name"),
	("net.lwip.ip4", "192.168.1.20", "net.lwip.ip4 must be an IPv4 address with its prefix"),
	("net.lwip.ip4", "192.168.1.300/24", "net.lwip.ip4 must be an IPv4 address"),
	("net.lwip.ip4", "192.168.1.2/33", "net.lwip.ip4 must be an IPv4 address"),
	("net.lwip.gw4", "192.168.1.1/24", "net.lwip.gw4 must be an IPv4 address"),
	("net.lwip.ip6", "fd00::zz", "net.lwip.ip6 must be an IPv6 address"),
	("no.such.setting", "1", "no setting 'no.such.setting'"),
])
def test_settings_bad_values_are_refused_and_not_stored(tmp_path, name, value, message):
	d = tmp_path / "data"
	ok("set", "net.stack", "epoll", datadir=d)
	fails(1, message, "set", name, value, datadir=d)
	if name.startswith("net.") and name != "net.stack":
		fails(1, "is not set", "get", name, datadir=d)
	assert ok("get", "net.stack", datadir=d).stdout == "epoll\n"


@pytest.mark.parametrize("args,message", [
	(("set",), "set needs a setting's name and value"),
	(("set", "net.stack"), "set needs a setting's name and value"),
	(("get",), "get needs a setting's name"),
	(("unset",), "unset needs a setting's name"),
	(("get", "net.stack", "x"), "unexpected argument 'x'"),
])
def test_settings_usage_errors_exit_2(tmp_path, args, message):
	proc = fails(2, message, *args, datadir=tmp_path)
	assert "usage: natterctl" in proc.stderr


# The setup code -------------------------------------------------------------------------------

def test_setup_code_is_made_once_and_kept(tmp_path):
	d = tmp_path / "data"
	adduser(d, "alice@localhost", "pw-alice-1")
	code = ok("setup-code", datadir=d).stdout.strip()
	assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code), code
	assert ok("setup-code", datadir=d).stdout.strip() == code
	# Internal: not a setting an admin sets.
	assert "setup" not in ok("settings", datadir=d).stdout
	fails(1, "no setting 'setup.code'", "get", "setup.code", datadir=d)


def test_setup_code_needs_a_store(tmp_path):
	fails(1, "no natter store", "setup-code", datadir=tmp_path)
