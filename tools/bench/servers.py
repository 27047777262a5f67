"""The three servers of the benchmark, each a private instance under build/bench/<name>/.

Every instance has its own free loopback port, its own config, data dir, log and self-signed
ECDSA P-256 certificate (made with the openssl CLI), and the same accounts: PREFIX0 ..
PREFIX<n-1>@localhost with one password, SCRAM hashed with 4096 iterations everywhere. The
system services and their config and data are never touched.

  <root>/tls/            cert.pem, key.pem (made once)
  <root>/accounts-<n>/   a pristine data dir with the n accounts (made once, then copied)
  <root>/run/            the instance of this run: data, config, log

Each server runs pinned to one CPU (taskset -c). start() returns the seconds from process
start to the first accepted TCP connection on its c2s port.
"""
import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import measure

DOMAIN = "localhost"
ITERATIONS = 4096		# natterd's CONFIG_NT_SCRAM_ITERATIONS default, for all three
START_TIMEOUT = 60
STOP_TIMEOUT = 30
SETUP_TIMEOUT = 900		# account creation, once per size
# natterd listens with a backlog of 511; ejabberd's default of 5 makes a burst of connections
# wait for SYN retransmits (1, 3, 7, 15 s), Prosody's is 128.
BACKLOG = 511


class SetupError(Exception):
	pass


def _run(cmd, timeout, **kw):
	res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
	if res.returncode != 0:
		raise SetupError(f"{' '.join(map(str, cmd))} exited {res.returncode}:\n"
				 f"{res.stdout[-2000:]}{res.stderr[-2000:]}")
	return res


def make_cert(tls_dir):
	"""A self-signed ECDSA P-256 certificate for DOMAIN in tls_dir (once)."""
	tls_dir.mkdir(parents=True, exist_ok=True)
	key, cert = tls_dir / "key.pem", tls_dir / "cert.pem"
	if key.exists() and cert.exists():
		return key, cert
	_run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	      "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
	      "-days", "3650", "-subj", f"/CN={DOMAIN}", "-addext",
	      f"subjectAltName=DNS:{DOMAIN}"], 60)
	key.chmod(0o600)
	return key, cert


