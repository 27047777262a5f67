/*
 * Counting and reporting: latency histograms, merging the counts of worker processes, and the
 * one JSON object a run prints on stdout.
 */
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "load.h"

static const char *const err_names[E_MAX] = {
	"ok", "connect", "tls", "auth", "bind", "timeout", "closed", "stream_error", "protocol",
	"register", "roster",
};

const char *ld_err_name(int err)
{
	return err >= 0 && err < E_MAX ? err_names[err] : "?";
}

const char *ld_scen_name(enum ld_scen s)
{
	static const char *const names[] = {
		"register", "idle", "logins", "chat", "roster", "reconnect", "churn",
	};

	return names[s];
}

const char *ld_mech_name(enum ld_mech m)
{
	static const char *const names[] = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" };

	return names[m];
}

uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Buckets: values below 64 µs exactly; above, 32 buckets per power of two. */
static unsigned hist_index(uint64_t us)
{
	unsigned msb, shift, idx;

	if (us < 64)
		return (unsigned)us;
	msb = 63u - (unsigned)__builtin_clzll(us);
	shift = msb - 5;
	idx = 64 + (shift - 1) * 32 + (unsigned)((us >> shift) - 32);
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in µs. */
static double hist_value(unsigned idx)
{
	unsigned shift, sub;

	if (idx < 64)
		return idx;
	shift = (idx - 64) / 32 + 1;
	sub = (idx - 64) % 32 + 32;
	return ((double)sub + 0.5) * (double)(1ull << shift);
}

void hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_index(us)]++;
	h->n++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

double hist_ms(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double v = hist_value(i);

			return (v > (double)h->max_us ? (double)h->max_us : v) / 1000.0;
		}
	}
	return (double)h->max_us / 1000.0;
}

static double max_d(double a, double b)
{
	return a > b ? a : b;
}

