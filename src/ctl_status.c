/*
 * ctl_status.c - `status`: is the daemon alive, how are the servers, where
 * does each contact stand (the funnel), how far is each field toward
 * goal.interviews_per_field, and what happens next. Also the wake-up
 * every changing command sends.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "ctl.h"
#include "gate.h"
#include "json.h"
#include "lifecycle.h"
#include "utf8.h"
#include "util.h"

#define NEXT_ACTIONS 5

/* Forecast entries by time, then queue order. */
static int
forecast_cmp(const void *a, const void *b)
{
	const struct gate_forecast *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The first message to a contact in the (sorted) forecast, or NULL. */
static const struct gate_forecast *
next_send(const struct gate_forecast *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i].gated)
			return &f[i];
	return NULL;
}

#define B(st)   (1u << (st))

/* The funnel, in order: each stage counts the contacts that reached it,
 * from their current state and every state they entered (the event
 * log's to_state), counted by the store: store_contact_reached(). */
static const enum contact_state funnel[] = {
	CS_CONTACTED, CS_REPLIED, CS_SCHEDULED, CS_INTERVIEWED, CS_THANKED,
};
/* The states that show a contact reached each stage. */
static const unsigned funnel_sets[nitems(funnel)] = {
	B(CS_CONTACTED) | B(CS_FOLLOWED_UP) | B(CS_NO_RESPONSE) | B(CS_REPLIED) |
	    B(CS_SCHEDULED) | B(CS_INTERVIEWED) | B(CS_THANKED) | B(CS_DECLINED),
	B(CS_REPLIED) | B(CS_SCHEDULED) | B(CS_INTERVIEWED) | B(CS_THANKED) |
	    B(CS_DECLINED),
	B(CS_SCHEDULED) | B(CS_INTERVIEWED) | B(CS_THANKED),
	B(CS_INTERVIEWED) | B(CS_THANKED),
	B(CS_THANKED),
};

/* Per funnel stage, the contacts whose history reached it. */
static void
funnel_counts(struct ctl *c, int *counts)
{
	int64_t n[nitems(funnel)] = { 0 };
	size_t k;

	if (store_contact_reached(c->st, funnel_sets, nitems(funnel), n) < 0)
		memset(n, 0, sizeof(n));
	for (k = 0; k < nitems(funnel); k++)
		counts[k] = (int)n[k];
}

struct field_progress {
	const char *field;      /* the tally's, or "(no field)" */
	int contacts, interviewed;
};

/* Per field, in the order of its first contact: contacts, and those
 * interviewed (or thanked). Contacts without a field count under
 * "(no field)". */
static struct field_progress *
progress_of(const struct contact_tally *t, size_t n, size_t *ret_n)
{
	struct field_progress *p = NULL;
	size_t np = 0, i, k;
	int s;

	for (i = 0; i < n; i++) {
		const char *f = t[i].field[0] ? t[i].field : "(no field)";

		for (k = 0; k < np && strcmp(p[k].field, f) != 0; k++)
			;
		if (k == np) {
			p = xreallocarray(p, np + 1, sizeof(*p));
			p[np].field = f;
			p[np].contacts = p[np].interviewed = 0;
			np++;
		}
		for (s = 0; s < CS_COUNT; s++) {
			p[k].contacts += (int)t[i].by_state[s];
			if (lifecycle_interviewed((enum contact_state)s))
				p[k].interviewed += (int)t[i].by_state[s];
		}
	}
	*ret_n = np;
	return p;
}

/* The contacts in each state, and in all. */
struct state_counts {
	int64_t all;
	int64_t by_state[CS_COUNT];
};

static void
state_counts(const struct contact_tally *t, size_t n, struct state_counts *sc)
{
	size_t i;
	int s;

	memset(sc, 0, sizeof(*sc));
	for (i = 0; i < n; i++)
		for (s = 0; s < CS_COUNT; s++) {
			sc->by_state[s] += t[i].by_state[s];
			sc->all += t[i].by_state[s];
		}
}

