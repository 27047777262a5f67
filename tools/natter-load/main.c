/*
 * natter-load: the command line, worker processes and the final report.
 *
 * With --procs K the parent forks K workers, each with its own loop over a disjoint slice of the
 * accounts and its share of the work (--sessions, --conc, --pairs, --cycles, roster groups).
 * A worker sends its counts to the parent over a pipe; for idle it first reports READY and
 * waits for the parent's go, so the parent can print one "READY n" for all of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "core/err.h"
#include "core/log.h"
#include "load.h"

#define MAIN_READY_LEN 5
#define MAIN_STATS_LEN (1 + sizeof(struct stats))

static const char usage[] =
	"usage: natter-load [options] SCENARIO\n"
	"  --host ADDR (127.0.0.1)  --port N (required)  --tls starttls|direct (starttls)\n"
	"  --domain NAME (localhost)  --user-prefix STR (user)  --password STR (pw)\n"
	"  --first N (0)  --users N (100): accounts PREFIX<i>@DOMAIN, first <= i < first+users\n"
	"  --mech SCRAM-SHA-1|SCRAM-SHA-256|PLAIN  --procs K (1)\n"
	"  --seconds S (10; 0: the default, and churn bounded by --cycles alone)\n"
	"  --timeout S (30, per step)  --ramp N (64 connection setups at once)\n"
	"  --sources N (0: 16 on loopback, else 1): connect from 127.0.0.1 .. 127.0.0.N\n"
	"  --source-base ADDR (127.0.0.1): the first source address, the others follow it\n"
	"  -v (debug log)\n"
	"scenarios:\n"
	"  register                      XEP-0077 in-band registration of every account\n"
	"  idle --sessions N --hold S    N sessions, READY on stderr, held S seconds\n"
	"  logins --conc C               full logins for --seconds\n"
	"  chat --pairs P --window W [--size B]   messages between P pairs for --seconds\n"
	"  roster --contacts K [--conc C]         presence fan-out of logins with K contacts\n"
	"  reconnect --conc C            logins resuming TLS (and XEP-0198) sessions\n"
	"  churn --cycles N --conc C     N login/presence/logout cycles\n"
	"Prints one JSON object on stdout; exits 1 when anything failed.\n";

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Names go into JIDs and XML unescaped: keep them to letters, digits and a few marks. */
static int plain_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static int parse_scenario(const char *s, enum ld_scen *out)
{
	for (int i = SC_REGISTER; i <= SC_CHURN; i++)
		if (strcmp(s, ld_scen_name((enum ld_scen)i)) == 0) {
			*out = (enum ld_scen)i;
			return 0;
		}
	return -1;
}

