/*
 * render.c - one outbox row to the bytes that are sent: loads what the row
 * refers to (contact, referrer, meeting, thread, offered times, notes) and
 * composes the message, with its calendar part when the caller can write
 * one. infoviewd sends what this returns; `infoviewctl preview` prints
 * what it returns for a row made up for the contact, so a preview is the
 * message, not an imitation of it.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "render.h"
#include "util.h"

/* Each outbox kind's template, and whether the kind goes to the user;
 * the first kind listed for a template is the one preview renders. */
static const struct {
	enum outbox_kind kind;
	const char *file;
	bool to_user;
} kinds[] = {
	{ OK_OUTREACH, "outreach.txt", false },
	{ OK_FOLLOWUP, "followup.txt", false },
	{ OK_INVITE, "invite.txt", false },
	{ OK_RESCHEDULE, "reschedule.txt", false },
	{ OK_CANCEL, "cancel.txt", false },
	{ OK_PREP, "prep.txt", true },
	{ OK_DRAFT, "thankyou.txt", false },
	{ OK_REMINDER, "reminder.txt", true },
	{ OK_REFERRER, "reminder.txt", true },
	{ OK_NOTICE, "notice.txt", true },
	{ OK_KEEP, "keepintouch.txt", true },
	{ OK_UPDATE, "update.txt", false },
	{ OK_DIGEST, "digest.txt", true },
};

static const char *
template_of(enum outbox_kind kind)
{
	size_t i;

	for (i = 0; i < nitems(kinds); i++)
		if (kinds[i].kind == kind)
			return kinds[i].file;
	return NULL;
}

int
render_kind_of(const char *template, enum outbox_kind *ret,
    bool *ret_to_user)
{
	size_t i;

	for (i = 0; i < nitems(kinds); i++)
		if (strcmp(kinds[i].file, template) == 0) {
			if (ret_to_user != NULL)
				*ret_to_user = kinds[i].to_user;
			*ret = kinds[i].kind;
			return 0;
		}
	return -ENOENT;
}

void
render_keep_vars_done(struct keep_vars *k)
{
	size_t i, j;

	for (i = 0; i < k->n_lists; i++) {
		for (j = 0; j < k->lists[i].n; j++)
			free(k->lists[i].items[j]);
		free(k->lists[i].items);
	}
	for (i = 0; i < k->n_scalars; i++)
		free(k->scalars[i].value);
	memset(k, 0, sizeof(*k));
}

void
render_ctx_done(struct render_ctx *x)
{
	size_t i;

	store_contact_free(x->contact);
	store_contact_free(x->referrer);
	store_meeting_free(x->meeting);
	free(x->slots);
	free(x->slot_starts);
	free(x->root);
	free(x->subject);
	free(x->last);
	free(x->refs);
	for (i = 0; i < x->n_extra; i++)
		free(x->extra[i].value);
	if (x->item != NULL)
		store_inbox_items_free(x->item, 1);
	free(x->thread);
	render_keep_vars_done(&x->keep);
}

void
render_extra(struct render_ctx *x, const char *key, char *value)
{
	if (x->n_extra >= nitems(x->extra)) {
		free(value);
		return;
	}
	x->extra[x->n_extra].key = (char *)key;
	x->extra[x->n_extra++].value = value;
}

/* What the calendar of an invite/reschedule/cancel row is built from. */
struct ics_ctx {
	const struct render_env *env;
	struct render_ctx *x;
	const char *method;             /* REQUEST or CANCEL */
	const char *reason;             /* a cancellation's, or NULL */
};

/* Builds the iMIP calendar from the rendered text of the message: the
 * personal text goes into DESCRIPTION, a cancellation's reason into
 * COMMENT (compose_req.ics_build). */
