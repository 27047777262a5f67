"""SCRAM with channel binding (-PLUS): tls-server-end-point (RFC 5929) and tls-exporter
(RFC 9266), the XEP-0440 list of types, and the "y" downgrade (RFC 5802 section 6).

slixmpp binds only to tls-unique, which natterd does not offer, so the SCRAM client here is
written from RFC 5802 (hashlib, hmac) and runs over natter.RawConn. Python's ssl module has no
keying material exporter; pyOpenSSL (python3-openssl) does, so the tls-exporter tests run
their TLS through it."""
import base64
import hashlib
import hmac
import os
import re
import select
import socket

import pytest
from cryptography import x509
from OpenSSL import SSL, crypto

import natter
from natter import USERS, RawConn, jid

NS_SASL_CB = "urn:xmpp:sasl-cb:0"
EXPORTER_LABEL = b"EXPORTER-Channel-Binding"
# OpenSSL 3's SSL_OP_NO_EXTENDED_MASTER_SECRET (SSL_OP_BIT(0)); pyOpenSSL 23 has no name for it.
OP_NO_EMS = 1 << 0


class OpenSSLSock:
	"""Enough of a socket for RawConn, over pyOpenSSL (for export_keying_material)."""

	def __init__(self, sock, cafile, domain, ems=True):
		ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
		if not ems:
			ctx.set_options(OP_NO_EMS)
		ctx.load_verify_locations(str(cafile))
		ctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, errno, depth, ok: bool(ok))
		self.sock = sock
		self.timeout = natter.TIMEOUT
		self.conn = SSL.Connection(ctx, sock)
		self.conn.set_tlsext_host_name(domain.encode())
		self.conn.set_connect_state()
		self._retry(self.conn.do_handshake)

	def _wait(self, want_write):
		r, w, _ = select.select([] if want_write else [self.sock],
				       [self.sock] if want_write else [], [], self.timeout)
		if not r and not w:
			raise socket.timeout("pyOpenSSL: no progress")

	def _retry(self, fn, *args):
		while True:
			try:
				return fn(*args)
			except SSL.WantReadError:
				self._wait(False)
			except SSL.WantWriteError:
				self._wait(True)

	def settimeout(self, t):
		self.timeout = t

	def sendall(self, data):
		self._retry(self.conn.sendall, data)

	def recv(self, n):
		if self.conn.pending() == 0:
			self._wait(False)
		try:
			return self._retry(self.conn.recv, n)
		except (SSL.ZeroReturnError, SSL.SysCallError):
			return b""

	def close(self):
		self.sock.close()

	def version(self):
		return self.conn.get_protocol_version_name()

	def peer_cert_der(self):
		cert = self.conn.get_peer_certificate()
		return crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)

	def exporter(self, context):
		"""tls-exporter; context None: RFC 5705 without a context, b"": an empty one."""
		return self.conn.export_keying_material(EXPORTER_LABEL, 32, context)


def server_end_point(der):
	"""RFC 5929 section 4.1: the certificate's hash with its signature's hash algorithm,
	SHA-256 in place of MD5 and SHA-1."""
	name = x509.load_der_x509_certificate(der).signature_hash_algorithm.name
	return hashlib.new("sha256" if name in ("md5", "sha1") else name, der).digest()


def b64(data):
	return base64.b64encode(data).decode()


