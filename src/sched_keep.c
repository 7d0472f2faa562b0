/*
 * sched_keep.c - after the thank-you: keeping in touch and the weekly
 * digest (infoviewd.conf(5) thankyou.keep_in_touch and digest).
 *
 * A thanked contact has one keep-in-touch reminder queued (plan.c). When
 * it comes due, mail from the user to the contact in the Sent folder since
 * the clock last started moves it to keep_in_touch after that mail;
 * otherwise a drafted update (update.txt) goes to the Drafts folder and
 * the reminder (keepintouch.txt) to the user, both saying what happened
 * since: the people the contact referred and where each stands, and the
 * conversations held since in the contact's field. The digest
 * (digest.txt) sums up the week for the user.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lifecycle.h"
#include "sched_int.h"
#include "util.h"

#define DIGEST_AHEAD    (7 * 86400)     /* what the digest looks ahead to */
#define LIST_MAX        50              /* items per list in a message */

/* A new, empty list called name (NULL when all slots are taken). */
static struct compose_list *
keep_list(struct keep_vars *k, const char *name)
{
	struct compose_list *l;

	if (k->n_lists >= nitems(k->lists))
		return NULL;
	l = &k->lists[k->n_lists++];
	l->name = name;
	return l;
}

/* Appends an item (owned) to l, at most LIST_MAX. */
static void
list_add(struct compose_list *l, char *item)
{
	if (l == NULL || l->n >= LIST_MAX) {
		free(item);
		return;
	}
	l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
	l->items[l->n++] = item;
}

/* Sets a scalar (value owned). */
static void
keep_scalar(struct keep_vars *k, const char *key, char *value)
{
	if (k->n_scalars >= nitems(k->scalars)) {
		free(value);
		return;
	}
	k->scalars[k->n_scalars].key = (char *)key;
	k->scalars[k->n_scalars++].value = value;
}

/* "n" as text, "" for 0 (so {{#x_count}} reads as "any"). */
static char *
count_of(size_t n)
{
	return n == 0 ? xstrdup("") : xasprintf("%zu", n);
}

static const char *
who(const struct contact *c)
{
	return str_empty(c->name) ? c->email : c->name;
}

/* "Saturday, December 5" in the user's zone. */
static char *
day_of(struct sched *s, time_t t)
{
	char b[64];
	struct tm tm;

	tz_utc_to_local(s->cfg->identity.timezone, t, &tm);
	return xasprintf("%s%d", tz_format(s->cfg->identity.timezone, t,
	    "%A, %B ", b, sizeof(b)), tm.tm_mday);
}

/* "Tue Dec 08 10:00 PST" in the user's zone. */
static char *
when_of(struct sched *s, time_t t)
{
	char b[64];

	return xstrdup(tz_format(s->cfg->identity.timezone, t,
	    "%a %b %d %H:%M %Z", b, sizeof(b)));
}

/* The meeting held with a contact (the newest whose end has passed), or
 * failing that the next one; NULL when none (not cancelled ones). */
static const struct meeting *
meeting_of(struct meeting **mv, size_t nm, int64_t contact_id, time_t now,
    bool *ret_held)
{
	const struct meeting *held = NULL, *next = NULL;
	size_t i;

	for (i = 0; i < nm; i++) {
		const struct meeting *m = mv[i];

		if (m->contact_id != contact_id ||
		    m->state != MS_SCHEDULED)
			continue;
		if (m->end <= now && (held == NULL || m->start > held->start))
			held = m;
		else if (m->end > now && (next == NULL || m->start < next->start))
			next = m;
	}
	*ret_held = held != NULL;
	return held ? held : next;
}

/* Where a person the contact referred stands, in the user's words. */
static char *
referral_words(struct sched *s, const struct contact *r,
    struct meeting **mv, size_t nm, time_t now)
{
	const struct meeting *m;
	bool held;
	char *d, *out;
	const char *what;

