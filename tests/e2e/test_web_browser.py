"""The first-run page in a real headless Chromium, as an admin would use it.
tests/browser/setup_page.mjs drives Debian's /usr/bin/chromium with Playwright (playwright-core
from tests/browser/node_modules, which `make deps` installs): it opens the plain-HTTP page,
lands on HTTPS, types a wrong setup code, then the right one, and reloads the page (now the
set-up box's form), clicking the form's button as a person does. Its posts carry Chromium's
Origin and Sec-Fetch-Site, which the box checks against cross-site posts. The account the
browser made must then log in over XMPP with the password typed into the page.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import natter
from natter import DOMAIN, HOST, SLOW, jid, natterctl
from test_board import tree, wait_log  # noqa: F401 (tree: test_board's fixture, by name)

BROWSER_DIR = natter.REPO / "tests" / "browser"
SCRIPT = BROWSER_DIR / "setup_page.mjs"
PLAYWRIGHT = BROWSER_DIR / "node_modules" / "playwright-core" / "package.json"
CHROMIUM = Path("/usr/bin/chromium")
CODE_RE = re.compile(r"the setup code is ([A-Z0-9]{4}-[A-Z0-9]{4})")
STEP_MS = 15000		# each browser step (Playwright's own timeouts), before SLOW
RUN_MS = 120000		# the whole browser run, before SLOW

ADMIN = "admin"
ADMIN_PW = "admin-Typed-In-Browser-1"
ADMIN_PW2 = "admin-New-After-Reset-2"


def node():
	"""The node program and the installed playwright-core; fails (never skips) without."""
	exe = shutil.which("node")
	missing = []
	if exe is None:
		missing.append("node (Node.js) is not on PATH")
	if not PLAYWRIGHT.is_file():
		missing.append(f"playwright-core is not installed in {PLAYWRIGHT.parent.parent}")
	if not CHROMIUM.is_file():
		missing.append(f"{CHROMIUM} (Debian's chromium) is not installed")
	assert not missing, "; ".join(missing) + ": run `make deps` (bash tools/deps.sh)"
	return exe


def setup_codes(d):
	return CODE_RE.findall(d.log())


def browse(d, tmp_path, *, code, password, wrong_code=None, set_up=False, name="run"):
	"""Run setup_page.mjs against d; returns what the browser saw (a dict)."""
	shots = tmp_path / f"shots-{name}"
	shots.mkdir()
	spec = {
		"http_url": f"http://{HOST}:{d.http_port}/",
		"https_url": f"https://{HOST}:{d.https_port}/",
		"code": code,
		"user": ADMIN,
		"password": password,
		"set_up": set_up,
		"timeout_ms": int(STEP_MS * SLOW),
		"total_ms": int(RUN_MS * SLOW),
		"screenshots": str(shots),
	}
	if wrong_code is not None:
		spec["wrong_code"] = wrong_code
	# The spec goes on stdin: it carries a password.
	proc = subprocess.run([node(), str(SCRIPT)], input=json.dumps(spec), capture_output=True,
			      text=True, cwd=BROWSER_DIR, timeout=RUN_MS * SLOW / 1000 + 30)
	try:
		seen = json.loads(proc.stdout.strip().splitlines()[-1])
	except (IndexError, ValueError):
		seen = None
	assert proc.returncode == 0 and seen is not None, (
		f"the browser run failed (exit {proc.returncode}); pages seen are in {shots}\n"
		f"stderr: {proc.stderr[-3000:]}\nstdout: {proc.stdout[-3000:]}")
	assert "failure" not in seen, seen
	return seen


def steps(seen):
	return {s["name"]: s for s in seen["steps"]}


def check_browser_saw(d, seen, *, made):
	"""What every setup run must have shown: the redirect, the refusal, success, and then
	the set-up box's form."""
	https = f"https://{HOST}:{d.https_port}"
	assert seen["redirects"][0] == {"url": f"http://{HOST}:{d.http_port}/", "status": 301}, seen
	assert seen["redirects"][-1] == {"url": https + "/", "status": 200}, seen
	s = steps(seen)
	assert s["open"]["url"] == https + "/" and s["open"]["form"], s["open"]

	wrong = s["wrong-code"]
	assert wrong["status"] == 403, wrong
	assert wrong["url"] == https + "/setup", wrong
	assert wrong["error"] == "That is not the box's setup code.", wrong
	assert wrong["form"] and wrong["done"] is None and wrong["account"] is None, wrong

	# The posts said where they came from, and the box took them: its check against
	# cross-site posts lets the page's own through.
	for name in ("wrong-code", "right-code"):
		post = s[name]["post"]
		assert post == {"origin": https, "sec_fetch_site": "same-origin"}, s[name]
	right = s["right-code"]
	assert right["status"] == 200 and right["error"] is None, right
	assert right["account"] == jid(ADMIN) == f"{ADMIN}@{DOMAIN}", right
	tail = "is made." if made else "has its new password."
	assert right["done"] == f"The admin account {jid(ADMIN)} {tail}", right
	assert not right["form"], right

	after = s["after"]
	assert after["status"] == 200 and after["url"] == https + "/", after
	assert after["reset"].startswith("The box is set up. To give an admin a new password"), (
		after)
	assert after["form"] and after["error"] is None and after["first_run"] is None, after


