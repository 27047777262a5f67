"""The box's web page through the real natterd: the first-run page over HTTPS, the plain HTTP
port that only redirects, the setup code, the reset button that reopens the page, and HTTP
clients that send too much, too little, too slowly or nonsense.

Requests go through Python's http.client over ssl (one connection each), or through
natter.RawConn where the bytes on the wire matter: keep-alive, pipelining, malformed input.
The reset button is test_board.Tree's fake input device.
"""
import hashlib
import http.client
import re
import socket
import ssl
import struct
import time
import urllib.parse
from html.parser import HTMLParser

import pytest

import natter
from natter import DOMAIN, HOST, SLOW, TIMEOUT, RawConn, jid, natterctl
from test_board import Tree, wait_log

ADMIN = "admin"
ADMIN_PW = "admin-Pass-1"
ADMIN_PW2 = "admin-Pass-2"
FORM = "application/x-www-form-urlencoded"
SETUP_FAIL_LIMIT = 5		# CONFIG_NT_SETUP_FAIL_LIMIT
SETUP_FAIL_GLOBAL_LIMIT = 20	# CONFIG_NT_SETUP_FAIL_GLOBAL_LIMIT
HTTP_TIMEOUT_S = 10.0		# CONFIG_NT_HTTP_TIMEOUT_MS
WINDOW_S = max(2, round(2 * SLOW))	# --setup-window-s: 2 s, longer where everything is slow
CODE_RX = re.compile(r"the setup code is ([A-Z0-9]{4}-[A-Z0-9]{4})")
PASSWORDS = (ADMIN_PW, ADMIN_PW2)
WRONG = "That is not the box's setup code."


# Pages ---------------------------------------------------------------------------------------

class Page(HTMLParser):
	"""An HTML page's elements by id (tag, attributes, text inside) and all its text."""
	VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
		"source", "track", "wbr"}

	def __init__(self, text):
		super().__init__(convert_charrefs=True)
		self.ids = {}
		self.text = ""
		self._open = []		# (tag, id or None) of the elements we are inside
		self.feed(text)
		self.close()

	def handle_starttag(self, tag, attrs):
		a = dict(attrs)
		if "id" in a:
			assert a["id"] not in self.ids, f"two elements with id {a['id']!r}"
			self.ids[a["id"]] = {"tag": tag, "attrs": a, "text": ""}
		if tag not in self.VOID:
			self._open.append((tag, a.get("id")))

	def handle_endtag(self, tag):
		for i in range(len(self._open) - 1, -1, -1):
			if self._open[i][0] == tag:
				del self._open[i:]
				return

	def handle_data(self, data):
		self.text += data
		for _, ident in self._open:
			if ident is not None:
				self.ids[ident]["text"] += data

	def has(self, ident):
		return ident in self.ids

	def text_of(self, ident):
		assert ident in self.ids, f"no element with id {ident!r}; ids: {sorted(self.ids)}"
		return " ".join(self.ids[ident]["text"].split())

	def attr(self, ident, name):
		assert ident in self.ids, f"no element with id {ident!r}; ids: {sorted(self.ids)}"
		return self.ids[ident]["attrs"].get(name)


class Reply:
	"""An HTTP answer: status, headers in order, body as text."""

	def __init__(self, status, headers, body, peer_cert=None):
		self.status = status
		self.headers = headers
		self.body = body
		self.peer_cert = peer_cert	# DER of the certificate served, over TLS

	def header(self, name):
		for k, v in self.headers:
			if k.lower() == name.lower():
				return v
		return None

	def page(self):
		ctype = self.header("Content-Type") or ""
		assert ctype.startswith("text/html"), f"{self.status}: not a page: {ctype!r}"
		return Page(self.body)

	def __repr__(self):
		return f"<Reply {self.status} {self.headers} {self.body[:600]!r}>"


# Clients -------------------------------------------------------------------------------------

def any_cert():
	"""TLS that takes any certificate: for tests that are not about the certificate."""
	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	return ctx


