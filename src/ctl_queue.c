/*
 * ctl_queue.c - `outreach`, `queue`, `inbox` and `referral`: putting
 * first messages in the outbox, showing and steering it, and the replies
 * and referrals that wait for the user's decision.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gate.h"
#include "json.h"
#include "lifecycle.h"
#include "plan.h"
#include "util.h"

/* Parses a positive numeric id; -1 when it is not one. */
static int64_t
parse_id(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v <= 0)
		return -1;
	return v;
}

/* ---- forecasts ------------------------------------------------------------ */

/* Whole calendar days from a's date to b's in zone, counting both. */
static int
days_spanned(const char *zone, time_t a, time_t b)
{
	struct tm ta, tb;

	tz_utc_to_local(zone, a, &ta);
	tz_utc_to_local(zone, b, &tb);
	ta.tm_hour = tb.tm_hour = 12;
	ta.tm_min = tb.tm_min = ta.tm_sec = tb.tm_sec = 0;
	return (int)((timegm(&tb) - timegm(&ta) + 43200) / 86400) + 1;
}

/* After `outreach`: how many of the rows just queued there are, and when
 * the first and the last go out under the sending rules. */
static void
outreach_forecast(struct ctl *c, const int64_t *ids, size_t nids)
{
	const struct config *cfg = c->cfg;
	const char *zone = cfg->identity.timezone;
	struct gate_forecast *f;
	time_t first = 0, last = 0;
	char a[64], b[64], days[64], gap[32];
	size_t nf, i, k, count = 0;

	if (gate_forecast(c->st, cfg, util_now(), &f, &nf) < 0) {
		fprintf(stderr, "infoviewctl: no forecast: %s\n",
		    store_errmsg(c->st));
		return;
	}
	for (i = 0; i < nf; i++) {
		if (f[i].kind != OK_OUTREACH)
			continue;
		for (k = 0; k < nids && ids[k] != f[i].contact_id; k++)
			;
		if (k == nids)
			continue;
		count++;
		if (first == 0 || f[i].at < first)
			first = f[i].at;
		if (f[i].at > last)
			last = f[i].at;
	}
	free(f);
	if (count == 0)
		return;
	ctl_days_text(cfg->outreach.send_days_mask, days, sizeof(days));
	snprintf(gap, sizeof(gap), "%s", util_format_duration(cfg->outreach.min_gap));
	printf("%zu outreach message%s queued: the first goes out %s, the last "
	    "%s (%d day%s)\n", count, count == 1 ? "" : "s",
	    tz_format(zone, first, "%Y-%m-%d %H:%M %Z", a, sizeof(a)),
	    tz_format(zone, last, "%Y-%m-%d %H:%M %Z", b, sizeof(b)),
	    days_spanned(zone, first, last),
	    days_spanned(zone, first, last) == 1 ? "" : "s");
	printf("  under send_window %02d:%02d-%02d:%02d %s (the contact's zone "
	    "when known), daily_limit %d, per_domain_daily %d, min_gap %s; "
	    "`infoviewctl queue` shows each time\n",
	    cfg->outreach.window_start_min / 60,
	    cfg->outreach.window_start_min % 60,
	    cfg->outreach.window_end_min / 60,
	    cfg->outreach.window_end_min % 60, days, cfg->outreach.daily_limit,
	    cfg->outreach.per_domain_daily, gap);
}

/* Queues the outreach to one contact inside its own transaction. */
static int
outreach_one(struct ctl *c, struct contact *ct)
{
	char *err = NULL;
	int r;

	if ((r = STORE_TX(c->st, plan_outreach(c->st, c->cfg, ct, &err))) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", err ? err :
		    store_errmsg(c->st));
		free(err);
		return EXIT_FAILED;
	}
	printf("queued outreach to %s\n", ct->email);
	return EXIT_OK;
}

