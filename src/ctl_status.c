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
#include "json.h"
#include "util.h"

#define NEXT_ACTIONS 5

void
ctl_wake(struct ctl *c)
{
	control_wake(c->cfg->storage.database);
}

/* The funnel, in order: each stage counts contacts that reached it. */
static const char *const funnel[] = {
	CS_CONTACTED, CS_REPLIED, CS_SCHEDULED, CS_INTERVIEWED, CS_THANKED,
};

/* Index of a state in the lifecycle (later = further along). */
static int
stage_of(const char *state)
{
	static const char *const order[] = {
		CS_NEW, CS_QUEUED, CS_CONTACTED, CS_FOLLOWED_UP, CS_NO_RESPONSE,
		CS_REPLIED, CS_SCHEDULED, CS_INTERVIEWED, CS_THANKED,
	};
	size_t i;

	for (i = 0; i < nitems(order); i++)
		if (strcmp(order[i], state) == 0)
			return (int)i;
	return -1;                      /* declined, bounced, stopped */
}

static int
funnel_reached(const char *state, const char *stage)
{
	int s = stage_of(state), t = stage_of(stage);

	if (strcmp(state, CS_DECLINED) == 0 || strcmp(state, CS_STOPPED) == 0)
		return strcmp(stage, CS_CONTACTED) == 0 ||
		    strcmp(stage, CS_REPLIED) == 0;
	if (strcmp(state, CS_NO_RESPONSE) == 0 || strcmp(state, CS_FOLLOWED_UP) == 0)
		return strcmp(stage, CS_CONTACTED) == 0;
	return s >= 0 && t >= 0 && s >= t;
}

struct field_progress {
	char *field;
	int contacts, interviewed;
};

/* Per field: contacts, and those interviewed (or thanked). */
static struct field_progress *
progress_of(struct contact **v, size_t n, size_t *ret_n)
{
	struct field_progress *p = NULL;
	size_t np = 0, i, k;

	for (i = 0; i < n; i++) {
		const char *f = v[i]->field[0] ? v[i]->field : "(no field)";

		for (k = 0; k < np && strcmp(p[k].field, f) != 0; k++)
			;
		if (k == np) {
			p = xreallocarray(p, np + 1, sizeof(*p));
			p[np].field = xstrdup(f);
			p[np].contacts = p[np].interviewed = 0;
			np++;
		}
		p[k].contacts++;
		if (strcmp(v[i]->state, CS_INTERVIEWED) == 0 ||
		    strcmp(v[i]->state, CS_THANKED) == 0)
			p[k].interviewed++;
	}
	*ret_n = np;
	return p;
}

struct daemon_info {
	bool alive;
	long pid;
	char *started, *last_sync, *smtp, *smtp_err, *imap, *imap_err;
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
}

static int
count_state(struct contact **v, size_t n, const char *state)
{
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++)
		if (strcmp(v[i]->state, state) == 0)
			k++;
	return k;
}

static int
count_funnel(struct contact **v, size_t n, const char *stage)
{
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++)
		if (funnel_reached(v[i]->state, stage))
			k++;
	return k;
}

static const char *const all_states[] = {
	CS_NEW, CS_QUEUED, CS_CONTACTED, CS_FOLLOWED_UP, CS_REPLIED, CS_SCHEDULED,
	CS_INTERVIEWED, CS_THANKED, CS_DECLINED, CS_NO_RESPONSE, CS_BOUNCED,
	CS_STOPPED,
};