class Server:
	"""One private instance. Subclasses fill in the server-specific parts."""
	name = "?"
	label = "?"
	host = "127.0.0.1"	# where clients reach it
	source_base = None	# the generator's first source address (None: its default)
	same_as = None		# the name of the column with the same software (sizes count once)

	def __init__(self, root, users, prefix, password, cpu=None, log=print):
		self.root = Path(root).resolve()
		self.populate = None	# callable(server): fills the new pristine data dir
		self.run_dir = self.root / "run"
		self.users = users
		self.prefix = prefix
		self.password = password
		self.cpu = cpu
		self.say = log
		self.port = None
		self.proc = None
		self.logfile = None
		self.starts = 0

	# What each subclass provides.
	def write_config(self):
		pass

	def create_accounts(self, data):
		raise NotImplementedError

	def argv(self):
		raise NotImplementedError

	def env(self):
		return dict(os.environ)

	def data_dir(self):
		raise NotImplementedError

	def version(self):
		return None

	def data_version(self):
		"""What the format of the pristine data dir depends on."""
		return self.version()

	def packages(self):
		"""Root Debian packages the server needs at run time."""
		return []

	def binaries(self):
		"""Files whose stripped size is the server's own code (natterd only)."""
		return {}

	def extra_pids(self):
		"""Processes outside the root's tree that belong to the instance (an epmd)."""
		return ()

	# Shared.
	def accounts(self):
		return [(f"{self.prefix}{i}", self.password) for i in range(self.users)]

	def _pin(self, argv):
		return ["taskset", "-c", str(self.cpu), *argv] if self.cpu is not None else argv

	def prepare(self, extra=None):
		"""A fresh run dir: config, certificate, and the accounts copied from the pristine
		data dir of this size (made first when there is none). A new pristine data dir
		is filled further by self.populate(self) with the server running; extra (JSON)
		describes what that adds, so a different one makes a new pristine dir."""
		for s in (self.prefix, self.password):
			if not s.replace("-", "").replace("_", "").isalnum():
				raise SetupError("prefix and password: letters, digits, - or _")
		self.key, self.cert = make_cert(self.root / "tls")
		if self.run_dir.exists():
			shutil.rmtree(self.run_dir)
		self.run_dir.mkdir(parents=True)
		self.port = measure.free_port()
		self.write_config()
		want = {"users": self.users, "prefix": self.prefix, "password": self.password,
			"version": self.data_version(), "iterations": ITERATIONS, "extra": extra}
		pristine = self.root / f"accounts-{self.users}"
		marker = pristine / "bench-accounts.json"
		try:
			ok = json.loads(marker.read_text()) == want
		except (OSError, ValueError):
			ok = False
		if not ok:
			if pristine.exists():
				shutil.rmtree(pristine)
			t0 = time.monotonic()
			self.say(f"{self.name}: creating {self.users} accounts (once)")
			self.create_accounts(self.data_dir())
			self.say(f"{self.name}: {self.users} accounts in "
				 f"{time.monotonic() - t0:.1f} s")
			if self.populate:
				self.start()
				try:
					self.populate(self)
				finally:
					self.stop()
			shutil.copytree(self.data_dir(), pristine, symlinks=True)
			marker.write_text(json.dumps(want))
		else:
			if self.data_dir().exists():
				shutil.rmtree(self.data_dir())
			shutil.copytree(pristine, self.data_dir(), symlinks=True,
					ignore=shutil.ignore_patterns("bench-accounts.json"))
		self.write_config()

	def start(self, timeout=START_TIMEOUT):
		"""Starts the instance; returns seconds to the first accepted connection."""
		if self.proc is not None:
			raise SetupError(f"{self.name} already running")
		self.starts += 1
		self.logfile = open(self.run_dir / f"{self.name}-{self.starts}.out", "wb")
		t0 = time.monotonic()
		self.proc = subprocess.Popen(self._pin(self.argv()), stdin=subprocess.DEVNULL,
					     stdout=self.logfile, stderr=subprocess.STDOUT,
					     env=self.env(), cwd=self.run_dir,
					     start_new_session=True)
		try:
			return measure.wait_port(self.port, t0, timeout, alive=self.alive,
						 host=self.host)
		except TimeoutError as e:
			self.stop()
			raise SetupError(f"{self.name}: {e}; see {self.logfile.name}") from None

	def alive(self):
		return self.proc is not None and self.proc.poll() is None

	def pid(self):
		return self.proc.pid if self.alive() else None

	def stop(self, timeout=STOP_TIMEOUT):
		"""SIGTERM, then SIGKILL after timeout; returns the exit status (None if it was not
		running)."""
		if self.proc is None:
			return None
		if self.proc.poll() is None:
			self.proc.send_signal(signal.SIGTERM)
			try:
				self.proc.wait(timeout)
			except subprocess.TimeoutExpired:
				self.say(f"{self.name}: no exit {timeout} s after SIGTERM; killing")
				self.proc.kill()
				self.proc.wait(10)
		rc = self.proc.returncode
		self.proc = None
		if self.logfile:
			self.logfile.close()
		return rc

	def snapshot(self):
		return measure.snapshot(self.pid(), self.extra_pids())

	def settle(self, seconds=2.0, timeout=15.0):
		return measure.settle(self.pid(), self.extra_pids(), seconds=seconds,
				      timeout=timeout)


# natterd ----------------------------------------------------------------------------------

class Natterd(Server):
	name = "natterd"
	label = "natterd"

	def __init__(self, root, users, prefix, password, build, **kw):
		super().__init__(root, users, prefix, password, **kw)
		self.build = Path(build).resolve()

	def data_dir(self):
		return self.run_dir / "data"

	def write_config(self):
		# natterd has no config file; its certificate goes where it looks for it.
		tls = self.data_dir() / "tls"
		tls.mkdir(parents=True, exist_ok=True)
		shutil.copy(self.cert, tls / "cert.pem")
		shutil.copy(self.key, tls / "key.pem")
		(tls / "key.pem").chmod(0o600)
		self.data_dir().chmod(0o700)

	def create_accounts(self, data):
		lines = "".join(f"{u}@{DOMAIN} {p}\n" for u, p in self.accounts())
		_run([str(self.build / "natterctl"), "--datadir", str(data), "import",
		      "--skip-existing"], SETUP_TIMEOUT, input=lines)

	def argv(self):
		return [str(self.build / "natterd"), "--datadir", str(self.data_dir()),
			"--domain", DOMAIN, "--listen", "127.0.0.1", "--c2s-port", str(self.port),
			"--c2s-tls-port", "0",
			# Prosody runs without its HTTP modules too.
			"--https-port", "0", "--http-port", "0",
			# As whoever runs the bench (root here), like the other two servers.
			"--user", pwd.getpwuid(os.geteuid()).pw_name]

	def version(self):
		res = subprocess.run(["git", "describe", "--always", "--dirty"],
				     capture_output=True, text=True, timeout=30,
				     cwd=Path(__file__).resolve().parents[2])
		return res.stdout.strip() or "unknown"

	def data_version(self):
		# Not the commit: a new commit need not mean a new store format.
		h = (Path(__file__).resolve().parents[2] / "firmware/store/store.h").read_text()
		m = re.search(r"#define STORE_SCHEMA_VERSION (\d+)", h)
		return f"store schema {m.group(1) if m else '?'}"

	def binaries(self):
		return {"natterd": self.build / "natterd", "natterctl": self.build / "natterctl"}

	def packages(self):
		libs = set()
		for b in self.binaries().values():
			libs.update(measure.packages_of_binary(b))
		return sorted(libs - {"libc6"})