	if ((m = meeting_of(mv, nm, r->id, now, &held)) != NULL) {
		d = day_of(s, m->start);
		out = xasprintf("%s%s%s%s: %s %s", who(r),
		    str_empty(r->company) ? "" : " (", r->company,
		    str_empty(r->company) ? "" : ")", held ? "we talked on" :
		    "we are meeting on", d);
		free(d);
		return out;
	}
	switch (r->state) {
	case CS_REPLIED:
		what = "replied, and we are finding a time";
		break;
	case CS_QUEUED:
	case CS_CONTACTED:
	case CS_FOLLOWED_UP:
		what = "I have written; no answer yet";
		break;
	case CS_DECLINED:
		what = "could not make time";
		break;
	case CS_NO_RESPONSE:
		what = "no answer to my message";
		break;
	case CS_BOUNCED:
		what = "my message did not reach them";
		break;
	case CS_STOPPED:
		what = "I will not be writing again";
		break;
	default:
		what = "I have not written yet";
		break;
	}
	return xasprintf("%s%s%s%s: %s", who(r), str_empty(r->company) ? "" :
	    " (", r->company, str_empty(r->company) ? "" : ")", what);
}

/* referral_news / referral_count and interviews_since / interview_count
 * for contact c since `since`. */
static void
keep_news(struct sched *s, const struct contact *c, time_t since,
    struct keep_vars *k)
{
	struct contact **cv = NULL;
	struct meeting **mv = NULL;
	struct referral_row *rv = NULL;
	struct compose_list *news = keep_list(k, "referral_news");
	struct compose_list *talks = keep_list(k, "interviews_since");
	size_t nc = 0, nm = 0, nr = 0, i;
	time_t now = util_now();

	(void)store_contact_list(s->st, NULL, NULL, &cv, &nc);
	(void)store_meeting_list(s->st, 0, &mv, &nm);
	(void)store_referral_list(s->st, &rv, &nr);
	for (i = 0; i < nc; i++)
		if (cv[i]->referrer_id == c->id && cv[i]->id != c->id)
			list_add(news, referral_words(s, cv[i], mv, nm, now));
	for (i = 0; i < nr; i++)
		if (rv[i].from_contact_id == c->id &&
		    strcmp(rv[i].state, REF_PENDING) == 0)
			list_add(news, xasprintf("%s%s%s%s: suggested by you; I "
			    "have not written yet", str_empty(rv[i].name) ?
			    rv[i].email : rv[i].name, str_empty(rv[i].name) ||
			    str_empty(rv[i].email) ? "" : " <", str_empty(rv[i].name) ?
			    "" : rv[i].email, str_empty(rv[i].name) ||
			    str_empty(rv[i].email) ? "" : ">"));
	/* Conversations held since, in the contact's field. */
	for (i = 0; i < nm && !str_empty(c->field); i++) {
		const struct meeting *m = mv[i];
		const struct contact *o = NULL;
		char *d;
		size_t j;

		if (m->state != MS_SCHEDULED || m->contact_id == c->id ||
		    m->end > now || m->end <= since)
			continue;
		for (j = 0; j < nc && o == NULL; j++)
			if (cv[j]->id == m->contact_id)
				o = cv[j];
		if (o == NULL || strcasecmp(o->field, c->field) != 0)
			continue;
		d = day_of(s, m->start);
		list_add(talks, xasprintf("%s%s%s (%s)", who(o),
		    str_empty(o->company) ? "" : ", ", o->company, d));
		free(d);
	}
	keep_scalar(k, "referral_count", count_of(news ? news->n : 0));
	keep_scalar(k, "interview_count", count_of(talks ? talks->n : 0));
	keep_scalar(k, "since_date", day_of(s, since));
	store_contacts_free(cv, nc);
	store_meetings_free(mv, nm);
	store_referral_rows_free(rv, nr);
}