static void
status_json(struct ctl *c, struct daemon_info *d, struct contact **v, size_t n,
    struct field_progress *p, size_t np, struct outbox_row **q, size_t nq)
{
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
	json_end_object(&j);
	json_key(&j, "imap");
	json_begin_object(&j);
	json_kstr(&j, "health", d->imap[0] ? d->imap : "unknown");
	json_kstr(&j, "last_error", d->imap_err[0] ? d->imap_err : NULL);
	json_end_object(&j);
	json_kint(&j, "contacts", (int64_t)n);
	json_key(&j, "states");
	json_begin_object(&j);
	for (i = 0; i < nitems(all_states); i++)
		json_kint(&j, all_states[i], count_state(v, n, all_states[i]));
	json_end_object(&j);
	json_key(&j, "funnel");
	json_begin_object(&j);
	for (i = 0; i < nitems(funnel); i++)
		json_kint(&j, funnel[i], count_funnel(v, n, funnel[i]));
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
	json_key(&j, "next");
	json_begin_array(&j);
	for (i = 0; i < nq && i < NEXT_ACTIONS; i++) {
		json_begin_object(&j);
		json_kint(&j, "id", q[i]->id);
		json_kstr(&j, "kind", q[i]->kind);
		json_kint(&j, "contact_id", q[i]->contact_id);
		json_ktime(&j, "due", q[i]->due);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_finish(&j);
}

static void
status_text(struct ctl *c, struct daemon_info *d, struct contact **v, size_t n,
    struct field_progress *p, size_t np, struct outbox_row **q, size_t nq)
{
	const char *on = c->color ? "\033[32m" : "", *off = c->color ? "\033[0m" : "";
	const char *bad = c->color ? "\033[31m" : "";
	char when[64];
	size_t i;
	int goal = c->cfg->goal.interviews_per_field;

	printf("daemon     %s%s%s", d->alive ? on : bad,
	    d->alive ? "running" : "not running", off);
	if (d->alive)
		printf(" (pid %ld, since %s)", d->pid, d->started);
	printf("\ninbox      last sync %s\n", d->last_sync[0] ? d->last_sync :
	    "never");
	printf("imap       %s%s%s\n", d->imap[0] ? d->imap : "unknown",
	    d->imap_err[0] ? " - last error: " : "", d->imap_err);
	printf("smtp       %s%s%s\n", d->smtp[0] ? d->smtp : "unknown",
	    d->smtp_err[0] ? " - last error: " : "", d->smtp_err);
	printf("\ncontacts   %zu\nfunnel     ", n);
	for (i = 0; i < nitems(funnel); i++)
		printf("%s%s %d", i ? " > " : "", funnel[i],
		    count_funnel(v, n, funnel[i]));
	printf("\nstates    ");
	for (i = 0; i < nitems(all_states); i++) {
		int k = count_state(v, n, all_states[i]);

		if (k > 0)
			printf(" %s %d", all_states[i], k);
	}
	printf("\n\nprogress toward %d interviews per field\n", goal);
	for (i = 0; i < np; i++) {
		int k, fill = p[i].interviewed > goal ? goal : p[i].interviewed;

		printf("  %-24.24s [", p[i].field);
		for (k = 0; k < goal && k < 20; k++)
			printf("%s", k < fill ? "#" : ".");
		printf("] %d/%d%s\n", p[i].interviewed, goal,
		    p[i].interviewed >= goal ? "  reached" : "");
	}
	if (np == 0)
		printf("  (no contacts yet)\n");
	printf("\nnext\n");
	for (i = 0; i < nq && i < NEXT_ACTIONS; i++)
		printf("  %-21s %-10s queue %lld\n", tz_format(
		    c->cfg->identity.timezone, q[i]->due, "%Y-%m-%d %H:%M %Z",
		    when, sizeof(when)), q[i]->kind, (long long)q[i]->id);
	if (nq == 0)
		printf("  nothing queued\n");
}

int
ctl_status(struct ctl *c, int argc, char **argv)
{
	struct daemon_info d = { 0 };
	struct contact **v = NULL;
	struct outbox_row **q = NULL;
	struct field_progress *p;
	size_t n = 0, nq = 0, np, i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: infoviewctl status\n");
		return EXIT_USAGE;
	}
	if (store_contact_list(c->st, NULL, NULL, &v, &n) < 0 ||
	    store_outbox_list(c->st, OB_QUEUED, 0, &q, &nq) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		contacts_free(v, n);
		return EXIT_FAILED;
	}
	daemon_info(c, &d);
	p = progress_of(v, n, &np);
	if (c->json)
		status_json(c, &d, v, n, p, np, q, nq);
	else
		status_text(c, &d, v, n, p, np, q, nq);
	for (i = 0; i < np; i++)
		free(p[i].field);
	free(p);
	daemon_info_done(&d);
	contacts_free(v, n);
	outbox_rows_free(q, nq);
	return EXIT_OK;
}