# Prosody ----------------------------------------------------------------------------------

PROSODY_MODULES = ("roster", "saslauth", "tls", "disco", "ping", "offline", "register", "posix")


class NatterdLwip(Natterd):
	"""natterd on its own TCP/IP stack (lwIP) over the TAP device nt0 that netns.sh makes:
	natterd at 10.77.0.2, the generator from 10.77.0.101 .. 116 on the kernel's side."""
	name = "natterd-lwip"
	label = "natterd on lwIP"
	host = "10.77.0.2"
	source_base = "10.77.0.101"
	same_as = "natterd"

	def argv(self):
		argv = super().argv()
		argv[argv.index("--listen") + 1] = self.host
		return [*argv, "--net", "lwip", "--lwip-driver", "tap", "--lwip-if", "nt0",
			"--lwip-ip4", f"{self.host}/24"]


def _prosody_account(args):
	"""The account file of one user, as Prosody 0.12's internal_hashed store writes it."""
	path, password = args
	import hashlib
	import hmac
	salt = str(uuid.uuid4())
	salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), ITERATIONS)
	client_key = hmac.new(salted, b"Client Key", "sha1").digest()
	stored = hashlib.sha1(client_key).hexdigest()
	server = hmac.new(salted, b"Server Key", "sha1").hexdigest()
	Path(path).write_text(
		"return {\n"
		f"\t[\"iteration_count\"] = {ITERATIONS};\n"
		f"\t[\"salt\"] = \"{salt}\";\n"
		f"\t[\"server_key\"] = \"{server}\";\n"
		f"\t[\"stored_key\"] = \"{stored}\";\n"
		"};\n")


def _lua(s):
	return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Prosody(Server):
	name = "prosody"
	label = "Prosody"

	def data_dir(self):
		return self.run_dir / "data"

	def write_config(self):
		certs = self.run_dir / "certs"
		certs.mkdir(exist_ok=True)
		shutil.copy(self.cert, certs / f"{DOMAIN}.crt")
		shutil.copy(self.key, certs / f"{DOMAIN}.key")
		mods = "; ".join(_lua(m) for m in PROSODY_MODULES)
		cfg = f"""-- natter bench: a private Prosody (made by tools/bench/servers.py)
run_as_root = true
pidfile = {_lua(self.run_dir / "prosody.pid")}
data_path = {_lua(self.data_dir())}
certificates = {_lua(certs)}
plugin_paths = {{}}
admins = {{}}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.port} }}
c2s_direct_tls_ports = {{}}
s2s_ports = {{}}
http_ports = {{}}
https_ports = {{}}
component_ports = {{}}
modules_enabled = {{ {mods} }}
modules_disabled = {{ "s2s" }}
authentication = "internal_hashed"
default_iteration_count = {ITERATIONS}
storage = "internal"
c2s_require_encryption = true
allow_registration = true
network_settings = {{ tcp_backlog = {BACKLOG} }}
ssl = {{ key = {_lua(certs / (DOMAIN + ".key"))}; certificate = {_lua(certs / (DOMAIN + ".crt"))} }}
log = {{ info = {_lua(self.run_dir / "prosody.log")} }}
VirtualHost {_lua(DOMAIN)}
"""
		(self.run_dir / "prosody.cfg.lua").write_text(cfg)

	def create_accounts(self, data):
		# prosodyctl register costs a Lua start per user; the account files are simple.
		acc = data / DOMAIN / "accounts"
		acc.mkdir(parents=True)
		jobs = [(str(acc / f"{u}.dat"), p) for u, p in self.accounts()]
		with ProcessPoolExecutor(max(1, os.cpu_count() or 1)) as ex:
			list(ex.map(_prosody_account, jobs, chunksize=256))

	def argv(self):
		return ["prosody", "--config", str(self.run_dir / "prosody.cfg.lua"), "-F"]

	def version(self):
		return measure.package_version("prosody")

	def packages(self):
		return ["prosody"]


# ejabberd ---------------------------------------------------------------------------------