int
ctl_outreach(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "field", required_argument, NULL, 'f' },
		{ "all-new", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *field = NULL;
	bool all_new = false;
	struct contact **v = NULL;
	int64_t *ids = NULL;
	size_t n = 0, i, queued = 0;
	int ch, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': field = optarg; break;
		case 'a': all_new = true; break;
		default: goto usage;
		}
	}
	if ((optind < argc) == (field != NULL || all_new))
		goto usage;
	if (optind < argc) {
		for (i = (size_t)optind; i < (size_t)argc; i++) {
			struct contact *ct;

			if (ctl_contact_lookup(c, argv[i], &ct) != EXIT_OK) {
				rc = EXIT_FAILED;
				continue;
			}
			if (outreach_one(c, ct) == EXIT_OK) {
				ids = xreallocarray(ids, queued + 1, sizeof(*ids));
				ids[queued++] = ct->id;
			} else
				rc = EXIT_FAILED;
			store_contact_free(ct);
		}
	} else {
		enum contact_state fresh = CS_NEW;

		if (store_contact_list(c->st, &fresh, field, &v, &n) < 0) {
			fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
			return EXIT_FAILED;
		}
		ids = xcalloc(n ? n : 1, sizeof(*ids));
		for (i = 0; i < n; i++) {
			if (outreach_one(c, v[i]) == EXIT_OK)
				ids[queued++] = v[i]->id;
			else
				rc = EXIT_FAILED;
		}
		store_contacts_free(v, n);
		if (n == 0)
			printf("no new contacts%s%s\n", field ? " in field " : "",
			    field ? field : "");
	}
	if (queued > 0) {
		outreach_forecast(c, ids, queued);
		ctl_wake(c);
	}
	free(ids);
	return rc;
usage:
	fprintf(stderr, "usage: infoviewctl outreach ID|EMAIL... | --field F | "
	    "--all-new\n");
	return EXIT_USAGE;
}

/* "2026-11-24 10:00 PST" in the user's zone, or "-" for 0. */
static const char *
local_time(struct ctl *c, time_t t, char *out, size_t len)
{
	if (t == 0)
		return "-";
	return tz_format(c->cfg->identity.timezone, t, "%Y-%m-%d %H:%M %Z",
	    out, len);
}

/* The address a row goes to: the contact, or the user. */
static const char *
row_recipient(struct ctl *c, const struct outbox_row *r, char **owned)
{
	struct contact *ct;

	*owned = NULL;
	if (r->to_user)
		return c->cfg->identity.email;
	if (r->contact_id != 0 && store_contact_get(c->st, r->contact_id, &ct) == 0) {
		*owned = xstrdup(ct->email);
		store_contact_free(ct);
		return *owned;
	}
	return "-";
}

/* Sending paused for the account: one line above the table. */
static void
pause_print(struct ctl *c, const struct outbox_pause *p)
{
	char when[64];

	printf("sending paused since %s: %s\n", local_time(c, p->since, when,
	    sizeof(when)), p->cause);
	printf("  server said: %s\n", p->error);
	printf("  next try %s; `infoviewctl queue retry` tries at once\n\n",
	    p->until > util_now() ?
	    local_time(c, p->until, when, sizeof(when)) : "now");
}

/* When a row goes (or went) out: sent_at for sent rows, the forecast
 * for queued ones, else its due time. */
static time_t
row_when(const struct outbox_row *r, const struct gate_forecast *f)
{
	if (r->state == OB_SENT)
		return r->sent_at;
	return f != NULL ? f->at : r->due;
}