static int
render_ics(void *arg, const char *text, char **ret_ics, char **ret_err)
{
	const struct ics_ctx *k = arg;
	const struct config *cfg = k->env->cfg;
	const struct render_ctx *x = k->x;
	struct invite_event ev = { 0 };
	char *summary;
	int r;

	summary = xasprintf("Informational interview: %s / %s",
	    cfg->identity.name, str_empty(x->contact->name) ?
	    x->contact->email : x->contact->name);
	ev.uid = x->meeting->uid;
	ev.sequence = x->meeting->sequence;
	ev.dtstamp = util_now();
	ev.start = x->meeting->start;
	ev.end = x->meeting->end;
	ev.summary = summary;
	ev.location = x->meeting->location;
	ev.description = text;
	ev.comment = k->reason;
	ev.organizer_name = cfg->identity.name;
	ev.organizer_email = cfg->identity.email;
	ev.attendee_name = x->contact->name;
	ev.attendee_email = x->contact->email;
	ev.alarm_minutes = strcmp(k->method, "CANCEL") == 0 ? 0 : 15;
	r = k->env->calendar(k->method, &ev, ret_ics, ret_err);
	free(summary);
	return r;
}

#define EARLIER_NOTES_MAX 5      /* meetings quoted in a prep brief */

/* Notes from earlier meetings with the contact or with people of the
 * same company or field, newest first, for the prep brief ("" if none). */
static char *
earlier_notes(const struct render_env *env, const struct contact *c,
    const struct meeting *m)
{
	struct meeting **v = NULL;
	struct buf b;
	size_t n = 0, i;

	buf_init(&b);
	if (store_meeting_notes_related(env->st, c, m->id, m->start,
	    EARLIER_NOTES_MAX, &v, &n) < 0)
		return buf_steal(&b);
	for (i = 0; i < n; i++) {
		struct contact *o = NULL;
		char day[32];
		const char *p;

		if (store_contact_get(env->st, v[i]->contact_id, &o) < 0)
			continue;
		tz_format(env->cfg->identity.timezone, v[i]->start, "%Y-%m-%d",
		    day, sizeof(day));
		buf_printf(&b, "%s%s, %s%s%s%s%s%s:\n", i ? "\n" : "", day,
		    str_empty(o->name) ? o->email : o->name,
		    str_empty(o->company) && str_empty(o->field) ? "" : " (",
		    o->company, !str_empty(o->company) && !str_empty(o->field) ?
		    ", " : "", o->field,
		    str_empty(o->company) && str_empty(o->field) ? "" : ")");
		/* Indented, so it reads as a quote under its heading. */
		buf_addstr(&b, "  ");
		for (p = v[i]->notes; *p != '\0'; p++) {
			buf_addch(&b, *p);
			if (*p == '\n' && p[1] != '\0')
				buf_addstr(&b, "  ");
		}
		if (b.len > 0 && b.data[b.len - 1] != '\n')
			buf_addch(&b, '\n');
		store_contact_free(o);
	}
	store_meetings_free(v, n);
	return buf_steal(&b);
}

/* Loads what the row refers to. */
static int
render_load(const struct render_env *env, const struct outbox_row *row,
    struct render_ctx *x, char **ret_err)
{
	size_t i;
	int r;