/* ---- the digest ---------------------------------------------------------- */

/* "Tue Dec 08 10:00 PST  Ana Rivera (Acme)" */
static char *
meeting_line(struct sched *s, const struct meeting *m, struct contact **cv,
    size_t nc)
{
	const struct contact *o = NULL;
	char *w = when_of(s, m->start), *out;
	size_t j;

	for (j = 0; j < nc && o == NULL; j++)
		if (cv[j]->id == m->contact_id)
			o = cv[j];
	out = xasprintf("%s  %s%s%s%s", w, o ? who(o) : "?",
	    o && !str_empty(o->company) ? " (" : "", o ? o->company : "",
	    o && !str_empty(o->company) ? ")" : "");
	free(w);
	return out;
}

/* "Ana Rivera <ana@acme.example>" of contact id (or "?"). */
static char *
contact_line(struct contact **cv, size_t nc, int64_t id)
{
	size_t j;

	for (j = 0; j < nc; j++)
		if (cv[j]->id == id)
			return str_empty(cv[j]->name) ? xstrdup(cv[j]->email) :
			    xasprintf("%s <%s>", cv[j]->name, cv[j]->email);
	return xstrdup("?");
}

/* The digest's lists: the week's meetings (ahead and past), replies
 * waiting for a decision, follow-ups and keep-in-touch reminders due in
 * the week ahead, progress per field toward goal.interviews_per_field. */
static void
digest_vars(struct sched *s, struct keep_vars *k)
{
	struct contact **cv = NULL;
	struct meeting **mv = NULL;
	struct outbox_row **ov = NULL;
	struct inbox_item *iv = NULL;
	struct compose_list *ahead = keep_list(k, "meetings_ahead");
	struct compose_list *past = keep_list(k, "meetings_past");
	struct compose_list *waiting = keep_list(k, "waiting");
	struct compose_list *fu = keep_list(k, "followups_due");
	struct compose_list *keep = keep_list(k, "keep_due");
	struct compose_list *fields = keep_list(k, "fields");
	size_t nc = 0, nm = 0, no = 0, ni = 0, i, j;
	time_t now = util_now();
	int goal = s->cfg->goal.interviews_per_field;

	(void)store_contact_list(s->st, NULL, NULL, &cv, &nc);
	(void)store_meeting_list(s->st, 0, &mv, &nm);
	(void)store_outbox_list(s->st, OB_QUEUED, 0, &ov, &no);
	(void)store_inbox_list(s->st, false, &iv, &ni);
	for (i = 0; i < nm; i++) {
		if (mv[i]->state != MS_SCHEDULED)
			continue;
		if (mv[i]->start >= now && mv[i]->start < now + DIGEST_AHEAD)
			list_add(ahead, meeting_line(s, mv[i], cv, nc));
		else if (mv[i]->end <= now && mv[i]->end > now - DIGEST_AHEAD)
			list_add(past, meeting_line(s, mv[i], cv, nc));
	}
	for (i = 0; i < ni; i++) {
		char *c = contact_line(cv, nc, iv[i].contact_id);

		list_add(waiting, xasprintf("%s: %s", c, iv[i].reason));
		free(c);
	}
	for (i = 0; i < no; i++) {
		struct compose_list *l = ov[i]->kind == OK_FOLLOWUP ? fu :
		    ov[i]->kind == OK_KEEP ? keep : NULL;
		char *c, *w;

		if (l == NULL || ov[i]->due >= now + DIGEST_AHEAD)
			continue;
		c = contact_line(cv, nc, ov[i]->contact_id);
		w = ov[i]->due <= now ? xstrdup("now") : when_of(s, ov[i]->due);
		list_add(l, xasprintf("%s, %s", c, w));
		free(c);
		free(w);
	}
	/* Per field: those interviewed or thanked, as `status` counts. */
	for (i = 0; i < nc; i++) {
		const char *f = cv[i]->field;
		int done = 0;

		if (str_empty(f))
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(cv[j]->field, f) == 0)
				break;
		if (j < i)
			continue;       /* counted with its first contact */
		for (j = i; j < nc; j++)
			if (strcmp(cv[j]->field, f) == 0 &&
			    lifecycle_interviewed(cv[j]->state))
				done++;
		list_add(fields, xasprintf("%s: %d of %d interviews%s", f, done,
		    goal, done >= goal ? " - reached" : ""));
	}
	store_contacts_free(cv, nc);
	store_meetings_free(mv, nm);
	store_outbox_rows_free(ov, no);
	store_inbox_items_free(iv, ni);
}