static void
queue_print(struct ctl *c, struct outbox_row **v, size_t n,
    const struct gate_forecast *fc, size_t nfc)
{
	const struct gate_forecast *f;
	struct json j;
	struct outbox_pause pause = { 0 };
	bool paused = store_outbox_pause_get(c->st, &pause) == 0;
	char when[64], rule[96], *owned;
	size_t i;

	if (c->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
		for (i = 0; i < n; i++) {
			json_begin_object(&j);
			json_kint(&j, "id", v[i]->id);
			json_kstr(&j, "kind",
			    store_outbox_kind_name(v[i]->kind));
			json_kstr(&j, "state",
			    store_outbox_state_name(v[i]->state));
			json_kstr(&j, "email", row_recipient(c, v[i], &owned));
			free(owned);
			json_kint(&j, "contact_id", v[i]->contact_id);
			json_kint(&j, "meeting_id", v[i]->meeting_id);
			json_kbool(&j, "to_user", v[i]->to_user);
			json_ktime(&j, "due", v[i]->due);
			/* The forecast: when a queued row will go out
			 * under the sending rules, and the rule that
			 * keeps it from going sooner. */
			f = v[i]->state == OB_QUEUED ?
			    gate_forecast_find(fc, nfc, v[i]->id) : NULL;
			json_ktime(&j, "forecast", f ? f->at : 0);
			json_kstr(&j, "forecast_reason", f ? gate_why_name(f->why) :
			    NULL);
			json_ktime(&j, "sent_at", v[i]->sent_at);
			json_kint(&j, "attempts", v[i]->attempts);
			json_kstr(&j, "error", v[i]->last_error);
			json_kstr(&j, "message_id", v[i]->message_id);
			json_kstr(&j, "subject", v[i]->subject);
			if (paused && v[i]->state == OB_QUEUED) {
				json_kstr(&j, "paused", pause.cause);
				json_kstr(&j, "paused_error", pause.error);
				json_ktime(&j, "paused_until", pause.until);
			}
			json_end_object(&j);
		}
		json_end_array(&j);
		json_finish(&j);
		goto out;
	}
	if (paused)
		pause_print(c, &pause);
	if (n == 0) {
		printf("the outbox is empty\n");
		goto out;
	}
	printf("%-5s %-10s %-9s %-21s %-28s %s\n", "ID", "KIND", "STATE",
	    "WHEN", "TO", "NOTE");
	for (i = 0; i < n; i++) {
		const struct outbox_row *r = v[i];

		f = r->state == OB_QUEUED ?
		    gate_forecast_find(fc, nfc, r->id) : NULL;
		printf("%-5lld %-10s %-9s %-21s %-28s ", (long long)r->id,
		    store_outbox_kind_name(r->kind),
		    store_outbox_state_name(r->state), local_time(c,
		    row_when(r, f), when, sizeof(when)),
		    row_recipient(c, r, &owned));
		free(owned);
		if (f != NULL && f->why != GATE_NOW && f->why != GATE_DUE)
			printf("(%s)%s", ctl_gate_rule(c, f->why, rule,
			    sizeof(rule)), r->last_error[0] ? " " : "");
		printf("%s\n", r->last_error);
	}
out:
	store_outbox_pause_done(&pause);
}

/* `queue retry` without an id: sending paused for the account tries again
 * now. */
static int
queue_resume(struct ctl *c)
{
	int r = store_outbox_pause_retry(c->st);

	if (r == -ENOENT) {
		printf("sending is not paused\n");
		return EXIT_OK;
	}
	if (r < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		return EXIT_FAILED;
	}
	printf("sending resumes now\n");
	ctl_wake(c);
	return EXIT_OK;
}

/* `queue retry ID` (retry true) or `queue cancel ID`: the row along the
 * journal's edge (lifecycle.c). Returns 0; -ENOENT no such row; -EPERM
 * not from the state it is in (*ret_was); or the store's error. */
static int
queue_move(struct ctl *c, int64_t id, bool retry, enum outbox_state *ret_was)
{
	struct outbox_change cancel = { .error = "cancelled with infoviewctl" };
	struct outbox_row *row;
	int r;

	if ((r = store_outbox_get(c->st, id, &row)) < 0)
		return r;
	*ret_was = row->state;
	if (retry ? !lifecycle_outbox_retryable(row->state) :
	    !lifecycle_outbox_allowed(row->state, OB_CANCELLED))
		r = -EPERM;
	else if (retry)
		r = lifecycle_outbox_retry(c->st, row, util_now());
	else
		r = lifecycle_outbox_move(c->st, row, OB_CANCELLED, &cancel);
	store_outbox_row_free(row);
	return r;
}