class _HTTPS(http.client.HTTPConnection):
	"""http.client over TLS to HOST, with SNI and the name check for the box's domain."""

	def __init__(self, port, ctx, src=None):
		super().__init__(HOST, port, timeout=TIMEOUT,
				 source_address=None if src is None else (src, 0))
		self._ctx = ctx

	def connect(self):
		super().connect()
		self.sock = self._ctx.wrap_socket(self.sock, server_hostname=DOMAIN)


def request(d, method, path, body=None, headers=None, *, tls=True, ctx=None, src=None):
	"""One request on a connection of its own (HTTPS, or the plain HTTP port); src: the
	loopback address to send from."""
	if tls:
		conn = _HTTPS(d.https_port, ctx or any_cert(), src)
	else:
		conn = http.client.HTTPConnection(HOST, d.http_port, timeout=TIMEOUT)
	try:
		conn.request(method, path, body=body, headers=headers or {})
		cert = conn.sock.getpeercert(binary_form=True) if tls else None
		resp = conn.getresponse()
		data = resp.read().decode()
		return Reply(resp.status, resp.getheaders(), data, cert)
	finally:
		conn.close()


def get_page(d, path="/", status=200):
	r = request(d, "GET", path)
	assert r.status == status, r
	return r.page()


def post_setup(d, code, user=ADMIN, password=ADMIN_PW, password2=None, *, drop=(),
	       ctype=FORM, path="/setup", headers=None, src=None):
	"""POST the first-run form; drop leaves fields out."""
	form = {"code": code, "user": user, "password": password,
		"password2": password if password2 is None else password2}
	body = urllib.parse.urlencode({k: v for k, v in form.items() if k not in drop})
	return request(d, "POST", path, body.encode(), {"Content-Type": ctype, **(headers or {})},
		       src=src)


def raw_https(d, **kw):
	"""A hand-driven HTTPS connection that checks the box's certificate."""
	return RawConn(d.https_port, cafile=d.cert, direct_tls=True, **kw)


def req(method, path="/", *extra, version="HTTP/1.1"):
	"""A request head as bytes, with Host first unless the version is 1.0."""
	host = [] if version == "HTTP/1.0" else [f"Host: {HOST}"]
	lines = [f"{method} {path} {version}", *host, *extra]
	return ("\r\n".join(lines) + "\r\n\r\n").encode()


HEAD_END = re.compile(rb"\r\n\r\n")


def read_reply(raw, head_only=False, timeout=None):
	"""The next answer on raw; the body (Content-Length bytes) unless head_only."""
	head = raw.read_until(HEAD_END, timeout)
	lines = head[:-4].split("\r\n")
	m = re.fullmatch(r"HTTP/1\.1 (\d{3}) [^\r\n]*", lines[0])
	assert m, f"not an HTTP/1.1 status line: {lines[0]!r}"
	headers = []
	for line in lines[1:]:
		name, sep, value = line.partition(":")
		assert sep and name == name.strip(), f"bad header line {line!r} in {head!r}"
		headers.append((name, value.strip()))
	r = Reply(int(m.group(1)), headers, "")
	length = r.header("Content-Length")
	assert length is not None and length.isdigit(), f"no Content-Length: {head!r}"
	if not head_only and int(length) > 0:
		r.body = raw.read_until(re.compile(rb"\A.{%d}" % int(length), re.S), timeout)
	return r


def closes(raw, timeout=None):
	"""True when the server closes raw with nothing more to say within timeout."""
	rest = raw.read_until_closed(timeout)
	assert rest == "", f"more after the answer: {rest!r}"
	return True


# The box -------------------------------------------------------------------------------------

def cert_fingerprint(d):
	"""SHA-256 of Daemon.cert, as the page shows it: AB:CD:..."""
	der = ssl.PEM_cert_to_DER_cert(d.cert.read_text())
	return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()), der


def logged_code(d):
	"""The setup code the log showed last."""
	codes = CODE_RX.findall(d.log())
	assert codes, f"no setup code in the log:\n{d.log()[-3000:]}"
	return codes[-1]


def ctl_code(d):
	code = natterctl(d.datadir, "setup-code").stdout.strip()
	assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
	return code