void
sched_keep_vars(struct sched *s, const struct outbox_row *row,
    const struct contact *c, struct keep_vars *k)
{
	time_t since;

	if (row->kind == OK_DIGEST) {
		digest_vars(s, k);
		return;
	}
	if (c == NULL || (row->kind != OK_KEEP &&
	    row->kind != OK_UPDATE))
		return;
	/* The update carries its reminder's start of the clock. */
	since = row->kind == OK_UPDATE && !str_empty(row->param) ?
	    (time_t)strtoll(row->param, NULL, 10) :
	    row->due - s->cfg->thankyou.keep_in_touch;
	keep_news(s, c, since, k);
}

/* Queues the drafted update unless this reminder already did. */
static int
queue_update(struct sched *s, const struct outbox_row *row,
    const struct contact *c, time_t since)
{
	struct outbox_row **rows = NULL;
	size_t n = 0, i;
	char param[32];
	int r;

	if ((r = store_outbox_list_kind(s->st, OK_UPDATE, c->id, &rows, &n)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if (rows[i]->kind == OK_UPDATE &&
		    rows[i]->created >= row->due &&
		    rows[i]->state != OB_CANCELLED)
			break;
	store_outbox_rows_free(rows, n);
	if (i < n)
		return 0;               /* a retry of the same reminder */
	snprintf(param, sizeof(param), "%lld", (long long)since);
	return plan_queue_row(s->st, s->cfg, OK_UPDATE, c, 0, false, util_now(),
	    param);
}

/* The row waits until wrote + every: they were written to meanwhile. */
static int
keep_deferred(struct sched *s, const struct outbox_row *row,
    const struct contact *c, time_t until, const char *msg)
{
	int r;

	if ((r = store_outbox_defer(s->st, row->id, until)) < 0)
		return r;
	return store_event_add(s->st, c->id, "keepintouch", msg);
}

int
sched_keep_due(struct sched *s, struct outbox_row *row,
    const struct contact *c)
{
	long every = s->cfg->thankyou.keep_in_touch;
	time_t since = row->due - every, wrote = 0, now = util_now();
	char *msg;
	int r;

	if (row->kind != OK_KEEP || c == NULL)
		return 0;
	if (every <= 0 || c->state != CS_THANKED) {
		struct outbox_change ch = { .error = every <= 0 ?
		    "keep_in_touch is off" : "the contact is no longer thanked" };

		r = STORE_TX(s->st, lifecycle_outbox_move(s->st, row,
		    OB_CANCELLED, &ch));
		return r < 0 ? r : 1;
	}
	if (sched_user_wrote_since(s, c, since, &wrote) > 0 &&
	    wrote + every > now) {
		char *d = when_of(s, wrote + every);

		log_info("mail to %s found in the Sent folder; keeping in "
		    "touch again on %s", c->email, d);
		msg = xasprintf("keep in touch: you wrote to them; next "
		    "reminder %s", d);
		r = STORE_TX(s->st, keep_deferred(s, row, c, wrote + every, msg));
		free(msg);
		free(d);
		return r < 0 ? r : 1;
	}
	if (wrote > since)
		since = wrote;
	r = STORE_TX(s->st, queue_update(s, row, c, since));
	return r < 0 ? r : 0;
}