int
ctl_queue(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct outbox_row **v;
	struct gate_forecast *fc;
	const char *state = NULL;
	size_t n, nfc;
	int64_t id;
	enum outbox_state was = OB_QUEUED;
	bool resumed = false;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 's')
			goto usage;
		state = optarg;
	}
	if (optind == argc) {
		enum outbox_state want = OB_QUEUED;

		/* A state that is none lists nothing, as before. */
		if (state != NULL &&
		    store_outbox_state_parse(state, &want) < 0) {
			v = NULL;
			n = 0;
		} else if (store_outbox_list(c->st, state != NULL ? (int)want :
		    OB_ANY, 0, &v, &n) < 0) {
			fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
			return EXIT_FAILED;
		}
		if (gate_forecast(c->st, c->cfg, util_now(), &fc, &nfc) < 0) {
			fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
			store_outbox_rows_free(v, n);
			return EXIT_FAILED;
		}
		queue_print(c, v, n, fc, nfc);
		free(fc);
		store_outbox_rows_free(v, n);
		return EXIT_OK;
	}
	if (optind + 1 == argc && strcmp(argv[optind], "retry") == 0)
		return queue_resume(c);
	if (optind + 2 != argc || (id = parse_id(argv[optind + 1])) < 0)
		goto usage;
	if (strcmp(argv[optind], "retry") == 0) {
		/* a paused account is retried as well (its rows are queued) */
		resumed = store_outbox_pause_retry(c->st) == 0;
		r = queue_move(c, id, true, &was);
		if (r == -EPERM && resumed) {
			printf("sending resumes now\n");
			ctl_wake(c);
			return EXIT_OK;
		}
	}
	else if (strcmp(argv[optind], "cancel") == 0)
		r = queue_move(c, id, false, &was);
	else
		goto usage;
	if (r == -ENOENT) {
		fprintf(stderr, "infoviewctl: no queue entry %lld\n", (long long)id);
		return EXIT_FAILED;
	}
	if (r == -ESTALE) {
		fprintf(stderr, "infoviewctl: queue entry %lld changed meanwhile "
		    "(see `infoviewctl queue`)\n", (long long)id);
		return EXIT_FAILED;
	}
	if (r == -EPERM) {
		fprintf(stderr, "infoviewctl: queue entry %lld is %s; it cannot "
		    "be %s (see `infoviewctl queue`)\n", (long long)id,
		    store_outbox_state_name(was),
		    strcmp(argv[optind], "retry") == 0 ? "retried" : "cancelled");
		return EXIT_FAILED;
	}
	if (r < 0) {
		fprintf(stderr, "infoviewctl: queue entry %lld: %s\n",
		    (long long)id, store_errmsg(c->st));
		return EXIT_FAILED;
	}
	printf("queue entry %lld %s\n", (long long)id,
	    strcmp(argv[optind], "retry") == 0 ? "queued again" : "cancelled");
	ctl_wake(c);
	return EXIT_OK;
usage:
	fprintf(stderr, "usage: infoviewctl queue [--state S] | queue retry [ID] | "
	    "queue cancel ID\n");
	return EXIT_USAGE;
}

