"""The benchmark's outputs: report.json (every raw number), report.md (a table per scenario,
natterd beside Prosody and ejabberd with natterd's ratio to each) and two plots drawn with
gnuplot as SVG: memory against idle sessions, and chat latency against load.
"""
import json
import shutil
import subprocess
from pathlib import Path

NATTERD = "natterd"
LOWER, HIGHER = "lower is better", "higher is better"


# Numbers out of the raw results -----------------------------------------------------------

def _get(d, *path):
	for k in path:
		if not isinstance(d, dict) or k not in d:
			return None
		d = d[k]
	return d


def _ok(res):
	"""A generator result that measured something (not unsupported, not empty)."""
	return isinstance(res, dict) and not res.get("unsupported") and (res.get("ok") or 0) > 0


def _idle(r, n):
	for p in r.get("idle") or []:
		if p["sessions"] == n:
			return p
	return None


def per_session(r, key):
	"""KiB per idle session: the slope from the smallest size with sessions to the largest
	(from 0 when there is only one), so what the earlier scenarios left does not count."""
	pts = [p for p in r.get("idle") or [] if key in p]
	if len(pts) < 2 or pts[-1]["sessions"] == 0:
		return None
	lo = pts[1] if len(pts) > 2 else pts[0]
	hi = pts[-1]
	return (hi[key] - lo[key]) / (hi["sessions"] - lo["sessions"])


def cpu_per_op(res, unit=1000.0, per="ok"):
	"""Server CPU time per operation (ms with unit 1000, µs with 1e6)."""
	if not _ok(res) or not res.get(per):
		return None
	return res["server_cpu_s"] / res[per] * unit


def gen_share(res):
	"""The generator's CPU use as a share of the run's wall time (1.0 = it was saturated)."""
	if not _ok(res):
		return None
	if "gen_busy" in res:
		return res["gen_busy"]
	return res.get("gen_cpu_s", 0) / res["wall_s"] if res.get("wall_s") else None


def _mib(kib):
	return None if kib is None else kib / 1024


