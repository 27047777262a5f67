"""Measurements of a server from outside: memory and CPU time summed over its process tree
(/proc), time to the first accepted connection, and sizes on disk (files and Debian packages).

A server's tree is its root process and every descendant alive at the moment of the sample:
for ejabberd the BEAM and its port programs (erl_child_setup, inet_gethost, memsup, cpu_sup),
plus an epmd if the instance started one; for Prosody and natterd one process each.
"""
import os
import re
import socket
import subprocess
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.005		# connect() poll interval while waiting for a port


# Processes ------------------------------------------------------------------------------------

def _stat(pid):
	"""The fields of /proc/PID/stat after the command name, as strings; None when gone.
	Index 0 is field 3 (state) of proc(5)."""
	try:
		with open(f"/proc/{pid}/stat") as f:
			text = f.read()
	except OSError:
		return None
	return text[text.rindex(")") + 2:].split()


def _comm(pid):
	try:
		with open(f"/proc/{pid}/comm") as f:
			return f.read().strip()
	except OSError:
		return "?"


def tree(root, extra=()):
	"""Pids of root and all its live descendants, plus the pids in extra (and theirs)."""
	children = {}
	for entry in os.listdir("/proc"):
		if not entry.isdigit():
			continue
		st = _stat(entry)
		if st is not None:
			children.setdefault(int(st[1]), []).append(int(entry))
	out, todo = [], [p for p in (root, *extra) if p]
	while todo:
		pid = todo.pop()
		if pid in out or _stat(pid) is None:
			continue
		out.append(pid)
		todo.extend(children.get(pid, ()))
	return sorted(out)


def cpu_seconds(pids):
	"""User + system CPU time of the pids and of the children they have reaped."""
	ticks = 0
	for pid in pids:
		st = _stat(pid)
		if st is not None:
			# utime stime cutime cstime are fields 14-17, i.e. indices 11-14 here.
			ticks += sum(int(v) for v in st[11:15])
	return ticks / CLK_TCK


def cpu_busy(cpu):
	"""Seconds CPU number cpu has been busy since boot (/proc/stat: everything but idle
	and iowait), whoever ran on it; None when there is no such CPU."""
	try:
		with open("/proc/stat") as f:
			for line in f:
				if line.startswith(f"cpu{cpu} "):
					v = [int(x) for x in line.split()[1:]]
					return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK
	except OSError:
		pass
	return None


def _rollup(pid):
	"""Rss, Pss, Uss (private pages) and Anonymous in KiB from /proc/PID/smaps_rollup, as a
	dict; status VmRSS for all four when that cannot be read; zeros for a process that has
	gone."""
	got = {}
	fields = {"Rss:": "rss", "Pss:": "pss", "Private_Clean:": "uss", "Private_Dirty:": "uss",
		  "Anonymous:": "anon"}
	try:
		with open(f"/proc/{pid}/smaps_rollup") as f:
			for line in f:
				key = fields.get(line.split(maxsplit=1)[0] if line.strip() else "")
				if key:
					got[key] = got.get(key, 0) + int(line.split()[1])
	except OSError:
		pass
	if "rss" not in got:
		try:
			with open(f"/proc/{pid}/status") as f:
				for line in f:
					if line.startswith("VmRSS:"):
						got["rss"] = int(line.split()[1])
		except OSError:
			pass
	rss = got.get("rss", 0)
	return {k: got.get(k, rss) for k in ("rss", "pss", "uss", "anon")}


def snapshot(root, extra=()):
	"""Memory and CPU of the tree at root now: a dict with rss_kib, pss_kib, uss_kib (private
	pages), anon_kib, cpu_s, procs (the command names) and t (monotonic seconds)."""
	pids = tree(root, extra)
	tot = {"rss": 0, "pss": 0, "uss": 0, "anon": 0}
	for pid in pids:
		for k, v in _rollup(pid).items():
			tot[k] += v
	snap = {f"{k}_kib": v for k, v in tot.items()}
	snap.update({"cpu_s": round(cpu_seconds(pids), 3), "procs": [_comm(p) for p in pids],
		     "t": time.monotonic()})
	return snap


def settle(root, extra=(), seconds=2.0, tolerance_kib=256, timeout=15.0):
	"""Samples every half second until RSS has changed by less than tolerance_kib over
	`seconds` (or timeout passes); returns the last snapshot."""
	deadline = time.monotonic() + timeout
	history = [snapshot(root, extra)]
	while time.monotonic() < deadline:
		time.sleep(0.5)
		history.append(snapshot(root, extra))
		window = [s for s in history if s["t"] >= history[-1]["t"] - seconds]
		spread = max(s["rss_kib"] for s in window) - min(s["rss_kib"] for s in window)
		if history[-1]["t"] - history[0]["t"] >= seconds and spread < tolerance_kib:
			break
	return history[-1]


# Ports ----------------------------------------------------------------------------------------

