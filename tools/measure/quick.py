#!/usr/bin/env python3
"""Quick measurements of a running natterd (the real benchmark is `make bench`, issue 4).

  quick.py idle   --port P --pid PID --users N   RSS idle and with N idle TLS sessions
  quick.py logins --port P --seconds S --conc C  full STARTTLS+SCRAM-SHA-1 logins per second

Accounts user0..userN-1@localhost with password "pw" must exist. Talks to 127.0.0.1 only.
"""
import argparse, asyncio, base64, hashlib, hmac, os, ssl, time

NS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
_keys = {}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def read_until(r, token, limit=65536):
    data = b""
    while token not in data:
        chunk = await asyncio.wait_for(r.read(4096), 10)
        if not chunk:
            raise ConnectionError("closed while waiting for %r: %r" % (token, data[-200:]))
        data += chunk
        if len(data) > limit:
            raise ConnectionError("too much data")
    return data


def scram_keys(salt, it):
    k = (salt, it)
    if k not in _keys:  # PBKDF2 once per salt, so the client's own cost is not measured
        salted = hashlib.pbkdf2_hmac("sha1", b"pw", salt, it)
        ck = hmac.new(salted, b"Client Key", "sha1").digest()
        _keys[k] = (ck, hashlib.sha1(ck).digest())
    return _keys[k]


async def login(port, user, ctx):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    hdr = f"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' {NS}>".encode()
    w.write(hdr)
    await read_until(r, b"</stream:features>")
    w.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await read_until(r, b"<proceed")
    await w.start_tls(ctx, server_hostname="localhost")
    w.write(hdr)
    await read_until(r, b"</stream:features>")
    cnonce = base64.b64encode(os.urandom(12)).decode()
    first_bare = f"n={user},r={cnonce}"
    w.write(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>%s</auth>"
             % base64.b64encode(("n,," + first_bare).encode()).decode()).encode())
    ch = await read_until(r, b"</challenge>")
    sf = base64.b64decode(ch.split(b">", 1)[1].split(b"<")[0]).decode()
    parts = dict(p.split("=", 1) for p in sf.split(","))
    ck, sk = scram_keys(base64.b64decode(parts["s"]), int(parts["i"]))
    final_wo = f"c=biws,r={parts['r']}"
    auth_msg = f"{first_bare},{sf},{final_wo}".encode()
    sig = hmac.new(sk, auth_msg, "sha1").digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(ck, sig))).decode()
    w.write(("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>"
             % base64.b64encode(f"{final_wo},p={proof}".encode()).decode()).encode())
    res = await read_until(r, b"success")
    w.write(hdr)
    await read_until(r, b"</stream:features>")
    w.write(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    await read_until(r, b"</iq>")
    return r, w


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a measurement, not a test of verification
    return ctx


async def idle(a):
    ctx = client_ctx()
    before = rss_kib(a.pid)
    conns = [await login(a.port, f"user{i}", ctx) for i in range(a.users)]
    await asyncio.sleep(a.settle)
    after = rss_kib(a.pid)
    print(f"idle RSS {before} KiB; with {a.users} idle TLS sessions {after} KiB; "
          f"{(after - before) / a.users:.1f} KiB per session")
    for r, w in conns:
        w.close()


async def logins(a):
    ctx = client_ctx()
    ctx.options |= ssl.OP_NO_TICKET  # full handshakes only
    done = 0
    end = time.monotonic() + a.seconds

    async def worker(k):
        nonlocal done
        i = k
        while time.monotonic() < end:
            r, w = await login(a.port, f"user{i % a.users}", ctx)
            w.close()
            done += 1
            i += a.conc
    t0 = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(a.conc)))
    print(f"{done} logins in {time.monotonic() - t0:.1f} s: "
          f"{done / (time.monotonic() - t0):.0f} logins/s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["idle", "logins"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--conc", type=int, default=8)
    p.add_argument("--settle", type=float, default=3, help="seconds before reading RSS")
    a = p.parse_args()
    asyncio.run(idle(a) if a.what == "idle" else logins(a))


if __name__ == "__main__":
    main()