def scram(raw, mech, *, user="alice", password=None, flag="n", cbind=b""):
	"""One SCRAM exchange (RFC 5802) from <auth> to the server's last answer, which is
	returned as text. flag is the gs2 cbind flag ("n", "y" or "p=<type>"); cbind the binding
	data sent in c= after the gs2 header. A <success> is checked for the server's signature."""
	password = USERS[user] if password is None else password
	hname = "sha256" if mech.startswith("SCRAM-SHA-256") else "sha1"
	gs2 = f"{flag},,"
	first_bare = f"n={user},r={b64(os.urandom(18))}"
	raw.send(f"<auth xmlns='{natter.NS_SASL}' mechanism='{mech}'>"
		 f"{b64((gs2 + first_bare).encode())}</auth>")
	got = raw.read_sasl_answer()
	if "<challenge" not in got:
		return got
	server_first = base64.b64decode(re.search(r">([^<]*)</challenge>", got).group(1)).decode()
	attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
	salted = hashlib.pbkdf2_hmac(hname, password.encode(), base64.b64decode(attrs["s"]),
				     int(attrs["i"]))
	client_key = hmac.new(salted, b"Client Key", hname).digest()
	stored_key = hashlib.new(hname, client_key).digest()
	final_bare = f"c={b64(gs2.encode() + cbind)},r={attrs['r']}"
	auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
	proof = bytes(a ^ b for a, b in zip(client_key,
					    hmac.new(stored_key, auth_msg, hname).digest()))
	raw.send(f"<response xmlns='{natter.NS_SASL}'>"
		 f"{b64(f'{final_bare},p={b64(proof)}'.encode())}</response>")
	got = raw.read_sasl_answer()
	if "<success" in got:
		server_key = hmac.new(salted, b"Server Key", hname).digest()
		want = "v=" + b64(hmac.new(server_key, auth_msg, hname).digest())
		sent = base64.b64decode(re.search(r">([^<]*)</success>", got).group(1)).decode()
		assert sent == want, f"server signature {sent!r}, want {want!r}"
	return got


def connect(daemon, openssl=False, ems=True):
	"""A RawConn after STARTTLS, waiting for <auth>; returns (raw, features text)."""
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	raw.open_stream()
	raw.starttls(wrap=(lambda s, ca, dom: OpenSSLSock(s, ca, dom, ems)) if openssl else None)
	return raw, raw.open_stream()


def failure_condition(got):
	m = re.search(r"<failure[^>]*>\s*<([a-z-]+)", got)
	return m.group(1) if m else None


def binding_types(feats):
	m = re.search(r"<sasl-channel-binding[^>]*xmlns=['\"]" + re.escape(NS_SASL_CB) +
		      r"['\"][^>]*>(.*?)</sasl-channel-binding>", feats, re.S)
	return re.findall(r"<channel-binding[^>]*type=['\"]([^'\"]+)['\"]", m.group(1)) if m else []


def bound_session_works(raw):
	raw.open_stream()
	assert raw.bind("cb") == jid("alice") + "/cb"


def test_features_offer_plus_and_binding_types(daemon):
	raw, feats = connect(daemon)
	try:
		mechs = re.findall(r"<mechanism>([^<]+)</mechanism>", feats)
		for m in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1",
			  "PLAIN"):
			assert m in mechs, f"{m} not offered: {feats}"
		# TLS 1.2 with the extended master secret (OpenSSL's default): both types.
		assert binding_types(feats) == ["tls-server-end-point", "tls-exporter"], feats
	finally:
		raw.close()
	# Before TLS nothing of SASL is offered, so neither is a binding.
	raw = RawConn(daemon.c2s_port, cafile=daemon.cert)
	try:
		feats = raw.open_stream()
		assert "sasl-channel-binding" not in feats and "PLUS" not in feats, feats
	finally:
		raw.close()


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
def test_tls_server_end_point_login(daemon, mech):
	raw, _ = connect(daemon)
	try:
		cbind = server_end_point(raw.sock.getpeercert(binary_form=True))
		got = scram(raw, mech, flag="p=tls-server-end-point", cbind=cbind)
		assert "<success" in got, got
		bound_session_works(raw)
	finally:
		raw.close()


def test_tls_server_end_point_over_direct_tls(daemon):
	raw = RawConn(daemon.tls_port, cafile=daemon.cert, direct_tls=True)
	try:
		feats = raw.open_stream()
		assert "SCRAM-SHA-256-PLUS" in feats, feats
		cbind = server_end_point(raw.sock.getpeercert(binary_form=True))
		got = scram(raw, "SCRAM-SHA-256-PLUS", flag="p=tls-server-end-point", cbind=cbind)
		assert "<success" in got, got
	finally:
		raw.close()