int
ctl_inbox(struct ctl *c, int argc, char **argv)
{
	struct inbox_item *v;
	struct json j;
	char when[64];
	size_t n, i;
	bool all = argc > 1 && strcmp(argv[1], "--all") == 0;

	if (argc > 2 || (argc == 2 && !all)) {
		fprintf(stderr, "usage: infoviewctl inbox [--all]\n");
		return EXIT_USAGE;
	}
	if (store_inbox_list(c->st, all, &v, &n) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		return EXIT_FAILED;
	}
	if (c->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
		for (i = 0; i < n; i++) {
			json_begin_object(&j);
			json_kint(&j, "id", v[i].id);
			json_kint(&j, "contact_id", v[i].contact_id);
			json_kstr(&j, "email", v[i].email);
			json_kstr(&j, "name", v[i].name);
			json_kstr(&j, "kind", v[i].kind);
			json_kstr(&j, "reason", v[i].reason);
			json_kstr(&j, "snippet", v[i].snippet);
			json_ktime(&j, "created", v[i].created);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_finish(&j);
	} else if (n == 0) {
		printf("nothing needs your decision\n");
	} else {
		for (i = 0; i < n; i++) {
			printf("%lld  %s  %s%s%s%s  [%s]\n    %s\n", (long long)v[i].id,
			    local_time(c, v[i].created, when, sizeof(when)),
			    v[i].name, v[i].name[0] ? " <" : "", v[i].email,
			    v[i].name[0] ? ">" : "", v[i].kind, v[i].reason);
			if (v[i].snippet[0] != '\0')
				printf("    \"%s\"\n", v[i].snippet);
		}
	}
	store_inbox_items_free(v, n);
	return EXIT_OK;
}

static void
referral_print(struct ctl *c, struct referral_row *v, size_t n)
{
	struct json j;
	size_t i;

	if (c->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
		for (i = 0; i < n; i++) {
			json_begin_object(&j);
			json_kint(&j, "id", v[i].id);
			json_kstr(&j, "email", v[i].email);
			json_kstr(&j, "name", v[i].name);
			json_kstr(&j, "state", v[i].state);
			json_kstr(&j, "referred_by", v[i].from_email);
			json_kint(&j, "contact_id", v[i].contact_id);
			json_ktime(&j, "created", v[i].created);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_finish(&j);
		return;
	}
	if (n == 0) {
		printf("no referrals yet\n");
		return;
	}
	printf("%-4s %-9s %-32s %-22s %s\n", "ID", "STATE", "EMAIL", "NAME",
	    "REFERRED BY");
	for (i = 0; i < n; i++)
		printf("%-4lld %-9s %-32s %-22s %s\n", (long long)v[i].id,
		    v[i].state, v[i].email[0] ? v[i].email : "(no address)",
		    v[i].name, v[i].from_email);
}

/* The contact added for an accepted referral, the referral marked
 * accepted and the referrer's history noted (from NULL: the referrer is
 * gone): 0 or -errno, all or nothing in the caller's transaction. */
static int
referral_record(struct ctl *c, struct referral_row *rf,
    const struct contact_in *in, const struct contact *from, int64_t *ret_id,
    bool *ret_created)
{
	int r;

	if ((r = store_contact_upsert(c->st, in, ret_id, ret_created)) < 0 ||
	    (r = store_referral_set(c->st, rf->id, REF_ACCEPTED, *ret_id)) < 0)
		return r;
	return from == NULL ? 0 : store_event_add(c->st, from->id, "referral",
	    rf->email);
}

/* referral accept: the suggested person becomes a contact, referred by
 * the one who suggested them, in the referrer's field. */
static int
referral_accept(struct ctl *c, struct referral_row *rf)
{
	struct contact_in in = { 0 };
	struct contact *from = NULL;
	int64_t id = 0;
	bool created;
	int r;

	if (rf->email[0] == '\0') {
		fprintf(stderr, "infoviewctl: referral %lld (%s) has no address; "
		    "add it with `infoviewctl contact add EMAIL --name \"%s\" "
		    "--referred-by %s`\n", (long long)rf->id, rf->name, rf->name,
		    rf->from_email);
		return EXIT_FAILED;
	}
	/* a referrer forgotten since (-ENOENT) leaves no field to inherit */
	if (rf->from_contact_id != 0 &&
	    (r = store_contact_get(c->st, rf->from_contact_id, &from)) < 0 &&
	    r != -ENOENT) {
		fprintf(stderr, "infoviewctl: referral %lld: cannot read contact "
		    "%lld, who suggested %s: %s\n", (long long)rf->id,
		    (long long)rf->from_contact_id, rf->email,
		    store_errmsg(c->st));
		return EXIT_FAILED;
	}
	in.email = rf->email;
	in.name = rf->name[0] ? rf->name : NULL;
	in.referred_by = rf->from_email[0] ? rf->from_email : NULL;
	in.field = from != NULL && from->field[0] ? from->field : NULL;
	r = STORE_TX(c->st, referral_record(c, rf, &in, from, &id, &created));
	if (r < 0) {
		fprintf(stderr, "infoviewctl: referral %lld: cannot add %s: %s\n",
		    (long long)rf->id, rf->email, store_errmsg(c->st));
		store_contact_free(from);
		return EXIT_FAILED;
	}
	printf("%s contact %lld %s (referred by %s); send the outreach with "
	    "`infoviewctl outreach %s`\n", created ? "added" : "updated",
	    (long long)id, rf->email, rf->from_email, rf->email);
	store_contact_free(from);
	return EXIT_OK;
}

int
ctl_referral(struct ctl *c, int argc, char **argv)
{
	struct referral_row *v, rf = { 0 };
	size_t n;
	int64_t id;
	int rc;

	if (argc == 1 || (argc == 2 && strcmp(argv[1], "list") == 0)) {
		if (store_referral_list(c->st, &v, &n) < 0) {
			fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
			return EXIT_FAILED;
		}
		referral_print(c, v, n);
		store_referral_rows_free(v, n);
		return EXIT_OK;
	}
	if (argc != 3 || (id = parse_id(argv[2])) < 0 ||
	    (strcmp(argv[1], "accept") != 0 && strcmp(argv[1], "dismiss") != 0)) {
		fprintf(stderr, "usage: infoviewctl referral list | referral accept N "
		    "| referral dismiss N\n");
		return EXIT_USAGE;
	}
	if (store_referral_get(c->st, id, &rf) < 0) {
		fprintf(stderr, "infoviewctl: no referral %lld\n", (long long)id);
		return EXIT_FAILED;
	}
	if (strcmp(argv[1], "accept") == 0)
		rc = referral_accept(c, &rf);
	else if (store_referral_set(c->st, id, REF_DISMISSED, 0) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		rc = EXIT_FAILED;
	} else {
		printf("referral %lld dismissed\n", (long long)id);
		rc = EXIT_OK;
	}
	store_referral_row_done(&rf);
	return rc;
}