def rows(results, settings):
	"""[(section, [(label, unit, better, {server: value})])] for the tables."""
	out = []

	def row(label, unit, better, fn):
		vals = {}
		for n, r in results.items():
			try:
				vals[n] = fn(r)
			except (KeyError, TypeError, ZeroDivisionError, IndexError):
				vals[n] = None
		return (label, unit, better, vals)

	out.append(("Startup (existing data dir, to the first accepted connection)", [
		row("startup, median", "ms", LOWER, lambda r: r["startup_median_s"] * 1000),
	]))
	sizes = settings["idle"]
	mem = []
	for n in sizes:
		mem.append(row(f"RSS, {n} sessions", "MiB", LOWER,
			       lambda r, n=n: _mib(_idle(r, n)["rss_kib"])))
	for n in sizes:
		mem.append(row(f"PSS, {n} sessions", "MiB", LOWER,
			       lambda r, n=n: _mib(_idle(r, n)["pss_kib"])))
	mem.append(row("private (USS), fresh server", "MiB", LOWER,
		       lambda r: _mib(_idle(r, 0)["uss_kib"])))
	mem.append(row("anonymous, fresh server", "MiB", LOWER,
		       lambda r: _mib(_idle(r, 0)["anon_kib"])))
	mem.append(row("RSS per session", "KiB", LOWER, lambda r: per_session(r, "rss_kib")))
	mem.append(row("PSS per session", "KiB", LOWER, lambda r: per_session(r, "pss_kib")))
	mem.append(row("largest size: sessions up", "", HIGHER,
		       lambda r: r["idle"][-1]["load"]["established"]))
	mem.append(row("largest size: time to set them up", "s", LOWER,
		       lambda r: r["idle"][-1]["load"]["establish_s"]))
	nz = [n for n in sizes if n > 0]
	out.append(("Idle sessions (memory of the whole process tree; 0 sessions: the fresh "
		    "server; the others after the logins and chat runs; per session: the slope "
		    f"from {nz[0] if len(nz) > 1 else 0} to {nz[-1] if nz else 0} sessions)", mem))

	def load_rows(key, what, per_unit=1000.0, per_label="server CPU per login, ms"):
		def val(r, field):
			return r[key][field] if _ok(r[key]) else None
		return [
			row(f"{what}/s", "/s", HIGHER, lambda r: val(r, "rate")),
			row("p50 latency", "ms", LOWER, lambda r: val(r, "p50_ms")),
			row("p99 latency", "ms", LOWER, lambda r: val(r, "p99_ms")),
			row(per_label, "", LOWER, lambda r: cpu_per_op(r[key], per_unit)),
			row("failed", "", LOWER, lambda r: r[key]["failed"]),
			row("generator CPU / wall", "", None, lambda r: gen_share(r[key])),
			row("others' use of the server's CPU", "", None,
			    lambda r: r[key].get("cpu_others")),
		]

	lg = settings["logins"]
	out.append((f"Logins (STARTTLS + SCRAM-SHA-1 + bind, {lg['conc']} at once)",
		    load_rows("logins", "logins")))
	ch = settings["chat"]

	def chat0(r):
		return r["chat"][0]
	out.append((f"Chat at full speed ({ch['pairs']} pairs, window {ch['window']}, fresh "
		    "server)", [
		row("messages/s", "/s", HIGHER,
		    lambda r: chat0(r)["rate"] if _ok(chat0(r)) else None),
		row("p50 latency", "ms", LOWER, lambda r: chat0(r)["p50_ms"]),
		row("p99 latency", "ms", LOWER, lambda r: chat0(r)["p99_ms"]),
		row("server CPU per message (the run's logins too), µs", "", LOWER,
		    lambda r: cpu_per_op(chat0(r), 1e6, "received")),
		row("lost", "", LOWER, lambda r: chat0(r).get("lost")),
		row("generator CPU / wall", "", None, lambda r: gen_share(chat0(r))),
		row("others' use of the server's CPU", "", None,
		    lambda r: chat0(r).get("cpu_others")),
	]))
	sw = []
	for i, (p, w) in enumerate(settings["sweep"]):
		sw.append(row(f"{p} pairs, window {w}: messages/s", "/s", HIGHER,
			      lambda r, i=i: r["sweep"][i]["rate"]))
		sw.append(row(f"{p} pairs, window {w}: p99", "ms", LOWER,
			      lambda r, i=i: r["sweep"][i]["p99_ms"]))
	out.append(("Chat at other loads (see latency.svg and throughput.svg)", sw))
	ro = settings["roster"]
	out.append((f"Roster ({ro['contacts']} contacts per account, {ro['conc']} at once)",
		    load_rows("roster", "logins with roster") + [
			    row("presences per login", "", None,
				lambda r: r["roster"]["presences_per_login"]
				if _ok(r["roster"]) else None)]))
	out.append((f"Reconnect ({settings['reconnect']['conc']} at once)",
		    load_rows("reconnect", "reconnects", per_label="server CPU per reconnect, ms")
		    + [row("TLS sessions resumed", "", HIGHER,
			   lambda r: r["reconnect"]["resumed_fraction"]
			   if _ok(r["reconnect"]) else None)]))
	cu = settings["churn"]
	out.append((f"Churn ({cu['cycles']} connect-login-leave cycles, {cu['conc']} at once), "
		    "then the chat at full speed again, after all the scenarios", [
		row("cycles/s", "/s", HIGHER,
		    lambda r: r["churn"]["rate"] if _ok(r["churn"]) else None),
		row("failed", "", LOWER, lambda r: r["churn"]["failed"]),
		row("RSS before", "MiB", LOWER, lambda r: _mib(r["churn"]["before"]["rss_kib"])),
		row("RSS after", "MiB", LOWER, lambda r: _mib(r["churn"]["after"]["rss_kib"])),
		row("RSS growth", "MiB", LOWER, lambda r: _mib(r["churn"]["after"]["rss_kib"]
							   - r["churn"]["before"]["rss_kib"])),
		row("chat at the end: messages/s", "/s", HIGHER,
		    lambda r: r["chat_at_end"][0]["rate"]),
		row("chat at the end: p99", "ms", LOWER, lambda r: r["chat_at_end"][0]["p99_ms"]),
		row("chat at the end: server CPU per message, µs", "", LOWER,
		    lambda r: cpu_per_op(r["chat_at_end"][0], 1e6, "received")),
	]))
	return out