def test_first_run_in_a_browser(daemon_factory, xmpp, tmp_path):
	node()	# fail before starting anything when the browser's parts are missing
	d = daemon_factory(users=False)
	codes = setup_codes(d)
	assert len(codes) == 1, f"no setup code in the log:\n{d.log()[-3000:]}"

	seen = browse(d, tmp_path, code=codes[0], password=ADMIN_PW)
	check_browser_saw(d, seen, made=True)
	assert natterctl(d.datadir, "list").stdout.split("\n")[0] == f"{jid(ADMIN)} admin"
	# The code typed is spent: the box has a new one.
	assert natterctl(d.datadir, "setup-code").stdout.strip() != codes[0]

	async def go():
		# The password typed into the page logs in, by SCRAM and by PLAIN.
		for mech in ("SCRAM-SHA-256", "PLAIN"):
			admin = await xmpp.login(ADMIN, ADMIN_PW, mech=mech)
			assert admin.boundjid.bare == jid(ADMIN) and admin.used_mech == mech
			await admin.close()
		err = await xmpp.login_fails(ADMIN, ADMIN_PW + "x", mech="PLAIN")
		assert err.conditions == ["not-authorized"], str(err)
	xmpp.run(go())
	assert ADMIN_PW not in d.log()


def test_reset_button_reopens_page_for_new_password(daemon_factory, xmpp, tmp_path,
						    tree):	# noqa: F811 (test_board's fixture)
	node()
	d = daemon_factory(users=False, extra=tree.args())
	first = setup_codes(d)
	assert len(first) == 1, f"no setup code in the log:\n{d.log()[-3000:]}"
	check_browser_saw(d, browse(d, tmp_path, code=first[0], password=ADMIN_PW, name="setup"),
			  made=True)

	# A short press of the reset button: the log shows the (new) code, the page reopens.
	tree.press(1)
	tree.press(0)
	wait_log(d, "reset button: short press: the setup code is ")
	wait_log(d, "web: the first-run page is open for ")
	code = setup_codes(d)[-1]
	assert code != first[0]
	assert natterctl(d.datadir, "setup-code").stdout.strip() == code

	# The old code is the wrong one now; the new one gives the admin a new password.
	seen = browse(d, tmp_path, code=code, wrong_code=first[0], password=ADMIN_PW2,
		      set_up=True, name="reset")
	check_browser_saw(d, seen, made=False)
	s = steps(seen)
	# The same form as before the press: it does not tell the LAN that the page is open.
	assert s["open"]["reset"] == s["after"]["reset"] is not None, s
	assert s["wrong-code"]["reset"] is not None, s["wrong-code"]
	assert natterctl(d.datadir, "list").stdout.split("\n")[0] == f"{jid(ADMIN)} admin"

	async def go():
		admin = await xmpp.login(ADMIN, ADMIN_PW2, mech="SCRAM-SHA-256")
		assert admin.boundjid.bare == jid(ADMIN)
		await admin.close()
		for mech in ("SCRAM-SHA-256", "PLAIN"):
			err = await xmpp.login_fails(ADMIN, ADMIN_PW, mech=mech)
			assert err.conditions == ["not-authorized"], str(err)
	xmpp.run(go())
	log = d.log()
	assert ADMIN_PW not in log and ADMIN_PW2 not in log