void stats_merge(struct stats *to, const struct stats *from)
{
	uint64_t *const sum[] = {
		&to->ok, &to->failed, &to->sent, &to->received, &to->dup, &to->reordered,
		&to->bounced, &to->tls_resumed, &to->sm_resumed, &to->sm_enabled, &to->presences,
		&to->roster_logins, &to->established, &to->dropped, &to->ops, &to->pbkdf2,
	};
	const uint64_t *const add[] = {
		&from->ok, &from->failed, &from->sent, &from->received, &from->dup,
		&from->reordered, &from->bounced, &from->tls_resumed, &from->sm_resumed,
		&from->sm_enabled, &from->presences, &from->roster_logins, &from->established,
		&from->dropped, &from->ops, &from->pbkdf2,
	};

	for (size_t i = 0; i < sizeof(sum) / sizeof(sum[0]); i++)
		*sum[i] += *add[i];
	for (int i = 0; i < E_MAX; i++)
		to->err[i] += from->err[i];
	to->wall_s = max_d(to->wall_s, from->wall_s);
	to->setup_s = max_d(to->setup_s, from->setup_s);
	to->cpu_s += from->cpu_s;
	to->cpu_total_s += from->cpu_total_s;
	to->setup_cpu_s += from->setup_cpu_s;
	to->hold_cpu_s += from->hold_cpu_s;
	to->procs += from->procs;
	to->unsupported |= from->unsupported;
	to->lat.n += from->lat.n;
	to->lat.sum_us += from->lat.sum_us;
	if (from->lat.max_us > to->lat.max_us)
		to->lat.max_us = from->lat.max_us;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		to->lat.b[i] += from->lat.b[i];
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void stats_print_scenario(FILE *f, const struct ld_opts *o, const struct stats *s)
{
	switch (o->scen) {
	case SC_IDLE:
		fprintf(f, ",\"sessions\":%u,\"established\":%llu,\"dropped\":%llu,"
			"\"establish_s\":%.3f,\"hold_s\":%u,\"gen_cpu_hold_s\":%.3f", o->sessions,
			(unsigned long long)s->established, (unsigned long long)s->dropped,
			s->setup_s, o->hold, s->hold_cpu_s);
		break;
	case SC_CHAT:
		fprintf(f, ",\"pairs\":%u,\"window\":%u,\"size\":%u,\"sent\":%llu,"
			"\"received\":%llu,"
			"\"lost\":%lld,\"dup\":%llu,\"reordered\":%llu,\"bounced\":%llu,"
			"\"setup_s\":%.3f", o->pairs, o->window, o->size,
			(unsigned long long)s->sent, (unsigned long long)s->received,
			(long long)(s->sent - s->received), (unsigned long long)s->dup,
			(unsigned long long)s->reordered, (unsigned long long)s->bounced,
			s->setup_s);
		break;
	case SC_ROSTER:
		fprintf(f, ",\"contacts\":%u,\"logins\":%llu,\"presences\":%llu,"
			"\"presences_per_login\":%.2f,\"setup_s\":%.3f,\"gen_cpu_setup_s\":%.3f",
			o->contacts, (unsigned long long)s->roster_logins,
			(unsigned long long)s->presences,
			ratio((double)s->presences, (double)s->roster_logins), s->setup_s,
			s->setup_cpu_s);
		break;
	case SC_RECONNECT:
		fprintf(f, ",\"conc\":%u,\"tls_resumed\":%llu,\"sm_enabled\":%llu,"
			"\"sm_resumed\":%llu,"
			"\"resumed_fraction\":%.3f,\"sm_resumed_fraction\":%.3f", o->conc,
			(unsigned long long)s->tls_resumed, (unsigned long long)s->sm_enabled,
			(unsigned long long)s->sm_resumed,
			ratio((double)s->tls_resumed, (double)s->ok),
			ratio((double)s->sm_resumed, (double)s->ok));
		break;
	case SC_LOGINS:
		fprintf(f, ",\"conc\":%u", o->conc);
		break;
	case SC_CHURN:
		fprintf(f, ",\"conc\":%u,\"cycles\":%u", o->conc, o->cycles);
		break;
	case SC_REGISTER:
		break;
	}
}

void stats_print(FILE *f, const struct ld_opts *o, const struct stats *s)
{
	fprintf(f, "{\"scenario\":\"%s\"", ld_scen_name(o->scen));
	if (s->unsupported)
		fprintf(f, ",\"unsupported\":\"%s\"", ld_scen_name(o->scen));
	fprintf(f, ",\"procs\":%u,\"users\":%u,\"tls\":\"%s\",\"mech\":\"%s\",\"ok\":%llu,"
		"\"failed\":%llu,\"rate\":%.2f,\"wall_s\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
		"\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"samples\":%llu",
		o->procs, o->users, o->tls == LD_DIRECT ? "direct" : "starttls",
		ld_mech_name(o->mech), (unsigned long long)s->ok, (unsigned long long)s->failed,
		ratio((double)s->ops, s->wall_s), s->wall_s, hist_ms(&s->lat, 0.5),
		hist_ms(&s->lat, 0.9), hist_ms(&s->lat, 0.99), (double)s->lat.max_us / 1000.0,
		ratio((double)s->lat.sum_us, (double)s->lat.n) / 1000.0,
		(unsigned long long)s->lat.n);
	stats_print_scenario(f, o, s);
	/* The generator's own CPU: busy near 1.0 means the generator, not the server, limits. */
	fprintf(f, ",\"ops\":%llu,\"gen_cpu_s\":%.3f,\"gen_cpu_total_s\":%.3f,"
		"\"gen_cpu_us_per_op\":%.1f,\"gen_busy\":%.3f,\"gen_pbkdf2\":%llu,\"errors\":{",
		(unsigned long long)s->ops, s->cpu_s, s->cpu_total_s,
		ratio(s->cpu_s * 1e6, (double)s->ops), ratio(s->cpu_s, s->wall_s * o->procs),
		(unsigned long long)s->pbkdf2);
	for (int i = E_OK + 1; i < E_MAX; i++)
		fprintf(f, "%s\"%s\":%llu", i > E_OK + 1 ? "," : "", err_names[i],
			(unsigned long long)s->err[i]);
	fprintf(f, "}}\n");
	fflush(f);
}

int stats_exit_code(const struct ld_opts *o, const struct stats *s)
{
	if (s->unsupported)
		return o->scen == SC_ROSTER ? 0 : 1;
	if (s->failed > 0 || s->ok == 0)
		return 1;
	if (o->scen == SC_CHAT && (s->sent != s->received || s->bounced > 0))
		return 1;
	return 0;
}