def accounts(d):
	return natterctl(d.datadir, "list").stdout.splitlines()


def fresh_box(daemon_factory, extra=()):
	"""A natterd without accounts: the first-run page is open."""
	return daemon_factory(users=False, extra=extra)


def assert_form(page, fresh=True):
	"""The form: a fresh box's first-run form, or (fresh=False) a set-up box's, which is the
	same whether a short press opened the page or not."""
	for ident in ("code", "user", "password", "password2", "submit"):
		assert page.has(ident), f"no #{ident} on the form: {sorted(page.ids)}"
	assert page.attr("password", "type") == "password"
	assert page.attr("password2", "type") == "password"
	assert page.has("first-run") == fresh and page.has("reset") != fresh, page.text
	assert not page.has("done") and not page.has("window") and not page.has("closed")


def assert_set_up_form(page):
	assert_form(page, fresh=False)


NOT_OPENED = "The reset button has not opened this page"


def assert_not_opened(r):
	"""The answer to the right code while no short press opened the page."""
	assert r.status == 403, r
	page = r.page()
	assert page.text_of("error").startswith(NOT_OPENED), page.text
	assert_set_up_form(page)


def make_admin(d, password=ADMIN_PW):
	"""The first-run page makes the admin account; returns the code it used."""
	code = ctl_code(d)
	r = post_setup(d, code, password=password)
	assert r.status == 200, r
	assert jid(ADMIN) in r.page().text_of("done")
	return code


def assert_serving(d, xmpp):
	"""The web page still answers and alice can still log in."""
	r = request(d, "GET", "/")
	assert r.status == 200 and r.page().has("fingerprint"), r
	alice = xmpp.run(xmpp.login("alice"))
	assert alice.boundjid.bare == jid("alice")
	xmpp.run(alice.close())


def assert_no_password_logged(d):
	log = d.log()
	for pw in PASSWORDS:
		assert pw not in log, "natterd logged a password from the setup form"


@pytest.fixture
def tree(tmp_path):
	t = Tree(tmp_path / "root")
	yield t
	if t.writer is not None:
		t.hang_up()


def short_press(d, tree, n):
	"""A short press of the reset button (the nth of this daemon); its setup code."""
	tree.press(1)
	tree.press(0)
	wait_log(d, "reset button: short press: the setup code is ", count=n)
	wait_log(d, "web: the first-run page is open for", count=n)
	return logged_code(d)


# 1. The first-run page -----------------------------------------------------------------------

def test_first_run_page(daemon_factory):
	d = fresh_box(daemon_factory)
	fp, der = cert_fingerprint(d)
	r = request(d, "GET", "/", ctx=natter.client_tls_context(d.cert))
	assert r.status == 200, r
	assert r.peer_cert == der, "the page is not served with the box's certificate"
	assert r.header("Content-Type").startswith("text/html"), r
	assert r.header("Cache-Control") == "no-store", r
	assert r.header("X-Frame-Options") == "DENY", r
	assert r.header("X-Content-Type-Options") == "nosniff", r
	csp = r.header("Content-Security-Policy") or ""
	assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp
	page = r.page()
	assert_form(page)
	assert DOMAIN in page.text
	assert page.text_of("fingerprint") == fp
	assert f"sha256 fingerprint {fp}" in d.log()	# the same as the log says
	# /setup shows the same form.
	assert_form(get_page(d, "/setup"))
	# Other paths are not pages.
	r = request(d, "GET", "/admin")
	assert r.status == 404 and r.header("Cache-Control") == "no-store", r


# 2. The plain HTTP port ----------------------------------------------------------------------

def test_plain_http_redirects_to_https(daemon_factory):
	d = fresh_box(daemon_factory)
	r = request(d, "GET", "/x?y=1", tls=False)
	assert r.status == 301, r
	assert r.header("Location") == f"https://{HOST}:{d.https_port}/x?y=1", r
	assert "<form" not in r.body and r.header("Content-Length") == "0", r
	r = request(d, "POST", "/setup", b"code=x", {"Content-Type": FORM}, tls=False)
	assert r.status == 308, r
	assert r.header("Location") == f"https://{HOST}:{d.https_port}/setup", r
	# The name the browser used is kept, without its port.
	r = request(d, "GET", "/", headers={"Host": "chat.example:80"}, tls=False)
	assert r.status == 301 and r.header("Location") == f"https://chat.example:{d.https_port}/", r
	assert accounts(d) == []