# Registers the accounts inside the node, many Erlang processes at once, then stops it.
EJABBERD_REGISTER = """
N = {n}, W = erlang:system_info(schedulers_online) * 4, Self = self(),
Reg = fun(I) -> ejabberd_auth:try_register(<<"{prefix}", (integer_to_binary(I))/binary>>,
                                           <<"{domain}">>, <<"{password}">>) end,
Ws = [spawn_link(fun() -> Self ! {{done, [Reg(I) || I <- lists:seq(K, N - 1, W)]}} end)
      || K <- lists:seq(0, W - 1)],
Rs = lists:append([receive {{done, R}} -> R end || _ <- Ws]),
Bad = [R || R <- Rs, R =/= ok, R =/= {{error, exists}}],
io:format("BENCH-REGISTERED ~p ~p ~p~n", [length(Rs), length(Bad), lists:sublist(Bad, 3)]),
init:stop().
"""


class Ejabberd(Server):
	name = "ejabberd"
	label = "ejabberd"

	def data_dir(self):
		return self.run_dir / "spool"

	def write_config(self):
		(self.run_dir / "log").mkdir(exist_ok=True)
		(self.run_dir / "home").mkdir(exist_ok=True)
		pem = self.run_dir / "server.pem"
		pem.write_bytes(Path(self.key).read_bytes() + Path(self.cert).read_bytes())
		pem.chmod(0o600)
		cfg = f"""# natter bench: a private ejabberd (made by tools/bench/servers.py)
hosts:
  - {DOMAIN}
loglevel: info
log_rotate_count: 0
certfiles:
  - "{pem}"
listen:
  -
    port: {self.port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    backlog: {BACKLOG}
auth_method: internal
auth_password_format: scram
registration_timeout: infinity
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  register:
    allow: all
modules:
  mod_disco: {{}}
  mod_offline: {{}}
  mod_ping: {{}}
  mod_register:
    ip_access: all
    access: register
  mod_roster: {{}}
"""
		(self.run_dir / "ejabberd.yml").write_text(cfg)

	def env(self):
		e = dict(os.environ)
		libs = glob.glob("/usr/lib/*/ejabberd-*")
		e.update({
			"HOME": str(self.run_dir / "home"),
			"EJABBERD_CONFIG_PATH": str(self.run_dir / "ejabberd.yml"),
			"EJABBERD_LOG_PATH": str(self.run_dir / "log" / "ejabberd.log"),
			"ERL_CRASH_DUMP": str(self.run_dir / "log" / "erl_crash.dump"),
			"ERL_CRASH_DUMP_BYTES": "0",
			"ERL_MAX_PORTS": "32000",
			"ERL_LIBS": str(Path(libs[0]).parent) if libs else "",
		})
		return e

	def _erl(self, *tail):
		# A node without distribution: no node name, cookie or epmd to share with anyone.
		# Options as Debian's ejabberdctl passes them (+K true +P 250000).
		return ["erl", "-noinput", "+K", "true", "+P", "250000",
			"-mnesia", "dir", f'"{self.data_dir()}"', "-s", "ejabberd", *tail]

	def argv(self):
		return self._erl()

	def create_accounts(self, data):
		data.mkdir(parents=True, exist_ok=True)
		code = EJABBERD_REGISTER.format(n=self.users, prefix=self.prefix, domain=DOMAIN,
						password=self.password)
		res = _run(self._erl("-eval", code), SETUP_TIMEOUT, env=self.env(),
			   cwd=self.run_dir)
		line = [ln for ln in res.stdout.splitlines() if ln.startswith("BENCH-REGISTERED")]
		if not line or line[0].split()[1] != str(self.users) or line[0].split()[2] != "0":
			raise SetupError("ejabberd registration failed: "
					 f"{line or res.stdout[-2000:]}")

	def version(self):
		return measure.package_version("ejabberd")

	def packages(self):
		return ["ejabberd"]


def make(name, root, users, prefix, password, build, cpu=None, log=print):
	kw = {"cpu": cpu, "log": log}
	if name == "natterd":
		return Natterd(root, users, prefix, password, build, **kw)
	if name == "natterd-lwip":
		return NatterdLwip(root, users, prefix, password, build, **kw)
	if name == "prosody":
		return Prosody(root, users, prefix, password, **kw)
	if name == "ejabberd":
		return Ejabberd(root, users, prefix, password, **kw)
	raise ValueError(f"unknown server {name}")


ALL = ("natterd", "prosody", "ejabberd", "natterd-lwip")
# natterd-lwip needs the network namespace of tools/lwip-netns.sh (make bench runs in one).
IN_NETNS = os.environ.get("NATTER_BENCH_NETNS") == "1"
DEFAULT = ALL if IN_NETNS else ALL[:3]