def port_accepts(port, host="127.0.0.1", timeout=0.5):
	try:
		with socket.create_connection((host, port), timeout=timeout):
			return True
	except OSError:
		return False


def wait_port(port, t0, timeout, alive=lambda: True, host="127.0.0.1"):
	"""Polls connect() on host:port until it is accepted; returns the seconds since t0
	(a time.monotonic() value). Raises TimeoutError after timeout or when alive() turns
	false (the server died). Off loopback (lwIP behind a TAP device) a SYN sent before the
	server reads the device is never answered, so each attempt there waits 20 ms only."""
	deadline = t0 + timeout
	attempt = 0.5 if host.startswith("127.") else 0.02
	while time.monotonic() < deadline:
		if port_accepts(port, host, attempt):
			return time.monotonic() - t0
		if not alive():
			raise TimeoutError(f"the server exited before port {port} accepted")
		time.sleep(POLL_S)
	raise TimeoutError(f"port {port} did not accept within {timeout} s")


def free_port(host="127.0.0.1"):
	"""A TCP port on host that was free a moment ago."""
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
		s.bind((host, 0))
		return s.getsockname()[1]


# Sizes ----------------------------------------------------------------------------------------

def stripped_size(path):
	"""Bytes of path after `strip` (into a temporary copy; the original stays)."""
	tmp = Path(f"{path}.bench-stripped")
	try:
		subprocess.run(["strip", "-o", str(tmp), str(path)], check=True, timeout=60,
			       capture_output=True)
		return tmp.stat().st_size
	finally:
		tmp.unlink(missing_ok=True)


def dir_kib(path):
	"""Disk usage of a folder in KiB (du -sk); 0 when missing."""
	if not Path(path).exists():
		return 0
	out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True,
			     timeout=120).stdout
	return int(out.split()[0]) if out.strip() else 0


def _installed_packages():
	"""{package: (installed-size KiB, [dependency alternatives]), ...} and a map from each
	virtual package name to the installed packages providing it. Packages every Debian
	system has (Essential, or of priority required or important) are left out."""
	fmt = "${Package}\\t${Status}\\t${Installed-Size}\\t${Pre-Depends}\\t${Depends}\\t" \
	      "${Provides}\\t${Essential}\\t${Priority}\\n"
	out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True,
			     timeout=120).stdout
	pkgs, provides = {}, {}
	for line in out.splitlines():
		name, status, size, pre, dep, prov, ess, prio = (line.split("\t") + [""] * 8)[:8]
		if not status.endswith(" installed") or ess == "yes" or \
				prio in ("required", "important"):
			continue
		groups = [g for g in (pre + "," + dep).split(",") if g.strip()]
		alts = [[re.sub(r"[\s(].*|:.*", "", a.strip()) for a in g.split("|")]
			for g in groups]
		pkgs[name] = (int(size or 0), alts)
		for p in prov.split(","):
			p = re.sub(r"[\s(].*", "", p.strip())
			if p:
				provides.setdefault(p, []).append(name)
	return pkgs, provides


def closure(roots, db=None):
	"""The installed packages roots depend on, recursively, roots included."""
	pkgs, provides = db or _installed_packages()
	seen, todo = set(), [r for r in roots if r in pkgs]
	while todo:
		p = todo.pop()
		if p in seen:
			continue
		seen.add(p)
		for alts in pkgs[p][1]:
			for a in alts:
				cands = [a] if a in pkgs else provides.get(a, [])
				cands = [c for c in cands if c in pkgs]
				if cands:
					todo.append(cands[0])
					break
	return seen


def package_sizes(roots_by_server):
	"""For {server: [root packages]}: per server the installed size (KiB) of its roots, and
	of its dependency closure less the packages another server's closure has too."""
	db = _installed_packages()
	closures = {s: closure(r, db) for s, r in roots_by_server.items()}
	out = {}
	for s, mine in closures.items():
		others = set().union(*[c for o, c in closures.items() if o != s])
		unique = sorted(mine - others)
		out[s] = {
			"roots": sorted(r for r in roots_by_server[s] if r in db[0]),
			"roots_kib": sum(db[0][p][0] for p in roots_by_server[s] if p in db[0]),
			"unique_packages": unique,
			"unique_kib": sum(db[0][p][0] for p in unique),
		}
	return out


def packages_of_binary(path):
	"""The Debian packages that hold the shared libraries path links (ldd, dpkg -S)."""
	out = subprocess.run(["ldd", str(path)], capture_output=True, text=True,
			     timeout=60).stdout
	libs = re.findall(r"=>\s*(/\S+)", out)
	pkgs = set()
	for lib in libs:
		for cand in {lib, os.path.realpath(lib), re.sub(r"^/usr", "", lib),
			     re.sub(r"^/lib", "/usr/lib", lib)}:
			res = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True,
					     timeout=60)
			if res.returncode == 0:
				pkgs.add(res.stdout.split(":")[0].strip())
				break
	return sorted(pkgs)


def package_version(pkg):
	return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
			      text=True, timeout=60).stdout.strip() or None
