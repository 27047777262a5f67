"""natterd on its own TCP/IP stack (lwIP), beyond what the whole suite checks when it runs
on lwIP (`make e2e-lwip`): a port that is unplugged and comes back, the raw-Ethernet
driver on one end of a veth pair, and IPv6. Runs only inside the namespace that
tools/lwip-netns.sh makes (conftest.py leaves it out elsewhere)."""
import re
import socket
import subprocess
import time

import natter


def ip(*args, check=True):
	return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def make_tap(name, cidr, cidr6=None):
	ip("tuntap", "add", "dev", name, "mode", "tap")
	ip("addr", "add", cidr, "dev", name)
	if cidr6:
		ip("-6", "addr", "add", cidr6, "dev", name, "nodad")
	ip("link", "set", name, "up")


def wait_log(d, text, timeout=10.0):
	deadline = time.monotonic() + timeout * natter.SLOW
	while text not in d.log():
		assert d.running(), f"natterd exited:\n{d.log()[-3000:]}"
		assert time.monotonic() < deadline, f"no '{text}' in the log:\n{d.log()[-3000:]}"
		time.sleep(0.05)


def ping(conn, n):
	conn.send(f"<iq type='get' id='p{n}'><ping xmlns='urn:xmpp:ping'/></iq>")
	got = conn.read_until(re.compile(rf"<iq[^>]*['\"]p{n}['\"][^>]*>".encode()))
	assert re.search(r"type=.result.", got), got


def lwip_daemon(factory, ifname, cidr, listen, *more):
	return factory(extra=["--lwip-if", ifname, "--lwip-ip4", cidr, "--listen", listen, *more])


def unplug_and_replug(d, name, cidr, host, while_gone=None):
	"""Deletes the TAP device under d, then makes it again: d keeps running, finds it,
	and a new login works."""
	ip("link", "del", name)			# unplugged
	wait_log(d, f"lost {name}")
	time.sleep(1.5)				# a retry or two while it is gone
	assert d.running()
	if while_gone:
		while_gone()
	make_tap(name, cidr)			# plugged in again
	wait_log(d, f"{name} is back")
	b = natter.RawConn(d.c2s_port, cafile=d.cert, host=host)
	b.login("alice", natter.USERS["alice"], resource="after")
	ping(b, 2)
	b.close()


def test_unplugged_port_comes_back(daemon_factory):
	make_tap("nt9", "10.79.0.1/24")
	try:
		d = lwip_daemon(daemon_factory, "nt9", "10.79.0.2/24", "10.79.0.2")
		a = natter.RawConn(d.c2s_port, cafile=d.cert, host="10.79.0.2")
		a.login("alice", natter.USERS["alice"], resource="before")
		ping(a, 1)

		unplug_and_replug(d, "nt9", "10.79.0.1/24", "10.79.0.2", a.sock.close)
	finally:
		ip("link", "del", "nt9", check=False)


def test_port_comes_back_after_root_is_dropped(unprivileged, daemon_factory):
	"""natterd runs as its own user by then: the TAP device is reattached through the
	descriptor it kept, with the CAP_NET_ADMIN it kept."""
	_, base = unprivileged
	make_tap("nt7", "10.82.0.1/24")
	try:
		d = daemon_factory(datadir=base / "data", extra=[
			"--lwip-if", "nt7", "--lwip-ip4", "10.82.0.2/24", "--listen", "10.82.0.2",
			"--user", natter.UNPRIV_USER])
		assert f"running as {natter.UNPRIV_USER}" in d.log()
		unplug_and_replug(d, "nt7", "10.82.0.1/24", "10.82.0.2")
	finally:
		ip("link", "del", "nt7", check=False)


def test_raw_ethernet_port_over_veth(daemon_factory):
	"""The packet driver on ntv1 (no kernel address); the kernel's end ntv0 is the LAN."""
	ip("link", "add", "ntv0", "type", "veth", "peer", "name", "ntv1")
	try:
		# A veth end hands its peer whatever the kernel built: segments of up to 64 KiB
		# with their checksums left to "the device". A wire never carries those, and
		# the driver takes frames of the MTU only: make ntv0 send what a NIC would.
		subprocess.run(["ethtool", "-K", "ntv0", "tso", "off", "gso", "off"], check=True,
			       capture_output=True)
		ip("addr", "add", "10.80.0.1/24", "dev", "ntv0")
		ip("link", "set", "ntv0", "up")
		d = lwip_daemon(daemon_factory, "ntv1", "10.80.0.2/24", "10.80.0.2",
				"--lwip-driver", "packet")
		assert "packet ntv1" in d.log()
		a = natter.RawConn(d.c2s_port, cafile=d.cert, host="10.80.0.2")
		a.login("alice", natter.USERS["alice"], resource="raw")
		b = natter.RawConn(d.c2s_port, cafile=d.cert, host="10.80.0.2")
		b.login("bob", natter.USERS["bob"], resource="raw")
		big = "x" * 20000			# many frames each way
		a.send(f"<message to='bob@{natter.DOMAIN}/raw' type='chat'><body>{big}</body>"
		       "</message>")
		got = b.read_until(re.compile(rb"</message>"))
		assert big in got
		ping(a, 3)
		a.close()
		b.close()
	finally:
		ip("link", "del", "ntv0", check=False)


