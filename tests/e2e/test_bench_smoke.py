"""natter-load, the benchmark load generator, against natterd at a tiny size.

Each scenario runs for a second or two; the assertions come from the one JSON object the
generator prints: every login succeeded, every message arrived, and a wrong password is a
failure (non-zero exit)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

import natter

# The generator runs natively even when natterd is a cross build under qemu-user
# (make test ARCH=...), as it would on a PC loading a board: NATTER_LOAD names its host build.
LOAD = Path(os.environ.get("NATTER_LOAD", str(natter.BUILD / "natter-load")))
PASSWORD = "bench-Secret-9"
USERS = 24


@pytest.fixture
def bench(daemon_factory):
	"""A natterd with accounts user0 .. user23 (one password). The load generator logs in
	up to 20 sessions at once, from one address under lwIP: more than the box lets one
	address have in the middle of logging in (16), a limit test_limits.py tests."""
	d = daemon_factory.with_limits(preauth_per_addr=64)
	for i in range(USERS):
		natter.add_user(d.datadir, f"user{i}", PASSWORD)
	return d


def run_load(d, scenario, *args, password=PASSWORD, direct_tls=False, expect_ok=True):
	"""Runs natter-load against d; returns (exit status, the JSON result, stderr)."""
	port = d.tls_port if direct_tls else d.c2s_port
	cmd = [str(LOAD), "--host", natter.HOST, "--port", str(port), "--users", str(USERS),
	       "--password", password,
	       "--timeout", str(int(10 * natter.SLOW)), "--tls",
	       "direct" if direct_tls else "starttls", *args, scenario]
	proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60 * natter.SLOW)
	if natter.SANITIZED:
		mark = natter.sanitizer_report(proc.stderr)
		assert mark is None, f"natter-load: sanitizer reported {mark}:\n{proc.stderr}"
	try:
		result = json.loads(proc.stdout)	# exactly one JSON object, nothing else
	except ValueError:
		raise AssertionError(f"stdout is not one JSON object: {proc.stdout!r}\n"
				     f"stderr: {proc.stderr}")
	assert result["scenario"] == scenario
	if expect_ok:
		assert proc.returncode == 0, f"exit {proc.returncode}: {result}\n{proc.stderr}"
		assert result["ok"] > 0 and result["failed"] == 0, f"{result}\n{proc.stderr}"
		assert not any(result["errors"].values()), result["errors"]
	return proc.returncode, result, proc.stderr


def test_idle_sessions_come_up_and_stay(bench):
	_, r, err = run_load(bench, "idle", "--sessions", "20", "--hold", "1")
	assert "READY 20\n" in err
	assert r["established"] == 20 and r["dropped"] == 0 and r["ok"] == 20


def test_idle_with_two_processes_reports_one_ready(bench):
	_, r, err = run_load(bench, "idle", "--sessions", "20", "--hold", "1", "--procs", "2")
	assert err.count("READY") == 1 and "READY 20\n" in err
	assert r["procs"] == 2 and r["established"] == 20


def test_logins(bench):
	_, r, _ = run_load(bench, "logins", "--conc", "4", "--seconds", "2")
	assert r["rate"] > 0 and r["samples"] == r["ok"]
	assert 0 < r["p50_ms"] <= r["p99_ms"]
	assert r["gen_cpu_s"] > 0 and r["gen_cpu_us_per_op"] > 0


@pytest.mark.parametrize("direct_tls", [False, True], ids=["starttls", "direct-tls"])
def test_chat_every_message_arrives(bench, direct_tls):
	_, r, _ = run_load(bench, "chat", "--pairs", "4", "--window", "8", "--seconds", "2",
			   direct_tls=direct_tls)
	assert r["sent"] > 0 and r["sent"] == r["received"], r
	assert r["lost"] == 0 and r["dup"] == 0 and r["bounced"] == 0
	assert r["ok"] == r["received"]


def test_reconnect_resumes_tls_sessions(bench):
	_, r, _ = run_load(bench, "reconnect", "--conc", "4", "--seconds", "2")
	# natterd issues session tickets; only each account's first login is a full handshake.
	assert r["tls_resumed"] >= r["ok"] - USERS > 0
	assert r["resumed_fraction"] > 0.5
	assert r["sm_resumed"] == 0		# natterd offers no XEP-0198 (yet)


def test_churn_runs_its_cycles(bench):
	_, r, _ = run_load(bench, "churn", "--cycles", "50", "--conc", "4", "--seconds", "20")
	assert r["ok"] == 50


def test_roster_unsupported_is_not_a_failure(bench):
	code, r, _ = run_load(bench, "roster", "--contacts", "3", expect_ok=False)
	assert code == 0 and r["unsupported"] == "roster"


def test_wrong_password_fails(bench):
	code, r, _ = run_load(bench, "logins", "--conc", "1", "--seconds", "1",
			      "--users", "2", password="not-the-password", expect_ok=False)
	assert code != 0
	assert r["failed"] > 0 and r["ok"] == 0
	assert r["errors"]["auth"] == r["failed"]