struct daemon_info {
	bool alive;
	long pid;
	char *started, *last_sync, *smtp, *smtp_err, *imap, *imap_err;
	char *folders;          /* a Sent/Drafts problem, said by the daemon */
	struct outbox_pause pause;      /* cause NULL: sending not paused */
};

static char *
kv(struct ctl *c, const char *key)
{
	char *v = NULL;

	return store_kv_get(c->st, key, &v) == 0 ? v : xstrdup("");
}

static void
daemon_info(struct ctl *c, struct daemon_info *d)
{
	char *pid = kv(c, "daemon.pid"), *state = kv(c, "daemon.state");

	d->pid = strtol(pid, NULL, 10);
	d->alive = d->pid > 0 && strcmp(state, "running") == 0 &&
	    (kill((pid_t)d->pid, 0) == 0 || errno == EPERM);
	d->started = kv(c, "daemon.started");
	d->last_sync = kv(c, "imap.last_sync");
	d->smtp = kv(c, "smtp.health");
	d->smtp_err = kv(c, "smtp.last_error");
	d->imap = kv(c, "imap.health");
	d->imap_err = kv(c, "imap.last_error");
	d->folders = kv(c, "imap.folder_problem");
	if (store_outbox_pause_get(c->st, &d->pause) < 0)
		memset(&d->pause, 0, sizeof(d->pause));
	free(pid);
	free(state);
}

static void
daemon_info_done(struct daemon_info *d)
{
	free(d->started);
	free(d->last_sync);
	free(d->smtp);
	free(d->smtp_err);
	free(d->imap);
	free(d->imap_err);
	free(d->folders);
	store_outbox_pause_done(&d->pause);
}

static const enum contact_state all_states[] = {
	CS_NEW, CS_QUEUED, CS_CONTACTED, CS_FOLLOWED_UP, CS_REPLIED, CS_SCHEDULED,
	CS_INTERVIEWED, CS_THANKED, CS_DECLINED, CS_NO_RESPONSE, CS_BOUNCED,
	CS_STOPPED,
};

#define KEEP_AHEAD (7 * 86400)     /* keep-in-touch shown this far ahead */

/* The keep-in-touch reminders to show (see keep_due), each with its
 * contact: read one by one, they are few. */
struct keep_item {
	const struct outbox_row *q;
	struct contact *ct;
};

/* A queued keep-in-touch reminder due within KEEP_AHEAD (or overdue);
 * shown only while its contact is still thanked (one who stopped or
 * answered meanwhile is dropped when it comes due). */
static bool
keep_due(const struct outbox_row *q)
{
	return q->kind == OK_KEEP && q->due < util_now() + KEEP_AHEAD;
}