def test_plain_http_without_a_usable_host(daemon_factory, xmpp):
	d = daemon_factory()
	for head in (req("GET", "/").replace(f"Host: {HOST}".encode(), b"Host: a/b"),
		     req("GET", "/", version="HTTP/1.0")):		# no Host
		raw = RawConn(d.http_port)
		try:
			raw.send(head)
			r = read_reply(raw)
			assert r.status == 400 and r.header("Location") is None, r
			assert closes(raw)
		finally:
			raw.close()
	assert_serving(d, xmpp)


# 3. Forms that are refused -------------------------------------------------------------------

def test_setup_refuses_bad_forms(daemon_factory):
	d = fresh_box(daemon_factory)
	code = logged_code(d)
	assert code == ctl_code(d)
	wrong = "ABCD-EFGH" if code != "ABCD-EFGH" else "HGFE-DCBA"

	r = post_setup(d, wrong, user="boss")
	assert r.status == 403, r
	page = r.page()
	assert page.text_of("error"), page.text
	assert page.attr("user", "value") == "boss"
	assert_form(page)

	def refused(status, **kw):
		r = post_setup(d, code, **kw)
		assert r.status == status, (kw, r)
		return r
	page = refused(400, password2="admin-Pass-X").page()
	assert page.text_of("error") and page.attr("user", "value") == ADMIN
	assert refused(400, password="short1", password2="short1").page().text_of("error")
	assert refused(400, user="admin@elsewhere").page().text_of("error")
	for field in ("code", "user", "password", "password2"):
		assert refused(400, drop=(field,)).page().text_of("error")
	assert refused(415, ctype="text/plain").status == 415
	assert refused(415, ctype="multipart/form-data; boundary=x").status == 415
	r = refused(405, path="/")
	assert set(re.split(r",\s*", r.header("Allow") or "")) == {"GET", "HEAD"}, r

	# Nothing was made, and the code is still the one the log showed.
	assert accounts(d) == []
	assert ctl_code(d) == code
	assert_form(get_page(d))
	assert_no_password_logged(d)


# 4. The right code makes the admin account ---------------------------------------------------

def test_setup_makes_admin_and_closes(daemon_factory, xmpp):
	d = fresh_box(daemon_factory)
	code = ctl_code(d)
	assert logged_code(d) == code

	r = post_setup(d, code.replace("-", "").lower())
	assert r.status == 200, r
	page = r.page()
	assert jid(ADMIN) in page.text_of("done"), page.text
	assert page.text_of("fingerprint") == cert_fingerprint(d)[0]

	admin = xmpp.run(xmpp.login(ADMIN, ADMIN_PW))
	assert admin.boundjid.bare == jid(ADMIN)
	xmpp.run(admin.close())
	assert accounts(d) == [f"{jid(ADMIN)} admin"]
	new = ctl_code(d)
	assert new != code

	# The page is closed: no code, old or new, opens it.
	assert_set_up_form(get_page(d))
	assert_set_up_form(get_page(d, "/setup"))
	r = post_setup(d, code, user="second")
	assert r.status == 403 and r.page().text_of("error") == WRONG, r
	assert_not_opened(post_setup(d, new, user="second"))
	assert accounts(d) == [f"{jid(ADMIN)} admin"]
	assert ctl_code(d) == new
	assert_no_password_logged(d)


# 5. The reset button reopens the page --------------------------------------------------------

