"""The certificate: made once, kept across restarts, replaced with SIGHUP."""
import hashlib
import re
import shutil
import signal
import socket
import ssl
import time

import natter


def served_fingerprint(port):
	"""SHA-256 of the certificate natterd presents on its direct-TLS port."""
	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE  # we compare the certificate itself below
	with socket.create_connection((natter.HOST, port), timeout=10) as raw:
		with ctx.wrap_socket(raw, server_hostname=natter.DOMAIN) as s:
			return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def file_fingerprint(pem_path):
	der = ssl.PEM_cert_to_DER_cert(pem_path.read_text())
	return hashlib.sha256(der).hexdigest()


def test_certificate_survives_restart(daemon_factory):
	d = daemon_factory()
	first = served_fingerprint(d.tls_port)
	assert first == file_fingerprint(d.cert)
	assert (d.datadir / "tls" / "key.pem").stat().st_mode & 0o077 == 0
	d.stop()
	d.check_exit()
	d2 = daemon_factory.restart(d)
	assert served_fingerprint(d2.tls_port) == first


def test_sighup_loads_a_replaced_certificate(daemon_factory):
	b = daemon_factory()  # only to make a second, different key and certificate
	b.stop()		# (one at a time: on lwIP each daemon takes the one TAP device)
	a = daemon_factory()
	old, new = file_fingerprint(a.cert), file_fingerprint(b.cert)
	assert old != new
	raw = natter.RawConn(a.c2s_port, cafile=a.cert)
	raw.login("alice", natter.USERS["alice"])
	for name in ("cert.pem", "key.pem"):
		shutil.copyfile(b.datadir / "tls" / name, a.datadir / "tls" / name)
	a.proc.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + 10
	while served_fingerprint(a.tls_port) != new:
		assert time.monotonic() < deadline, "SIGHUP did not load the new certificate"
		time.sleep(0.05)
	# The stream opened before the reload still works on the old certificate.
	raw.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	got = raw.read_until(re.compile(rb"<iq[^>]*p1[^>]*>"))
	assert re.search(r"type=.result.", got), got
	raw.close()