def size_rows(sizes):
	def row(label, fn):
		vals = {}
		for n, s in sizes.items():
			try:
				vals[n] = fn(s)
			except (KeyError, TypeError):
				vals[n] = None
		return (label, "MiB", LOWER, vals)
	return [
		row("own code (natterd: stripped natterd + natterctl; else the package)",
		    lambda s: s["own_kib"] / 1024),
		row("with the packages only it needs", lambda s: s["total_kib"] / 1024),
	]


# Formatting -------------------------------------------------------------------------------

def _fmt(v):
	if v is None:
		return "n/a"
	if isinstance(v, float):
		a = abs(v)
		digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 else 3
		return f"{v:.{digits}f}"
	return str(v)


def _ratio(a, b):
	"""a / b, for two positive numbers."""
	if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a <= 0 or b <= 0:
		return "n/a"
	r = a / b
	return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×" if r < 100 else f"{r:.0f}×"


def table(section, rws, names, labels):
	others = [n for n in names if n != NATTERD]
	head = ["", *[labels[n] for n in names]]
	if NATTERD in names:
		head += [f"natterd ÷ {labels[o]}" for o in others]
	lines = [f"### {section}", "", "| " + " | ".join(head) + " |",
		 "|" + "---|" * len(head)]
	for label, unit, better, vals in rws:
		name = f"{label} ({unit})" if unit and unit not in label else label
		if better:
			name += " ↓" if better == LOWER else " ↑"
		cells = [name, *[_fmt(vals.get(n)) for n in names]]
		if NATTERD in names:
			cells += [_ratio(vals.get(NATTERD), vals.get(o)) if better else ""
				  for o in others]
		lines.append("| " + " | ".join(cells) + " |")
	return "\n".join(lines) + "\n"


def markdown(meta, results, sizes, plots):
	names = list(results)
	labels = {n: r.get("label", n) for n, r in results.items()}
	s = meta["settings"]
	lwip = ("natterd on lwIP runs on its own TCP/IP stack over a TAP device (the same "
		"binary, `--net lwip`); its clients' kernel TCP runs on the generator's CPU, "
		"while over loopback the kernel does both ends' TCP on whichever CPU sends. "
		if "natterd-lwip" in results else "")
	md = ["# natter benchmark: natterd, Prosody and ejabberd side by side", "",
	      f"{meta['plan']} run of {meta['date']}, {meta['wall_s']:.0f} s. "
	      f"{meta['cpus']} CPUs ({meta['cpu_model']}), Linux {meta['kernel']}. Each server "
	      f"pinned to CPU {meta['server_cpu']}, the generator (natter-load, one process) to "
	      f"CPU {meta['generator_cpu']}: every figure is per core. {lwip}"
	      f"{'Otherwise l' if lwip else 'L'}oopback only; "
	      f"connections from {meta['sources']} source addresses. {s['users']} accounts on "
	      f"each server (and {s['roster']['groups'] * (s['roster']['contacts'] + 1)} more "
	      "for the roster scenario, in groups with mutual subscriptions), SCRAM with 4096 "
	      "iterations everywhere; clients log in with STARTTLS and SCRAM-SHA-1.", "",
	      f"Load average at the start {' '.join(meta.get('loadavg_start') or [])}, at the "
	      f"end {' '.join(meta.get('loadavg_end') or [])}: other work on the machine "
	      "skews the figures.", "",
	      "Versions: " + ", ".join(f"{labels[n]} {r.get('version')}" for n, r in
				       results.items()) + ".", "",
	      "↓ lower is better, ↑ higher is better. A ratio is natterd's figure divided by "
	      "the other server's. \"generator CPU / wall\" near 1.00 means the generator, not the "
	      "server, was the limit; \"others' use of the server's CPU\" is the share of CPU "
	      f"{meta['server_cpu']} that other processes of the machine took meanwhile (it "
	      "should be near 0). Memory is RSS and PSS summed over the server's whole "
	      "process tree (ejabberd: the BEAM and its port programs; no epmd runs, the node "
	      "is not distributed).", ""]
	for section, rws in rows(results, s):
		md.append(table(section, rws, names, labels))
	if sizes:
		md.append(table("Size on disk", size_rows(sizes), names, labels))
		for n in names:
			u = sizes.get(n, {}).get("unique_packages")
			if u:
				md.append(f"- {labels[n]}: packages only it needs: {', '.join(u)}")
		md.append("")
	if plots:
		md.append("Plots: " + ", ".join(f"[{p.name}]({p.name})" for p in plots) + "\n")
	errs = [(n, e) for n, r in results.items() for e in r.get("errors", [])]
	exits = [(n, k, v.get("exit")) for n, r in results.items() for k, v in r.items()
		 if isinstance(v, dict) and v.get("exit")]
	if errs or exits:
		md.append("## Problems\n")
		md += [f"- {labels[n]}: {e}" for n, e in errs]
		md += [f"- {labels[n]}: {k}: natter-load exited {x} (some operations failed)"
		       for n, k, x in exits]
		md.append("")
	return "\n".join(md)


