#!/usr/bin/python3
"""natter's side-by-side benchmark: natterd, Prosody and ejabberd under the same load.

  make bench          the full run (under 20 minutes)
  make bench-quick    tiny sizes and short runs (under 2 minutes)
  tools/bench/bench.py [--quick] [--servers natterd,prosody,ejabberd] [--build DIR] [--out DIR]

Each server runs as a private instance on its own free loopback port (servers.py), pinned to
CPU 0; the load generator, build/natter-load, runs pinned to CPU 1, so every figure is per core.
The scenarios are the same for all three, in this order: startup time, idle sessions at
several sizes (memory per session), logins, chat at full speed and at lighter loads (latency
against load), roster, reconnect, churn (memory before and after), chat again. The results go
to OUT/report.md, OUT/report.json and OUT/*.svg (report.py).
Talks to 127.0.0.1 only, and to natterd-lwip over a TAP device in the network namespace
that tools/lwip-netns.sh makes. Every generator run is bounded in time.
"""
import argparse
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVER_CPU, GEN_CPU = 0, 1
PREFIX, PASSWORD = "user", "pw"
SOURCES = 16		# source addresses 127.0.0.1-16: natterd allows 1000 connections per IP

PLANS = {
	"quick": {
		"users": 300, "startups": 1, "idle": [0, 100, 300], "hold": 4, "settle": 1.0,
		"logins": {"conc": 16, "seconds": 3},
		"chat": {"pairs": 50, "window": 4, "seconds": 2},
		"sweep": [(1, 1), (10, 1)], "sweep_seconds": 2,
		"roster": {"contacts": 10, "groups": 3, "conc": 3, "seconds": 2},
		"reconnect": {"conc": 16, "seconds": 2},
		"churn": {"cycles": 300, "conc": 16},
		"timeout": 20,
	},
	"full": {
		"users": 10000, "startups": 3, "idle": [0, 1000, 5000, 10000], "hold": 8,
		"settle": 2.0,
		"logins": {"conc": 16, "seconds": 10},
		"chat": {"pairs": 50, "window": 4, "seconds": 10},
		"sweep": [(1, 1), (5, 1), (20, 1), (50, 1), (50, 16)], "sweep_seconds": 6,
		"roster": {"contacts": 20, "groups": 10, "conc": 4, "seconds": 10},
		"reconnect": {"conc": 16, "seconds": 10},
		"churn": {"cycles": 10000, "conc": 16},
		"timeout": 60,
	},
}


def say(msg):
	print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class LoadError(Exception):
	pass


class Generator:
	"""Runs build/natter-load against one server and returns its JSON result."""

	def __init__(self, binary, logdir, plan):
		self.binary = Path(binary)
		self.logdir = Path(logdir)
		self.plan = plan
		self.runs = 0

	def argv(self, srv, scenario, opts, seconds, first, users):
		pin = ["taskset", "-c", str(GEN_CPU)] if (os.cpu_count() or 1) > 1 else []
		timed = ["--seconds", str(seconds)] if seconds else []
		src = ["--source-base", srv.source_base] if srv.source_base else []
		return [*pin, str(self.binary), "--host", srv.host, *src, "--port", str(srv.port),
			"--tls", "starttls", "--domain", servers.DOMAIN, "--user-prefix", PREFIX,
			"--password", PASSWORD, "--first", str(first), "--users", str(users),
			"--mech", "SCRAM-SHA-1", "--procs", "1", "--sources", str(SOURCES), *timed,
			"--timeout", str(self.plan["timeout"]), scenario, *[str(o) for o in opts]]

	def run(self, srv, scenario, opts=(), seconds=0, budget=None, on_ready=None, first=0,
		users=None):
		"""Runs one scenario on accounts [first, first + users) (default: the plan's
		users); on_ready() is called when the generator prints "READY n". Kills the
		generator when it has not finished within budget seconds."""
		self.runs += 1
		argv = self.argv(srv, scenario, opts, seconds, first, users or self.plan["users"])
		budget = budget or seconds + self.plan["timeout"] + 60
		log = self.logdir / f"{srv.name}-{self.runs:02d}-{scenario}.log"
		proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
					stderr=subprocess.PIPE, start_new_session=True)
		out, err, ready_at = b"", b"", None
		deadline = time.monotonic() + budget
		streams = {proc.stdout.fileno(): "out", proc.stderr.fileno(): "err"}
		try:
			while streams:
				left = deadline - time.monotonic()
				if left <= 0:
					raise LoadError(f"{scenario}: no result within "
							f"{budget:.0f} s")
				ready, _, _ = select.select(list(streams), [], [], min(left, 1.0))
				for fd in ready:
					chunk = os.read(fd, 65536)
					if not chunk:
						del streams[fd]
					elif streams[fd] == "out":
						out += chunk
					else:
						err += chunk
						if on_ready and ready_at is None and \
								b"READY" in err:
							ready_at = time.monotonic()
							on_ready()
			proc.wait(max(1.0, deadline - time.monotonic()))
		except (LoadError, subprocess.TimeoutExpired) as e:
			os.killpg(proc.pid, signal.SIGKILL)
			proc.wait(10)
			log.write_bytes(b" ".join(a.encode() for a in argv) + b"\n" + err)
			raise LoadError(str(e)) from None
		finally:
			proc.stdout.close()
			proc.stderr.close()
		log.write_bytes(b" ".join(a.encode() for a in argv) + b"\n" + err + b"\n" + out)
		lines = [ln for ln in out.decode(errors="replace").splitlines()
			 if ln.startswith("{")]
		if not lines:
			raise LoadError(f"{scenario}: exit {proc.returncode}, no JSON; see {log}")
		res = json.loads(lines[-1])
		res["exit"] = proc.returncode
		res["log"] = str(log.relative_to(self.logdir.parent))
		return res