static int parse_opts(int argc, char **argv, struct ld_opts *o)
{
	static const struct option longs[] = {
		{ "host", 1, 0, 'H' }, { "port", 1, 0, 'p' }, { "tls", 1, 0, 't' },
		{ "domain", 1, 0, 'd' }, { "user-prefix", 1, 0, 'u' }, { "password", 1, 0, 'w' },
		{ "first", 1, 0, 'f' }, { "users", 1, 0, 'n' }, { "mech", 1, 0, 'm' },
		{ "procs", 1, 0, 'P' }, { "seconds", 1, 0, 's' }, { "timeout", 1, 0, 'T' },
		{ "ramp", 1, 0, 'r' }, { "sources", 1, 0, 'S' }, { "source-base", 1, 0, 'B' }, { "sessions", 1, 0, 'N' },
		{ "hold", 1, 0, 'h' }, { "conc", 1, 0, 'c' }, { "pairs", 1, 0, 'a' },
		{ "window", 1, 0, 'W' }, { "size", 1, 0, 'b' }, { "contacts", 1, 0, 'k' },
		{ "cycles", 1, 0, 'C' }, { "verbose", 0, 0, 'v' }, { "help", 0, 0, '?' },
		{ 0, 0, 0, 0 },
	};
	unsigned sessions = 0, pairs = 0, port = 0;
	int ch, bad = 0;

	*o = (struct ld_opts){
		.host = "127.0.0.1", .domain = "localhost", .prefix = "user", .password = "pw",
		.tls = LD_STARTTLS, .mech = LD_SCRAM_SHA_1, .users = 100, .procs = 1,
		.seconds = 10, .timeout = 30, .ramp = 64, .sources = 0, .hold = 10, .conc = 10,
		.window = 10, .size = 100, .contacts = 10, .cycles = 1000,
	};
	while ((ch = getopt_long(argc, argv, "v", longs, NULL)) != -1) {
		switch (ch) {
		case 'H': o->host = optarg; break;
		case 'p': bad |= parse_uint(optarg, 1, 65535, &port); break;
		case 't':
			if (strcmp(optarg, "starttls") == 0)
				o->tls = LD_STARTTLS;
			else if (strcmp(optarg, "direct") == 0)
				o->tls = LD_DIRECT;
			else
				bad = 1;
			break;
		case 'd': o->domain = optarg; bad |= !plain_name(optarg); break;
		case 'u': o->prefix = optarg; bad |= !plain_name(optarg); break;
		case 'w': o->password = optarg; bad |= optarg[0] == '\0'; break;
		case 'f': bad |= parse_uint(optarg, 0, INT_MAX, &o->first); break;
		case 'n': bad |= parse_uint(optarg, 1, 10000000, &o->users); break;
		case 'm':
			if (strcmp(optarg, "SCRAM-SHA-1") == 0)
				o->mech = LD_SCRAM_SHA_1;
			else if (strcmp(optarg, "SCRAM-SHA-256") == 0)
				o->mech = LD_SCRAM_SHA_256;
			else if (strcmp(optarg, "PLAIN") == 0)
				o->mech = LD_PLAIN;
			else
				bad = 1;
			break;
		case 'P': bad |= parse_uint(optarg, 1, 256, &o->procs); break;
		case 's': bad |= parse_uint(optarg, 0, 86400, &o->seconds); break;
		case 'T': bad |= parse_uint(optarg, 1, 3600, &o->timeout); break;
		case 'r': bad |= parse_uint(optarg, 1, 100000, &o->ramp); break;
		case 'S': bad |= parse_uint(optarg, 0, 250, &o->sources); break;
		case 'B': o->source_base = optarg; break;
		case 'N': bad |= parse_uint(optarg, 1, 10000000, &sessions); break;
		case 'h': bad |= parse_uint(optarg, 0, 86400, &o->hold); break;
		case 'c': bad |= parse_uint(optarg, 1, 1000000, &o->conc); break;
		case 'a': bad |= parse_uint(optarg, 1, 5000000, &pairs); break;
		case 'W': bad |= parse_uint(optarg, 1, 100000, &o->window); break;
		case 'b': bad |= parse_uint(optarg, 16, 60000, &o->size); break;
		case 'k': bad |= parse_uint(optarg, 1, 10000, &o->contacts); break;
		case 'C': bad |= parse_uint(optarg, 1, 100000000, &o->cycles); break;
		case 'v': o->verbose = 1; break;
		default: bad = 1; break;
		}
	}
	o->port = (uint16_t)port;
	o->sessions = sessions != 0 ? sessions : o->users;
	o->pairs = pairs != 0 ? pairs : o->users / 2;
	if (bad || optind != argc - 1 || port == 0 || parse_scenario(argv[optind], &o->scen) != 0)
		return -1;
	if (o->seconds == 0)	/* churn: --cycles is the bound; each step has --timeout */
		o->seconds = o->scen == SC_CHURN ? 86400 : 10;
	return 0;
}