# Plots ------------------------------------------------------------------------------------

def _gnuplot(script, out):
	if not shutil.which("gnuplot"):
		return None
	res = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True,
			     timeout=60)
	return out if res.returncode == 0 and out.exists() else None


def _series(data, name, rows):
	"""Writes rows (tuples of numbers) to data/name.dat; returns its path."""
	f = data / f"{name}.dat"
	f.write_text("".join(" ".join(f"{v:.4f}" for v in r) + "\n" for r in rows))
	return f


def plots(out, results):
	"""memory.svg: RSS and PSS against idle sessions. latency.svg and throughput.svg: chat
	p50/p99 latency and messages/s against the load offered, in messages in flight (pairs x
	window), on the fresh server."""
	data = out / "plots"
	data.mkdir(exist_ok=True)
	mem, lat, thr = [], [], []
	for i, (n, r) in enumerate(results.items(), 1):
		lab = r["label"]
		pts = [p for p in r.get("idle") or [] if "rss_kib" in p]
		if pts:
			f = _series(data, f"memory-{n}", [(p["sessions"], p["rss_kib"] / 1024,
							   p["pss_kib"] / 1024) for p in pts])
			mem += [f"'{f}' using 1:2 with linespoints lc {i} dt 1 title '{lab} RSS'",
				f"'{f}' using 1:3 with linespoints lc {i} dt 2 title '{lab} PSS'"]
		runs = [x for x in (r.get("sweep") or []) + (r.get("chat") or []) if _ok(x)]
		runs.sort(key=lambda x: (x["pairs"] * x["window"], x["rate"]))
		if runs:
			f = _series(data, f"chat-{n}", [(x["pairs"] * x["window"], x["rate"],
							 max(x["p50_ms"], 0.001),
							 max(x["p99_ms"], 0.001)) for x in runs])
			lat += [f"'{f}' using 1:4 with linespoints lc {i} dt 1 title '{lab} p99'",
				f"'{f}' using 1:3 with linespoints lc {i} dt 2 title '{lab} p50'"]
			thr.append(f"'{f}' using 1:2 with linespoints lc {i} title '{lab}'")
	common = "set terminal svg size 800,500 dynamic font 'sans,12'\nset grid\n" \
		 "set key left top\n"
	load = "set xlabel 'messages in flight (chat pairs x window)'\nset logscale x\n"
	figs = [
		("memory.svg", mem, "Memory against idle sessions (whole process tree)",
		 "set xlabel 'idle sessions'\nset ylabel 'MiB'\n"),
		("latency.svg", lat, "Chat latency against load (one server core)",
		 f"{load}set ylabel 'ms'\nset logscale y\n"),
		("throughput.svg", thr, "Chat throughput against load (one server core)",
		 f"{load}set ylabel 'messages/s delivered'\nset logscale y\n"),
	]
	made = []
	for name, lines, title, axes in figs:
		if lines:
			p = out / name
			script = f"{common}set output '{p}'\nset title '{title}'\n{axes}plot " \
				 + ", ".join(lines) + "\n"
			made.append(_gnuplot(script, p))
	return [p for p in made if p]


def write(out, meta, results, sizes):
	out = Path(out)
	figs = plots(out, results)
	(out / "report.json").write_text(json.dumps(
		{"meta": meta, "results": results, "sizes": sizes}, indent=1, default=str) + "\n")
	(out / "report.md").write_text(markdown(meta, results, sizes, figs))
	return [out / "report.md", out / "report.json", *figs]


def text_summary(out):
	return (Path(out) / "report.md").read_text()