# RFC 5705 in TLS 1.2 tells "no context" from "empty context"; clients use both (Go and
# OpenSSL callers without a context, BouncyCastle an empty one), natterd accepts each.
@pytest.mark.parametrize("mech,context", [("SCRAM-SHA-256-PLUS", None),
					  ("SCRAM-SHA-256-PLUS", b""),
					  ("SCRAM-SHA-1-PLUS", None)])
def test_tls_exporter_login(daemon, mech, context):
	raw, feats = connect(daemon, openssl=True)
	try:
		assert raw.sock.version() == "TLSv1.2"
		assert "tls-exporter" in binding_types(feats), feats
		got = scram(raw, mech, flag="p=tls-exporter", cbind=raw.sock.exporter(context))
		assert "<success" in got, got
		bound_session_works(raw)
	finally:
		raw.close()


def test_no_tls_exporter_without_extended_master_secret(daemon):
	"""Without the extended master secret (RFC 7627) a man in the middle can give both
	sides the same master secret, so tls-exporter is neither offered nor accepted."""
	raw, feats = connect(daemon, openssl=True, ems=False)
	try:
		assert binding_types(feats) == ["tls-server-end-point"], feats
		got = scram(raw, "SCRAM-SHA-256-PLUS", flag="p=tls-exporter",
			    cbind=raw.sock.exporter(None))
		assert failure_condition(got) == "malformed-request", got
		got = scram(raw, "SCRAM-SHA-256-PLUS", flag="p=tls-server-end-point",
			    cbind=server_end_point(raw.sock.peer_cert_der()))
		assert "<success" in got, got
	finally:
		raw.close()


def test_wrong_binding_is_refused(daemon):
	"""A man in the middle holds two TLS connections: the client's binding is of the one it
	has with the attacker. Here: a bit off, and another connection's exporter."""
	raw, _ = connect(daemon)
	try:
		cbind = bytearray(server_end_point(raw.sock.getpeercert(binary_form=True)))
		cbind[-1] ^= 1
		got = scram(raw, "SCRAM-SHA-256-PLUS", flag="p=tls-server-end-point",
			    cbind=bytes(cbind))
		assert failure_condition(got) == "not-authorized", got
		# The right binding after that still works on the same stream.
		got = scram(raw, "SCRAM-SHA-256-PLUS", flag="p=tls-server-end-point",
			    cbind=server_end_point(raw.sock.getpeercert(binary_form=True)))
		assert "<success" in got, got
	finally:
		raw.close()
	other, _ = connect(daemon, openssl=True)
	raw, _ = connect(daemon, openssl=True)
	try:
		got = scram(raw, "SCRAM-SHA-256-PLUS", flag="p=tls-exporter",
			    cbind=other.sock.exporter(None))
		assert failure_condition(got) == "not-authorized", got
		# No binding data at all after "p=" is refused as well.
		got = scram(raw, "SCRAM-SHA-1-PLUS", flag="p=tls-exporter", cbind=b"")
		assert failure_condition(got) == "not-authorized", got
	finally:
		raw.close()
		other.close()


def test_downgrade_flag_y_is_refused_and_n_works(daemon):
	"""'y' says: I can bind but you offered no -PLUS. We did, so someone stripped it."""
	raw, _ = connect(daemon)
	try:
		for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
			got = scram(raw, mech, flag="y")
			assert failure_condition(got) == "not-authorized", got
		got = scram(raw, "SCRAM-SHA-256", flag="n")
		assert "<success" in got, got
		bound_session_works(raw)
	finally:
		raw.close()
	assert "authenticated" in daemon.log()


@pytest.mark.parametrize("flag,mech", [("n", "SCRAM-SHA-256-PLUS"),
				       ("p=tls-unique", "SCRAM-SHA-256-PLUS"),
				       ("p=tls-server-end-point", "SCRAM-SHA-256")])
def test_flag_and_mechanism_must_agree(daemon, flag, mech):
	raw, _ = connect(daemon)
	try:
		cbind = b"\0" * 32 if flag.startswith("p=") else b""
		got = scram(raw, mech, flag=flag, cbind=cbind)
		assert failure_condition(got) == "malformed-request", got
		# The stream goes on: a correct login follows.
		assert "<success" in scram(raw, "SCRAM-SHA-256")
	finally:
		raw.close()