/* What the scenario needs of the account range; a message, or NULL when it fits. */
static const char *check_opts(const struct ld_opts *o)
{
	if ((unsigned long long)o->first + o->users > UINT_MAX)
		return "--first + --users is too large";
	if (o->users < o->procs)
		return "--users must be at least --procs";
	switch (o->scen) {
	case SC_IDLE:
		return o->sessions > o->users ? "--sessions must not exceed --users" : NULL;
	case SC_CHAT:
		return o->pairs == 0 || 2ull * o->pairs > o->users ?
		       "chat needs 2 * --pairs <= --users" : NULL;
	case SC_RECONNECT:
		return o->conc > o->users ? "reconnect needs --conc <= --users" : NULL;
	case SC_ROSTER:
		return o->users / (o->contacts + 1u) < o->procs ?
		       "roster needs --users >= (--contacts + 1) * --procs" : NULL;
	default:
		return NULL;
	}
}

static unsigned share(unsigned total, unsigned k, unsigned procs)
{
	return (unsigned)((unsigned long long)total * (k + 1) / procs -
			  (unsigned long long)total * k / procs);
}

/* Worker k's part of the run: its accounts and its part of the work. */
static void split(const struct ld_opts *o, unsigned k, struct ld_opts *w)
{
	unsigned per = 0, first = o->first, unit = 0, units = 0;

	*w = *o;
	switch (o->scen) {
	case SC_IDLE:      per = 1; units = o->sessions; break;
	case SC_CHAT:      per = 2; units = o->pairs; break;
	case SC_ROSTER:    per = o->contacts + 1; units = o->users / per; break;
	default: break;
	}
	w->conc = share(o->conc, k, o->procs);
	w->cycles = share(o->cycles, k, o->procs);
	if (per == 0) {		/* register, logins, reconnect, churn: accounts evenly */
		w->first = o->first + (unsigned)((unsigned long long)o->users * k / o->procs);
		w->users = share(o->users, k, o->procs);
		return;
	}
	for (unsigned j = 0; j < k; j++)
		first += share(units, j, o->procs) * per;
	unit = share(units, k, o->procs);
	w->first = first;
	w->users = unit * per;
	w->sessions = o->scen == SC_IDLE ? unit : o->sessions;
	w->pairs = o->scen == SC_CHAT ? unit : o->pairs;
	if (o->scen == SC_ROSTER && unit > 0 && w->conc == 0)
		w->conc = 1;
}

/* One worker: its own loop over its share, counting into st. */
static void run_worker(const struct ld_opts *w, struct stats *st, int res_fd, int ctl_fd)
{
	static void (*const scen[])(struct gen *) = {
		[SC_REGISTER] = scen_register, [SC_IDLE] = scen_idle, [SC_LOGINS] = scen_cycles,
		[SC_CHAT] = scen_chat, [SC_ROSTER] = scen_roster, [SC_RECONNECT] = scen_cycles,
		[SC_CHURN] = scen_cycles,
	};
	struct gen g;

	memset(st, 0, sizeof(*st));
	st->procs = 1;
	if (gen_init(&g, w, st, res_fd, ctl_fd) == NT_OK && w->users > 0)
		scen[w->scen](&g);
	else if (w->users > 0)
		st->failed++;
	if (w->scen == SC_IDLE && w->users == 0)
		gen_ready(&g, 0);	/* nothing to hold, but the parent counts on a READY */
	st->cpu_total_s = cpu_seconds();
	if (g.keys != NULL)
		st->pbkdf2 = key_cache_misses(g.keys);
	(void)gen_report(&g);
	gen_free(&g);
}

struct child {
	pid_t pid;
	int res, ctl;
	size_t got;
	int have_stats, readied;
	unsigned char buf[MAIN_STATS_LEN];
};