def test_short_press_resets_admin_password(daemon_factory, xmpp, tree):
	d = fresh_box(daemon_factory, extra=tree.args())
	first = make_admin(d)
	assert_set_up_form(get_page(d))
	thief = xmpp.run(xmpp.login(ADMIN, ADMIN_PW, resource="thief"))

	code = short_press(d, tree, 1)
	assert code == ctl_code(d) and code != first
	assert_set_up_form(get_page(d))

	# The code the page took before is spent.
	r = post_setup(d, first, password=ADMIN_PW2)
	assert r.status == 403 and r.page().text_of("error"), r

	r = post_setup(d, code, password=ADMIN_PW2)
	assert r.status == 200, r
	assert jid(ADMIN) in r.page().text_of("done")

	async def logins():
		# The session that logged in with the old password is thrown out.
		await thief.wait_gone(3 * SLOW)
		assert thief.stream_error_conditions() == ["not-authorized"], thief.stream_errors
		err = await xmpp.login_fails(ADMIN, ADMIN_PW, mech="SCRAM-SHA-256")
		assert err.conditions == ["not-authorized"], str(err)
		admin = await xmpp.login(ADMIN, ADMIN_PW2)
		assert admin.boundjid.bare == jid(ADMIN)
		await admin.close()
	xmpp.run(logins())
	assert accounts(d) == [f"{jid(ADMIN)} admin"]

	# Closed again, with a new code.
	assert_set_up_form(get_page(d))
	again = ctl_code(d)
	assert again not in (first, code)
	assert_not_opened(post_setup(d, again, password=ADMIN_PW))
	assert_no_password_logged(d)


def test_reopened_page_closes_after_the_window(daemon_factory, xmpp, tree):
	d = fresh_box(daemon_factory, extra=[*tree.args(), "--setup-window-s", str(WINDOW_S)])
	make_admin(d)
	pressed = time.monotonic()
	code = short_press(d, tree, 1)

	# The page looks the same open or not: the right code with passwords that differ says
	# which (400 while open, as it gets as far as the passwords; 403 once closed).
	deadline = pressed + WINDOW_S + 4.0 * SLOW
	while True:
		r = post_setup(d, code, password=ADMIN_PW2, password2=ADMIN_PW2 + "x")
		if r.status == 403:
			break
		assert r.status == 400 and "not the same" in r.page().text_of("error"), r
		assert time.monotonic() < deadline, "the reopened page stayed open"
		time.sleep(0.1)
	assert time.monotonic() - pressed >= WINDOW_S - 0.1, "the page closed before its window"
	assert_not_opened(r)

	# The code no longer changes the password.
	assert_not_opened(post_setup(d, code, password=ADMIN_PW2))
	admin = xmpp.run(xmpp.login(ADMIN, ADMIN_PW))
	xmpp.run(admin.close())
	assert ctl_code(d) == code


def test_page_tells_nothing_about_the_window(daemon_factory, tree):
	"""Before a right code, a set-up box's page and its answer to a wrong code are the same,
	byte for byte, whether a short press opened the page or not: the LAN cannot watch for
	the moment someone presses the button."""
	d = fresh_box(daemon_factory, extra=tree.args())
	make_admin(d)

	def seen(wrong):
		page = request(d, "GET", "/")
		head = request(d, "HEAD", "/setup")
		r = post_setup(d, wrong, user="mallory")
		return ((page.status, page.header("Content-Type"), page.body),
			(head.status, head.header("Content-Length")),
			(r.status, r.header("Content-Type"), r.body))
	closed = seen("AAAA-AAAA")
	assert_set_up_form(Page(closed[0][2]))
	assert closed[2][0] == 403 and Page(closed[2][2]).text_of("error") == WRONG, closed
	code = short_press(d, tree, 1)
	assert "AAAA-AAAA" != code
	assert seen("AAAA-AAAA") == closed
	# The right code does tell, to the person who has the box.
	r = post_setup(d, code, user="second", password=ADMIN_PW2)
	assert r.status == 200 and jid("second") in r.page().text_of("done"), r
	assert accounts(d) == [f"{jid(ADMIN)} admin", f"{jid('second')} admin"]