static void
status_json(struct ctl *c, struct daemon_info *d, const struct state_counts *sc,
    const int *fun, struct field_progress *p, size_t np,
    const struct keep_item *keep, size_t nkeep,
    const struct gate_forecast *fc, size_t nfc)
{
	const struct gate_forecast *ns = next_send(fc, nfc);
	char rule[96];
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_begin_object(&j);
	json_key(&j, "daemon");
	json_begin_object(&j);
	json_kbool(&j, "alive", d->alive);
	if (d->alive)
		json_kint(&j, "pid", d->pid);
	json_kstr(&j, "started", d->started[0] ? d->started : NULL);
	json_kstr(&j, "last_sync", d->last_sync[0] ? d->last_sync : NULL);
	json_end_object(&j);
	json_key(&j, "smtp");
	json_begin_object(&j);
	json_kstr(&j, "health", d->smtp[0] ? d->smtp : "unknown");
	json_kstr(&j, "last_error", d->smtp_err[0] ? d->smtp_err : NULL);
	if (d->pause.cause != NULL) {
		json_kstr(&j, "paused", d->pause.cause);
		json_kstr(&j, "paused_error", d->pause.error);
		json_ktime(&j, "paused_since", d->pause.since);
		json_ktime(&j, "paused_until", d->pause.until);
	}
	json_end_object(&j);
	json_key(&j, "imap");
	json_begin_object(&j);
	json_kstr(&j, "health", d->imap[0] ? d->imap : "unknown");
	json_kstr(&j, "last_error", d->imap_err[0] ? d->imap_err : NULL);
	json_kstr(&j, "folder_problem", d->folders[0] ? d->folders : NULL);
	json_end_object(&j);
	json_kint(&j, "contacts", sc->all);
	json_key(&j, "states");
	json_begin_object(&j);
	for (i = 0; i < nitems(all_states); i++)
		json_kint(&j, store_state_name(all_states[i]),
		    sc->by_state[all_states[i]]);
	json_end_object(&j);
	json_key(&j, "funnel");
	json_begin_object(&j);
	for (i = 0; i < nitems(funnel); i++)
		json_kint(&j, store_state_name(funnel[i]), fun[i]);
	json_end_object(&j);
	json_kint(&j, "goal", c->cfg->goal.interviews_per_field);
	json_key(&j, "fields");
	json_begin_array(&j);
	for (i = 0; i < np; i++) {
		json_begin_object(&j);
		json_kstr(&j, "field", p[i].field);
		json_kint(&j, "contacts", p[i].contacts);
		json_kint(&j, "interviewed", p[i].interviewed);
		json_kint(&j, "goal", c->cfg->goal.interviews_per_field);
		json_kbool(&j, "reached",
		    p[i].interviewed >= c->cfg->goal.interviews_per_field);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_key(&j, "keep_in_touch");
	json_begin_array(&j);
	for (i = 0; i < nkeep; i++) {
		const struct contact *k = keep[i].ct;

		json_begin_object(&j);
		json_kint(&j, "id", k->id);
		json_kstr(&j, "email", k->email);
		json_kstr(&j, "name", k->name);
		json_ktime(&j, "due", keep[i].q->due);
		json_kint(&j, "queue_id", keep[i].q->id);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_key(&j, "next");
	json_begin_array(&j);
	for (i = 0; i < nfc && i < NEXT_ACTIONS; i++) {
		json_begin_object(&j);
		json_kint(&j, "id", fc[i].id);
		json_kstr(&j, "kind", store_outbox_kind_name(fc[i].kind));
		json_kint(&j, "contact_id", fc[i].contact_id);
		json_ktime(&j, "due", fc[i].due);
		json_ktime(&j, "forecast", fc[i].at);
		json_kstr(&j, "forecast_reason", gate_why_name(fc[i].why));
		json_end_object(&j);
	}
	json_end_array(&j);
	/* The next message to a contact and the rule that keeps it from
	 * going sooner (null when nothing to a contact is queued). */
	json_key(&j, "next_send");
	if (ns == NULL)
		json_null(&j);
	else {
		json_begin_object(&j);
		json_kint(&j, "id", ns->id);
		json_kstr(&j, "kind", store_outbox_kind_name(ns->kind));
		json_kint(&j, "contact_id", ns->contact_id);
		json_ktime(&j, "at", ns->at);
		json_kstr(&j, "reason", gate_why_name(ns->why));
		json_kstr(&j, "rule", ctl_gate_rule(c, ns->why, rule,
		    sizeof(rule)));
		json_end_object(&j);
	}
	json_end_object(&j);
	json_finish(&j);
}

/* Prints s in at most width columns (cut on a character boundary, with
 * "..." when cut), padded to width. */
static void
print_clipped(const char *s, size_t width)
{
	size_t w = 0;
	const char *p;

	if (utf8_width(s) <= width) {
		ctl_put_padded(s, width);
		return;
	}
	for (p = s; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++w > width - 3)
			break;
		fputc(*p, stdout);
	}
	fputs("...", stdout);
}

/* Prints item after the ones already on the line (at column col),
 * wrapping under the label column before 80. Returns the new column. */
static size_t
print_item(const char *item, size_t col)
{
	size_t w = utf8_width(item);

	if (col > 11 && col + 1 + w > 79) {
		printf("\n           ");
		col = 11;
	}
	if (col > 11) {
		fputc(' ', stdout);
		col++;
	}
	fputs(item, stdout);
	return col + w;
}

/* "imap       ok" / "imap       error" and the last error on its own
 * line, clipped to the terminal's 80 columns. */
static void
print_health(const char *what, const char *health, const char *err)
{
	printf("%-10s %s\n", what, health[0] ? health : "unknown");
	if (err[0] != '\0' && strcmp(health, "ok") != 0) {
		fputs("           last error: ", stdout);
		print_clipped(err, 80 - 23);
		fputc('\n', stdout);
	}
}

static void
status_text(struct ctl *c, struct daemon_info *d, const struct state_counts *sc,
    const int *fun, struct field_progress *p, size_t np,
    const struct keep_item *keep, size_t nkeep,
    const struct gate_forecast *fc, size_t nfc)
{
	const struct gate_forecast *ns = next_send(fc, nfc);
	char rule[96];
	const char *on = c->color ? "\033[32m" : "", *off = c->color ? "\033[0m" : "";
	const char *bad = c->color ? "\033[31m" : "";
	char when[64];
	size_t i, col;
	int goal = c->cfg->goal.interviews_per_field;

	printf("daemon     %s%s%s", d->alive ? on : bad,
	    d->alive ? "running" : "not running", off);
	if (d->alive)
		printf(" (pid %ld, since %s)", d->pid, d->started);
	printf("\ninbox      last sync %s\n", d->last_sync[0] ? d->last_sync :
	    "never");
	print_health("imap", d->imap, d->imap_err);
	if (d->folders[0] != '\0') {
		printf("folders    %sproblem%s: ", bad, off);
		print_clipped(d->folders, 80 - 20);
		fputc('\n', stdout);
	}
	if (d->pause.cause != NULL) {
		printf("smtp       %ssending paused%s: %s\n", bad, off,
		    d->pause.cause);
		fputs("           server said: ", stdout);
		print_clipped(d->pause.error, 80 - 24);
		printf("\n           next try %s; `infoviewctl queue retry` "
		    "tries at once\n", d->pause.until > util_now() ?
		    tz_format(c->cfg->identity.timezone, d->pause.until,
		    "%Y-%m-%d %H:%M %Z", when, sizeof(when)) : "now");
	} else
		print_health("smtp", d->smtp, d->smtp_err);
	printf("\ncontacts   %lld\nfunnel     ", (long long)sc->all);
	col = 11;
	for (i = 0; i < nitems(funnel); i++) {
		char item[48];

		snprintf(item, sizeof(item), "%s%s %d", i ? "> " : "",
		    store_state_name(funnel[i]), fun[i]);
		col = print_item(item, col);
	}
	printf("\nstates     ");
	col = 11;
	for (i = 0; i < nitems(all_states); i++) {
		long long k = (long long)sc->by_state[all_states[i]];
		char item[48];

		if (k == 0)
			continue;
		snprintf(item, sizeof(item), "%s %lld",
		    store_state_name(all_states[i]), k);
		col = print_item(item, col);
	}
	printf("\n\nprogress toward %d interviews per field\n", goal);
	for (i = 0; i < np; i++) {
		int k, fill = p[i].interviewed > goal ? goal : p[i].interviewed;

		fputs("  ", stdout);
		print_clipped(p[i].field, 24);
		fputs(" [", stdout);
		for (k = 0; k < goal && k < 20; k++)
			printf("%s", k < fill ? "#" : ".");
		printf("] %d/%d%s\n", p[i].interviewed, goal,
		    p[i].interviewed >= goal ? "  reached" : "");
	}
	if (np == 0)
		printf("  (no contacts yet)\n");
	for (i = 0; i < nkeep; i++) {
		const struct contact *k = keep[i].ct;

		if (i == 0)
			printf("\nkeep in touch\n");
		printf("  %-21s ", keep[i].q->due <= util_now() ? "now" : tz_format(
		    c->cfg->identity.timezone, keep[i].q->due, "%Y-%m-%d %H:%M %Z",
		    when, sizeof(when)));
		if (!str_empty(k->name)) {
			ctl_put_padded(k->name, 0);
			fputc(' ', stdout);
		}
		printf("<");
		ctl_put_padded(k->email, 0);
		printf(">\n");
	}
	printf("\nnext send  ");
	if (ns == NULL)
		printf("nothing to a contact is queued\n");
	else {
		printf("%s  %s, queue %lld\n", tz_format(c->cfg->identity.timezone,
		    ns->at, "%Y-%m-%d %H:%M %Z", when, sizeof(when)),
		    store_outbox_kind_name(ns->kind),
		    (long long)ns->id);
		if (ns->why == GATE_NOW)
			printf("           nothing holds it: it goes as soon as "
			    "the daemon runs\n");
		else
			printf("           not sooner: %s\n",
			    ctl_gate_rule(c, ns->why, rule, sizeof(rule)));
	}
	printf("\nnext\n");
	for (i = 0; i < nfc && i < NEXT_ACTIONS; i++)
		printf("  %-21s %-10s queue %lld\n", tz_format(
		    c->cfg->identity.timezone, fc[i].at, "%Y-%m-%d %H:%M %Z",
		    when, sizeof(when)), store_outbox_kind_name(fc[i].kind),
		    (long long)fc[i].id);
	if (nfc == 0)
		printf("  nothing queued\n");
}

/* The keep-in-touch reminders to show, with their contacts. */
static struct keep_item *
keep_items(struct ctl *c, struct outbox_row **q, size_t nq, size_t *ret_n)
{
	struct keep_item *v = NULL;
	struct contact *ct;
	size_t n = 0, i;

	for (i = 0; i < nq; i++) {
		if (!keep_due(q[i]))
			continue;
		ct = NULL;
		if (store_contact_get(c->st, q[i]->contact_id, &ct) < 0 ||
		    ct->state != CS_THANKED) {
			store_contact_free(ct);
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].q = q[i];
		v[n++].ct = ct;
	}
	*ret_n = n;
	return v;
}

int
ctl_status(struct ctl *c, int argc, char **argv)
{
	struct daemon_info d = { 0 };
	struct contact_tally *t = NULL;
	struct state_counts sc;
	struct outbox_row **q = NULL;
	struct keep_item *keep;
	struct gate_forecast *fc = NULL;
	struct field_progress *p;
	size_t nt = 0, nq = 0, nfc = 0, np, nkeep, i;
	int fun[nitems(funnel)];

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: infoviewctl status\n");
		return EXIT_USAGE;
	}
	/* The contacts counted by field and state (none read whole); what
	 * is queued, and the time each goes out under the sending rules,
	 * soonest first. */
	if (store_contact_tally(c->st, &t, &nt) < 0 ||
	    store_outbox_list(c->st, OB_QUEUED, 0, &q, &nq) < 0 ||
	    gate_forecast(c->st, c->cfg, util_now(), &fc, &nfc) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		store_contact_tally_free(t, nt);
		store_outbox_rows_free(q, nq);
		return EXIT_FAILED;
	}
	qsort(fc, nfc, sizeof(*fc), forecast_cmp);
	daemon_info(c, &d);
	state_counts(t, nt, &sc);
	p = progress_of(t, nt, &np);
	keep = keep_items(c, q, nq, &nkeep);
	funnel_counts(c, fun);
	if (c->json)
		status_json(c, &d, &sc, fun, p, np, keep, nkeep, fc, nfc);
	else
		status_text(c, &d, &sc, fun, p, np, keep, nkeep, fc, nfc);
	for (i = 0; i < nkeep; i++)
		store_contact_free(keep[i].ct);
	free(keep);
	free(p);
	store_contact_tally_free(t, nt);
	daemon_info_done(&d);
	store_outbox_rows_free(q, nq);
	free(fc);
	return EXIT_OK;
}