/* Takes what child ch sent; 1 when its pipe is finished. */
static int take_input(struct child *ch, struct stats *total, unsigned *ready_n, unsigned *ready_sum)
{
	ssize_t n = read(ch->res, ch->buf + ch->got, sizeof(ch->buf) - ch->got);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return 1;
	ch->got += (size_t)n;
	while (ch->got > 0) {
		size_t need = ch->buf[0] == 'R' ? MAIN_READY_LEN : MAIN_STATS_LEN;
		unsigned r;

		if (ch->buf[0] != 'R' && ch->buf[0] != 'S')
			return 1;
		if (ch->got < need)
			return 0;
		if (ch->buf[0] == 'R') {
			memcpy(&r, ch->buf + 1, sizeof(r));
			*ready_sum += r;
			(*ready_n)++;
			ch->readied = 1;
		} else {
			struct stats s;

			memcpy(&s, ch->buf + 1, sizeof(s));
			stats_merge(total, &s);
			ch->have_stats = 1;
		}
		memmove(ch->buf, ch->buf + need, ch->got - need);
		ch->got -= need;
	}
	return 0;
}

static int run_parent(const struct ld_opts *o, struct stats *total)
{
	struct child kids[256];
	struct pollfd pfd[256];
	unsigned ready_n = 0, ready_sum = 0, open_n = 0, k;
	int code = 0, status;

	memset(total, 0, sizeof(*total));
	for (k = 0; k < o->procs; k++) {
		int res[2], ctl[2];
		struct ld_opts w;

		split(o, k, &w);
		if (pipe2(res, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0) {
			log_err("natter-load: pipe: %s", strerror(errno));
			return 1;
		}
		fflush(NULL);
		if ((kids[k].pid = fork()) == 0) {
			struct stats st;

			close(res[0]);
			close(ctl[1]);
			for (unsigned j = 0; j < k; j++) {
				close(kids[j].res);
				close(kids[j].ctl);
			}
			run_worker(&w, &st, res[1], ctl[0]);
			_exit(stats_exit_code(&w, &st));
		}
		close(res[1]);
		close(ctl[0]);
		if (kids[k].pid < 0) {
			log_err("natter-load: fork: %s", strerror(errno));
			return 1;
		}
		kids[k].res = res[0];
		kids[k].ctl = ctl[1];
		kids[k].got = 0;
		kids[k].have_stats = kids[k].readied = 0;
		open_n++;
	}
	while (open_n > 0) {
		for (k = 0; k < o->procs; k++) {
			pfd[k].fd = kids[k].res;
			pfd[k].events = POLLIN;
		}
		if (poll(pfd, o->procs, -1) < 0 && errno != EINTR)
			break;
		for (k = 0; k < o->procs; k++) {
			if (kids[k].res < 0 || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (take_input(&kids[k], total, &ready_n, &ready_sum)) {
				close(kids[k].res);
				kids[k].res = -1;
				open_n--;
				if (!kids[k].readied)
					ready_n++;	/* a dead child holds up no one */
			}
		}
		if (o->scen == SC_IDLE && ready_n == o->procs) {
			fprintf(stderr, "READY %u\n", ready_sum);
			fflush(stderr);
			for (k = 0; k < o->procs; k++)
				if (write(kids[k].ctl, "G", 1) != 1)
					code = 1;
			ready_n++;		/* once */
		}
	}
	for (k = 0; k < o->procs; k++) {
		close(kids[k].ctl);
		if (waitpid(kids[k].pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) > 1 || !kids[k].have_stats) {
			log_err("natter-load: worker %u died", k);
			total->failed++;
			code = 1;
		}
	}
	return code;
}

/* Thousands of connections: as many descriptors as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("natter-load: cannot raise the descriptor limit: %s",
				 strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct ld_opts o;
	struct stats st;
	const char *why;
	int code;

	if (parse_opts(argc, argv, &o) != 0) {
		fputs(usage, stderr);
		return 2;
	}
	if ((why = check_opts(&o)) != NULL) {
		fprintf(stderr, "natter-load: %s\n", why);
		return 2;
	}
	log_set_level(o.verbose ? LOG_DEBUG : LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (o.procs == 1) {
		run_worker(&o, &st, -1, -1);
		code = 0;
	} else {
		code = run_parent(&o, &st);
	}
	stats_print(stdout, &o, &st);
	return code != 0 ? code : stats_exit_code(&o, &st);
}