def test_codes_are_new_at_each_press_and_each_account(daemon_factory, tree):
	"""The code logged at the first start, or read at any press before, opens nothing later:
	natterctl adduser and import replace it (they run beside natterd), and so does each
	short press."""
	d = fresh_box(daemon_factory, extra=tree.args())
	logged = logged_code(d)
	natterctl(d.datadir, "adduser", jid("alice"), stdin="alice-Pass-1\n")
	after_adduser = ctl_code(d)
	assert after_adduser != logged
	natterctl(d.datadir, "import", stdin=f"{jid('bob')} bob-Pass-2\n")
	after_import = ctl_code(d)
	assert after_import not in (logged, after_adduser)

	first = short_press(d, tree, 1)
	assert first not in (logged, after_adduser, after_import)
	assert first == ctl_code(d)
	second = short_press(d, tree, 2)
	assert second != first and second == ctl_code(d)
	for old in (logged, after_adduser, after_import, first):
		r = post_setup(d, old, user="boss")
		assert r.status == 403 and r.page().text_of("error") == WRONG, (old, r)
	r = post_setup(d, second, user="boss")
	assert r.status == 200, r
	assert f"{jid('boss')} admin" in accounts(d)


def test_window_resets_only_admins(daemon_factory, xmpp, tree):
	"""The code opens the page for the box's admins: it must not take over a colleague's
	account (a new password and admin rights), only set an admin's or make a new admin."""
	d = fresh_box(daemon_factory, extra=tree.args())
	make_admin(d)
	natterctl(d.datadir, "adduser", jid("bob"), stdin="bob-Pass-1\n")
	code = short_press(d, tree, 1)
	r = post_setup(d, code, user="bob", password="stolen-Pass-9")
	assert r.status == 403, r
	assert "not an admin" in r.page().text_of("error"), r.page().text
	assert f"{jid('bob')}" in accounts(d) and f"{jid('bob')} admin" not in accounts(d)
	bob = xmpp.run(xmpp.login("bob", "bob-Pass-1"))
	xmpp.run(bob.close())
	assert ctl_code(d) == code		# nothing was spent: the admin can still use it
	r = post_setup(d, code, user="newadmin", password=ADMIN_PW2)
	assert r.status == 200 and jid("newadmin") in r.page().text_of("done"), r
	assert f"{jid('newadmin')} admin" in accounts(d)


def test_setup_refuses_cross_site_posts(daemon_factory):
	"""A site the admin visits cannot post the form from their browser: a browser's Origin
	or Sec-Fetch-Site that is not the page itself gets 403; a client that sends neither (curl)
	and the page's own posts get through."""
	d = fresh_box(daemon_factory)
	code = ctl_code(d)
	own = f"https://{HOST}:{d.https_port}"
	for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
			{"Origin": f"http://{HOST}:{d.https_port}"},
			{"Origin": f"https://{HOST}:{d.http_port}"},
			{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
			{"Origin": own, "Sec-Fetch-Site": "cross-site"}):
		r = post_setup(d, code, headers=headers)
		assert r.status == 403, (headers, r)
		assert "own page" in r.body, (headers, r)
	assert accounts(d) == [] and ctl_code(d) == code
	r = post_setup(d, code, headers={"Origin": own.upper().replace("HTTPS", "https"),
					 "Sec-Fetch-Site": "same-origin"})
	assert r.status == 200, r
	assert accounts(d) == [f"{jid(ADMIN)} admin"]


# 6. Guessing the code ------------------------------------------------------------------------

def test_wrong_codes_are_rate_limited(daemon_factory):
	d = fresh_box(daemon_factory)
	code = ctl_code(d)
	wrongs = [c for c in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "EEEE-EEEE",
			      "FFFF-FFFF") if c != code][:SETUP_FAIL_LIMIT]
	for w in wrongs:
		r = post_setup(d, w)
		assert r.status == 403 and r.page().text_of("error"), r
	r = post_setup(d, code)
	assert r.status == 429, r
	retry = r.header("Retry-After") or ""
	assert retry.isdigit() and int(retry) > 0, r
	assert accounts(d) == []
	assert ctl_code(d) == code
	assert_form(get_page(d))		# the page itself is still shown