def test_ipv6_static_address(daemon_factory):
	make_tap("nt8", "10.81.0.1/24", "fd81::1/64")
	try:
		d = lwip_daemon(daemon_factory, "nt8", "10.81.0.2/24", "fd81::2", "--lwip-ip6",
				"fd81::2/64")
		# lwIP checks the address is unique first (one probe, about a second).
		deadline = time.monotonic() + 10 * natter.SLOW
		while True:
			try:
				a = natter.RawConn(d.c2s_port, cafile=d.cert, host="fd81::2")
				break
			except OSError:
				assert time.monotonic() < deadline, d.log()[-3000:]
				time.sleep(0.2)
		a.login("carol", natter.USERS["carol"], resource="v6")
		ping(a, 4)
		a.close()
		assert "bound from fd81::1" in d.log()
	finally:
		ip("link", "del", "nt8", check=False)


def test_network_comes_from_the_settings(daemon_factory, tmp_path):
	"""natterctl set chooses the stack, the port and the address; natterd started with no
	network option uses them (a setting is read at start: a restart takes a change)."""
	make_tap("nt6", "10.84.0.1/24")
	try:
		data = tmp_path / "settings-data"
		for name, value in (("net.stack", "lwip"), ("net.lwip.driver", "tap"),
				    ("net.lwip.if", "nt6"), ("net.lwip.ip4", "10.84.0.2/24")):
			natter.natterctl(data, "set", name, value)
		assert natter.natterctl(data, "get", "net.lwip.if").stdout == "nt6\n"
		d = daemon_factory(datadir=data, lwip_args=False)
		assert "net lwip: tap nt6, 10.84.0.2/24" in d.log()
		a = natter.RawConn(d.c2s_port, cafile=d.cert, host="10.84.0.2")
		a.login("alice", natter.USERS["alice"], resource="settings")
		ping(a, 6)
		a.close()

		# A command-line option beats the setting.
		d.stop()
		natter.natterctl(data, "set", "net.lwip.ip4", "10.84.0.3/24")
		d2 = daemon_factory(datadir=data, users=False, lwip_args=False,
				    extra=["--lwip-ip4", "10.84.0.4/24"])
		assert "net lwip: tap nt6, 10.84.0.4/24" in d2.log()
	finally:
		ip("link", "del", "nt6", check=False)


def test_many_lan_hosts_do_not_make_it_ask_for_macs_again(daemon_factory):
	"""Debian's lwIP remembers 10 MACs; an office LAN has more hosts. natterd keeps its own
	cache of what ARP said, so 16 hosts talking at once cost no further ARP requests."""
	make_tap("nt5", "10.85.0.1/24")
	hosts = [f"10.85.0.{i}" for i in range(101, 117)]
	for h in hosts:
		ip("addr", "add", f"{h}/24", "dev", "nt5")
	watch = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
	try:
		watch.bind(("nt5", 0))
		watch.settimeout(0.2)
		d = lwip_daemon(daemon_factory, "nt5", "10.85.0.2/24", "10.85.0.2")
		mac = bytes.fromhex(re.search(r"MAC ([0-9a-f:]{17})", d.log()).group(1)
				    .replace(":", ""))
		conns = []
		for i, h in enumerate(hosts):
			c = natter.RawConn(d.c2s_port, cafile=d.cert, host="10.85.0.2", source=h)
			c.login("alice", natter.USERS["alice"], resource=f"host{i}", presence=False)
			conns.append(c)
		asked = 0
		for n in range(5):			# rounds of traffic from every host
			for i, c in enumerate(conns):
				ping(c, 100 * n + i)
		while True:				# ARP requests natterd sent meanwhile
			try:
				f = watch.recv(2048)
			except TimeoutError:
				break
			if f[6:12] == mac and f[20:22] == b"\x00\x01":
				asked += 1
		# lwIP may ask once for a host it had to evict before the cache knew it.
		assert asked <= len(hosts), f"{asked} ARP requests for {len(hosts)} hosts"
		for c in conns:
			c.close()
	finally:
		watch.close()
		ip("link", "del", "nt5", check=False)