def measured(srv, gen, scenario, opts=(), seconds=0, **kw):
	"""A generator run with the server's CPU time over it (server_cpu_s), and the share of
	the server's CPU that other processes of the machine took meanwhile (cpu_others)."""
	before, busy0 = srv.snapshot(), measure.cpu_busy(SERVER_CPU)
	res = gen.run(srv, scenario, opts, seconds, **kw)
	after, busy1 = srv.snapshot(), measure.cpu_busy(SERVER_CPU)
	res["server_cpu_s"] = round(after["cpu_s"] - before["cpu_s"], 3)
	if busy0 is not None and busy1 is not None and after["t"] > before["t"]:
		others = busy1 - busy0 - res["server_cpu_s"]
		res["cpu_others"] = round(max(0.0, others) / (after["t"] - before["t"]), 3)
	res["server_rss_kib"] = after["rss_kib"]
	if not srv.alive():
		raise LoadError(f"{srv.name} exited during {scenario}")
	return res


def mem(s):
	return {k: s[k] for k in ("rss_kib", "pss_kib", "uss_kib", "anon_kib", "procs")}


# Scenarios ------------------------------------------------------------------------------

def sc_startup(srv, plan, out):
	srv.start()		# first start on the fresh copy: certificates, schema, caches
	srv.stop()
	times = []
	for i in range(plan["startups"]):
		times.append(round(srv.start(), 4))
		if i + 1 < plan["startups"]:
			srv.stop()
	out["startup_s"] = times
	out["startup_median_s"] = sorted(times)[len(times) // 2]
	say(f"{srv.name}: startup {out['startup_median_s'] * 1000:.1f} ms")


def sc_baseline(srv, plan, out):
	"""Memory of the fresh server, no session yet: the idle scenario's size 0."""
	out["idle"] = [{"sessions": 0, **mem(srv.settle(plan["settle"]))}]


def sc_idle(srv, gen, plan, out):
	points = out.setdefault("idle", [])
	for n in [n for n in plan["idle"] if n > 0]:
		got = {}

		def on_ready(got=got):
			got.update(mem(srv.settle(plan["settle"], timeout=plan["hold"] - 1.5)))
		res = measured(srv, gen, "idle", ["--sessions", n, "--hold", plan["hold"]],
			       budget=plan["timeout"] + plan["hold"] + n / 50 + 60,
			       on_ready=on_ready)
		if not got:
			raise LoadError(f"idle {n}: the generator never printed READY; see "
					f"{res['log']}")
		points.append({"sessions": n, **got, "load": res})
		say(f"{srv.name}: idle {n}: RSS {got['rss_kib'] / 1024:.1f} MiB, "
		    f"PSS {got['pss_kib'] / 1024:.1f} MiB")


def sc_chat(srv, gen, plan, out, key, pairs, window, seconds):
	res = measured(srv, gen, "chat", ["--pairs", pairs, "--window", window], seconds)
	out.setdefault(key, []).append(res)
	say(f"{srv.name}: chat {pairs}x{window}: {res.get('rate', 0):.0f} msg/s, "
	    f"p50 {res.get('p50_ms', 0):.2f} ms, p99 {res.get('p99_ms', 0):.2f} ms")
	return res


def sc_cycle(srv, gen, out, key, scenario, opts, seconds, **kw):
	res = measured(srv, gen, scenario, opts, seconds, **kw)
	out[key] = res
	if res.get("unsupported"):
		say(f"{srv.name}: {scenario}: unsupported")
	else:
		say(f"{srv.name}: {scenario}: {res.get('rate', 0):.0f}/s, ok {res.get('ok')}, "
		    f"failed {res.get('failed')}")
	return res


def sc_churn(srv, gen, plan, out):
	before = srv.settle(plan["settle"])
	c = plan["churn"]
	res = measured(srv, gen, "churn", ["--cycles", c["cycles"], "--conc", c["conc"]],
		       budget=c["cycles"] / 20 + plan["timeout"] + 60)
	after = srv.settle(plan["settle"])
	out["churn"] = {**res, "before": mem(before), "after": mem(after)}
	say(f"{srv.name}: churn {c['cycles']}: {res.get('rate', 0):.0f}/s, RSS "
	    f"{before['rss_kib'] / 1024:.1f} -> {after['rss_kib'] / 1024:.1f} MiB")
	ch = plan["chat"]
	sc_chat(srv, gen, plan, out, "chat_at_end", ch["pairs"], ch["window"], ch["seconds"])


def roster_accounts(plan):
	"""The roster scenario's own accounts, after the others: groups of contacts + 1 with
	mutual subscriptions (so logins elsewhere stay without roster work)."""
	r = plan["roster"]
	return {"first": plan["users"], "users": r["groups"] * (r["contacts"] + 1)}


def populate(gen, plan):
	"""Fills a new pristine data dir: the roster groups' subscriptions, made once with the
	generator's own roster setup (a server without rosters answers "unsupported")."""
	def fill(srv):
		t0 = time.monotonic()
		res = gen.run(srv, "roster", ["--contacts", plan["roster"]["contacts"]], 1,
			      budget=servers.SETUP_TIMEOUT, **roster_accounts(plan))
		if res.get("unsupported"):
			say(f"{srv.name}: no rosters to set up")
		elif res.get("exit"):
			raise servers.SetupError(f"roster setup failed; see {res['log']}")
		else:
			say(f"{srv.name}: roster subscriptions in {time.monotonic() - t0:.1f} s")
	return fill


def bench_server(srv, gen, plan):
	out = {"name": srv.name, "label": srv.label, "version": srv.version(), "port": srv.port,
	       "errors": []}
	# Throughput and latency on the fresh server first; then the idle sizes (memory), and
	# the same chat again at the end, after everything, to show what the load left behind.
	steps = [
		("baseline", lambda: sc_baseline(srv, plan, out)),
		("logins", lambda: sc_cycle(srv, gen, out, "logins", "logins",
					    ["--conc", plan["logins"]["conc"]],
					    plan["logins"]["seconds"])),
		("chat", lambda: sc_chat(srv, gen, plan, out, "chat", plan["chat"]["pairs"],
					 plan["chat"]["window"], plan["chat"]["seconds"])),
		("sweep", lambda: [sc_chat(srv, gen, plan, out, "sweep", p, w,
					   plan["sweep_seconds"]) for p, w in plan["sweep"]]),
		("idle", lambda: sc_idle(srv, gen, plan, out)),
		("roster", lambda: sc_cycle(srv, gen, out, "roster", "roster",
					    ["--contacts", plan["roster"]["contacts"],
					     "--conc", plan["roster"]["conc"]],
					    plan["roster"]["seconds"], **roster_accounts(plan))),
		("reconnect", lambda: sc_cycle(srv, gen, out, "reconnect", "reconnect",
					       ["--conc", plan["reconnect"]["conc"]],
					       plan["reconnect"]["seconds"])),
		("churn", lambda: sc_churn(srv, gen, plan, out)),
	]
	t0 = time.monotonic()
	try:
		srv.populate = populate(gen, plan)
		srv.prepare(extra={k: plan["roster"][k] for k in ("contacts", "groups")})
		out["port"] = srv.port
		sc_startup(srv, plan, out)
		for name, step in steps:
			if not srv.alive():
				out["errors"].append(f"{name}: skipped, the server is not running")
				continue
			try:
				step()
			except LoadError as e:
				out["errors"].append(f"{name}: {e}")
				say(f"{srv.name}: {name} failed: {e}")
	except (servers.SetupError, LoadError, subprocess.TimeoutExpired, OSError) as e:
		out["errors"].append(f"setup: {e}")
		say(f"{srv.name}: setup failed: {e}")
	finally:
		out["exit_status"] = srv.stop()
		out["wall_s"] = round(time.monotonic() - t0, 1)
	return out


def sizes(insts):
	"""Stripped binaries (natterd) and installed sizes of the packages of each server."""
	roots = {}
	for s in insts:
		if s.same_as:	# the same software as another column: counted once
			continue
		try:
			roots[s.name] = s.packages()
		except (OSError, subprocess.SubprocessError) as e:
			say(f"{s.name}: cannot list its packages: {e}")
			roots[s.name] = []
	pk = measure.package_sizes(roots)
	out = {}
	for s in insts:
		bins = {k: measure.stripped_size(v) for k, v in s.binaries().items()
			if Path(v).exists()}
		p = pk.get(s.same_as or s.name) or {"roots": [], "roots_kib": 0,
						      "unique_packages": [], "unique_kib": 0}
		out[s.name] = {"binaries_bytes": bins, **p}
		if bins:	# natterd: its own files, plus the libraries only it needs
			out[s.name]["own_kib"] = round(sum(bins.values()) / 1024, 1)
			out[s.name]["total_kib"] = round(sum(bins.values()) / 1024
							 + p["unique_kib"], 1)
		else:		# a package: itself and the packages only it needs
			out[s.name]["own_kib"] = p["roots_kib"]
			out[s.name]["total_kib"] = p["unique_kib"]
	return out


def raise_fd_limit(need):
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if soft < hard:
		resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
	if hard != resource.RLIM_INFINITY and hard < need:
		say(f"warning: the open-file limit {hard} is below the {need} the largest idle "
		    "size needs")


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--quick", action="store_true", help="tiny sizes, short runs")
	ap.add_argument("--servers", default=",".join(servers.DEFAULT))
	ap.add_argument("--build", default=str(REPO / "build"))
	ap.add_argument("--out", default=None, help="default BUILD/bench")
	ap.add_argument("--load", default=None, help="default BUILD/natter-load")
	a = ap.parse_args()
	build = Path(a.build).resolve()
	out = Path(a.out).resolve() if a.out else build / "bench"
	plan = PLANS["quick" if a.quick else "full"]
	names = [n for n in a.servers.split(",") if n]
	for n in names:
		if n not in servers.ALL:
			ap.error(f"unknown server {n}")
		if n == "natterd-lwip" and not servers.IN_NETNS:
			ap.error("natterd-lwip runs only in the network namespace of "
				 "tools/lwip-netns.sh (make bench)")
	load = Path(a.load) if a.load else build / "natter-load"
	if not load.exists():
		ap.error(f"{load} is missing: make {load}")
	(out / "logs").mkdir(parents=True, exist_ok=True)
	raise_fd_limit(max(plan["idle"]) + 2048)
	if (os.cpu_count() or 1) < 2:
		say("warning: one CPU only; server and generator share it")

	t0, la0 = time.monotonic(), loadavg()
	gen = Generator(load, out / "logs", plan)
	results, insts = {}, []
	for n in names:
		accounts = plan["users"] + roster_accounts(plan)["users"]
		srv = servers.make(n, out / n, accounts, PREFIX, PASSWORD, build,
				   cpu=SERVER_CPU if (os.cpu_count() or 1) > 1 else None, log=say)
		insts.append(srv)
		say(f"== {n}")
		results[n] = bench_server(srv, gen, plan)
	meta = {
		"plan": "quick" if a.quick else "full", "settings": plan,
		"date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
		"cpus": os.cpu_count(), "cpu_model": cpu_model(), "kernel": os.uname().release,
		"server_cpu": SERVER_CPU, "generator_cpu": GEN_CPU, "sources": SOURCES,
		"generator": str(load), "wall_s": None, "loadavg_start": la0,
	}
	results_sizes = sizes(insts)
	meta["wall_s"] = round(time.monotonic() - t0, 1)
	meta["loadavg_end"] = loadavg()
	paths = report.write(out, meta, results, results_sizes)
	say(f"done in {meta['wall_s']:.0f} s: {', '.join(str(p) for p in paths)}")
	print(report.text_summary(out))
	failed = [f"{n}: {e}" for n, r in results.items() for e in r["errors"]]
	for f in failed:
		say(f"error: {f}")
	return 1 if failed else 0


def loadavg():
	try:
		with open("/proc/loadavg") as f:
			return f.read().split()[:3]
	except OSError:
		return None


def cpu_model():
	try:
		with open("/proc/cpuinfo") as f:
			for line in f:
				if line.startswith("model name"):
					return line.split(":", 1)[1].strip()
	except OSError:
		pass
	return None


if __name__ == "__main__":
	sys.exit(main())