	if (row->contact_id != 0 &&
	    (r = store_contact_get(env->st, row->contact_id, &x->contact)) < 0) {
		*ret_err = xasprintf("queue %lld: its contact is gone",
		    (long long)row->id);
		return r;
	}
	if (x->contact != NULL && x->contact->referrer_id != 0)
		(void)store_contact_get(env->st, x->contact->referrer_id,
		    &x->referrer);              /* gone: no referrer */
	if (row->meeting_id != 0 &&
	    (r = store_meeting_get(env->st, row->meeting_id, &x->meeting)) < 0) {
		*ret_err = xasprintf("queue %lld: its meeting is gone",
		    (long long)row->id);
		return r;
	}
	if (x->contact != NULL && !row->to_user &&
	    store_outbox_thread(env->st, x->contact->id, &x->root, &x->subject,
	    &x->last) == 0) {
		char *reply = NULL;

		x->refs = strcmp(x->root, x->last) == 0 ? xstrdup(x->root) :
		    xasprintf("%s %s", x->root, x->last);
		/* Answer their newest reply, keeping the whole chain. */
		if (store_inbound_last_reply(env->st, x->contact->id, &reply) == 0) {
			char *refs = xasprintf("%s %s", x->refs, reply);

			free(x->refs);
			x->refs = refs;
			free(x->last);
			x->last = reply;
		}
	}
	if (row->kind == OK_OUTREACH) {
		if ((r = plan_slots(env->st, env->cfg, util_now(),
		    &x->slot_starts,
		    &x->n_slots)) < 0)
			return r;
	} else if (x->contact != NULL) {
		(void)store_slots_get(env->st, x->contact->id, /* none: none */
		    &x->slot_starts, &x->n_slots);
	}
	x->slots = xcalloc(x->n_slots ? x->n_slots : 1, sizeof(*x->slots));
	for (i = 0; i < x->n_slots; i++) {
		x->slots[i].n = (int)i + 1;
		x->slots[i].start = x->slot_starts[i];
	}
	if (row->kind == OK_NOTICE && !str_empty(row->param) &&
	    store_inbox_get(env->st, strtoll(row->param, NULL, 10), &x->item) == 0) {
		render_extra(x, "reason", xstrdup(x->item->reason));
		render_extra(x, "snippet", xstrdup(x->item->snippet));
	}
	if (row->kind == OK_PREP && x->contact != NULL &&
	    store_inbound_thread(env->st, x->contact->id, 5, &x->thread) == 0)
		render_extra(x, "thread", xstrdup(x->thread));
	if (row->kind == OK_PREP && x->contact != NULL &&
	    x->meeting != NULL)
		render_extra(x, "earlier_notes", earlier_notes(env, x->contact,
		    x->meeting));
	if (row->kind == OK_REFERRER && x->contact != NULL) {
		render_extra(x, "tell_referrer", xstrdup("yes"));
		render_extra(x, "reason", xasprintf("Tell %s how your conversation "
		    "with %s went: they made the introduction.",
		    x->referrer ? x->referrer->name : x->contact->referred_by,
		    str_empty(x->contact->name) ? x->contact->email :
		    x->contact->name));
	}
	if (env->daemon_vars != NULL)
		env->daemon_vars(env->daemon_arg, row, x);
	if (row->kind == OK_CANCEL && !str_empty(row->param))
		render_extra(x, "reason", xstrdup(row->param));
	return 0;
}

int
render_row(const struct render_env *env, const struct outbox_row *row,
    struct render_ctx *x, struct composed *out, char **ret_err)
{
	struct compose_req req = { 0 };
	struct ics_ctx ics = { 0 };
	bool threaded;
	int r;

	if ((req.template = template_of(row->kind)) == NULL) {
		*ret_err = xasprintf("queue %lld: unknown kind '%s'",
		    (long long)row->id, store_outbox_kind_name(row->kind));
		return -EINVAL;
	}
	if ((r = render_load(env, row, x, ret_err)) < 0)
		return r;
	threaded = !row->to_user && row->kind != OK_OUTREACH &&
	    x->root != NULL;
	req.contact = x->contact;
	req.referrer_email = x->referrer ? x->referrer->email :
	    x->contact != NULL && util_email_valid(x->contact->referred_by) ?
	    x->contact->referred_by : NULL;
	req.referrer_name = x->referrer ? x->referrer->name :
	    x->contact ? x->contact->referred_by : NULL;
	req.to_user = row->to_user;
	req.message_id = row->message_id;
	req.in_reply_to = threaded ? x->last : NULL;
	req.references = threaded ? x->refs : NULL;
	req.thread_subject = threaded && (row->kind == OK_FOLLOWUP ||
	    row->kind == OK_DRAFT) ? x->subject : NULL;
	req.date = util_now();
	if (x->meeting != NULL) {
		req.meeting_start = x->meeting->start;
		req.meeting_end = x->meeting->end;
		req.meeting_location = x->meeting->location;
		req.notes = x->meeting->notes;
	}
	req.slots = x->slots;
	req.n_slots = x->n_slots;
	req.slot_length = env->cfg->meeting.duration;
	req.extra = x->extra;
	req.n_extra = x->n_extra;
	req.lists = x->keep.lists;
	req.n_lists = x->keep.n_lists;
	if (env->calendar != NULL && x->meeting != NULL && x->contact != NULL &&
	    (row->kind == OK_INVITE || row->kind == OK_RESCHEDULE ||
	    row->kind == OK_CANCEL)) {
		ics.env = env;
		ics.x = x;
		ics.method = row->kind == OK_CANCEL ? "CANCEL" : "REQUEST";
		ics.reason = row->kind == OK_CANCEL &&
		    !str_empty(row->param) ? row->param : NULL;
		req.ics_build = render_ics;
		req.ics_arg = &ics;
		req.ics_method = ics.method;
	}
	return compose_build(env->cfg, env->ts, &req, out, ret_err);
}