@natter.other_sources
def test_wrong_codes_are_limited_globally(daemon_factory):
	"""Guessing from many addresses is capped too: past the global limit every address,
	even one that never guessed, waits."""
	d = fresh_box(daemon_factory)
	code = ctl_code(d)
	per = SETUP_FAIL_LIMIT - 1		# each address stays under its own limit
	n = 0
	for i in range(-(-SETUP_FAIL_GLOBAL_LIMIT // per)):
		for _ in range(per):
			if n == SETUP_FAIL_GLOBAL_LIMIT:
				break
			r = post_setup(d, "AAAA-AAAA" if code != "AAAA-AAAA" else "BBBB-BBBB",
				       src=f"127.0.0.{10 + i}")
			assert r.status == 403 and r.page().text_of("error") == WRONG, (n, r)
			n += 1
	r = post_setup(d, code, src="127.0.0.99")
	assert r.status == 429, r
	assert (r.header("Retry-After") or "").isdigit(), r
	assert "from all addresses together" in d.log()
	assert accounts(d) == [] and ctl_code(d) == code


# 7. Robustness -------------------------------------------------------------------------------

def _line(n):
	"""A GET request line of exactly n bytes."""
	pad = n - len("GET / HTTP/1.1")
	return f"GET /{'a' * pad} HTTP/1.1"


BAD_REQUESTS = {
	"uri-too-long": ((_line(3000) + f"\r\nHost: {HOST}\r\n\r\n").encode(), 414),
	"40-headers": (req("GET", "/", *(f"X-H{i}: v" for i in range(39))), 431),
	"head-over-8k": (req("GET", "/", "X-Pad: " + "p" * 8300), 431),
	"body-too-large": (req("POST", "/setup", f"Content-Type: {FORM}",
			       "Content-Length: 100000"), 413),
	"chunked": (req("POST", "/setup", f"Content-Type: {FORM}",
			"Transfer-Encoding: chunked") + b"5\r\ncode=\r\n0\r\n\r\n", 501),
	"http-2.0": (req("GET", "/", version="HTTP/2.0"), 505),
	"garbage": (b"\x00\x01\x02\xff\xfe\x80 this is not HTTP \x1b[0m\r\n\r\n", 400),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_request_gets_its_status(daemon_factory, xmpp, name):
	data, status = BAD_REQUESTS[name]
	d = daemon_factory()
	raw = raw_https(d)
	try:
		raw.send_draining(data)
		r = read_reply(raw)
		assert r.status == status, r
		assert r.header("Connection") == "close", r
		assert closes(raw)
	finally:
		raw.close()
	assert_serving(d, xmpp)


def test_slow_and_silent_clients_are_closed(daemon_factory, xmpp):
	d = daemon_factory()
	start = time.monotonic()
	slow = raw_https(d)			# half a request, then nothing
	slow.send(f"GET / HTTP/1.1\r\nHost: {HOST}\r\n")
	silent = socket.create_connection((HOST, d.https_port), timeout=TIMEOUT)  # no TLS
	idle = raw_https(d)			# TLS, then nothing
	try:
		# They hold up nobody meanwhile.
		assert_serving(d, xmpp)
		r = read_reply(slow, timeout=(HTTP_TIMEOUT_S + 5.0) * SLOW)
		took = time.monotonic() - start
		assert r.status == 408, r
		assert HTTP_TIMEOUT_S - 1.0 <= took <= HTTP_TIMEOUT_S + 4.0 * SLOW, took
		assert closes(slow, timeout=2.0 * SLOW)
		assert closes(idle, timeout=3.0 * SLOW)
		silent.settimeout(3.0 * SLOW)
		try:
			assert silent.recv(100) == b""
		except ConnectionResetError:
			pass
	finally:
		for c in (slow, idle):
			c.close()
		silent.close()
	assert_serving(d, xmpp)


def test_many_dropped_connections(daemon_factory, xmpp):
	d = daemon_factory()
	socks = [socket.create_connection((HOST, d.https_port), timeout=TIMEOUT)
		 for _ in range(20)]
	for i, s in enumerate(socks):
		if i % 4 == 1:		# a TLS ClientHello's first bytes, cut off
			s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
		if i % 2 == 0:		# reset rather than closed
			s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	for s in socks:
		s.close()
	# And some that got as far as half a request.
	for _ in range(5):
		raw = raw_https(d)
		raw.send(f"POST /setup HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 50\r\n\r\ncode")
		raw.close()
	assert_serving(d, xmpp)


WEB_CONNS_PER_IP = 32		# CONFIG_NT_WEB_CONNS_PER_ADDR (natterctl: limit.web_per_addr)


def test_connections_per_address_are_limited(daemon_factory, xmpp):
	"""One address cannot hold every web connection: past the limit natterd closes new ones
	at once, and takes them again when the others are gone."""
	d = daemon_factory()
	socks = [socket.create_connection((HOST, d.https_port), timeout=TIMEOUT)
		 for _ in range(WEB_CONNS_PER_IP)]
	try:
		# Every one of them is taken: a request on the last answers.
		last = _HTTPS(d.https_port, any_cert())
		socks.append(last)
		try:
			last.request("GET", "/")
			raise AssertionError("a connection past the limit was served")
		except (ConnectionError, ssl.SSLError, OSError):
			pass
		wait_log(d, "web: refusing")
	finally:
		for s in socks:
			s.close()
	deadline = time.monotonic() + TIMEOUT
	while True:
		try:
			assert request(d, "GET", "/").status == 200
			break
		except (ConnectionError, ssl.SSLError, OSError):
			if time.monotonic() > deadline:
				raise
			time.sleep(0.1)
	assert_serving(d, xmpp)


def test_plain_http_on_the_https_port(daemon_factory, xmpp):
	d = daemon_factory()
	raw = RawConn(d.https_port)
	try:
		raw.send(req("GET", "/"))
		try:
			got = raw.read_until_closed(timeout=5.0 * SLOW)
		except TimeoutError as e:
			raise AssertionError(f"natterd kept a non-TLS connection open: {e}")
		assert not got.startswith("HTTP/"), got
	finally:
		raw.close()
	assert_serving(d, xmpp)


# 8. Keep-alive, pipelining, HEAD -------------------------------------------------------------

def test_keep_alive_and_pipelining(daemon_factory):
	d = daemon_factory()
	raw = raw_https(d, alpn=["h2", "http/1.1"])
	try:
		assert raw.sock.selected_alpn_protocol() == "http/1.1"
		raw.send(req("GET", "/"))
		first = read_reply(raw)
		assert first.status == 200 and first.header("Connection") == "keep-alive", first
		assert_set_up_form(first.page())
		raw.send(req("GET", "/"))
		second = read_reply(raw)
		assert second.status == 200 and second.body == first.body, second

		# Three in one write: answered in order; HEAD's answer has no body, so the
		# bytes after its head are the third answer's status line.
		raw.send(req("GET", "/setup") + req("HEAD", "/") + req("GET", "/nowhere"))
		a = read_reply(raw)
		b = read_reply(raw, head_only=True)
		c = read_reply(raw)
		assert a.status == 200 and a.body == first.body, a
		assert b.status == 200 and int(b.header("Content-Length")) == len(
			first.body.encode()), b
		assert b.header("Content-Type").startswith("text/html"), b
		assert c.status == 404, c
		assert closes(raw)		# an error answer ends the connection
	finally:
		raw.close()


def test_connection_close_and_http_1_0(daemon_factory):
	d = daemon_factory()
	for head in (req("GET", "/", "Connection: close"), req("GET", "/", version="HTTP/1.0")):
		raw = raw_https(d)
		try:
			raw.send(head)
			r = read_reply(raw)
			assert r.status == 200 and r.header("Connection") == "close", r
			assert closes(raw)
		finally:
			raw.close()
	# HEAD on a connection of its own: the head only, and the connection stays usable.
	raw = raw_https(d)
	try:
		raw.send(req("HEAD", "/"))
		r = read_reply(raw, head_only=True)
		assert r.status == 200 and int(r.header("Content-Length")) > 0, r
		raw.send(req("GET", "/", "Connection: close"))
		r2 = read_reply(raw)
		assert r2.status == 200 and len(r2.body.encode()) == int(r.header("Content-Length"))
		assert closes(raw)
	finally:
		raw.close()
