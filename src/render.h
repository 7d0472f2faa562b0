/*
 * render.h - one outbox row to the bytes that are sent. Domain layer: the
 * daemon renders each queued row with it, and `infoviewctl preview`
 * renders a row made up for the contact and template asked for, so the
 * preview shows the very bytes the daemon would send (apart from Date and
 * Message-ID, and the calendar part, which preview leaves out).
 */
#ifndef IV_RENDER_H
#define IV_RENDER_H

#include <stdbool.h>
#include <time.h>

#include "compose.h"
#include "config.h"
#include "invite.h"
#include "store.h"

struct render_ctx;

struct render_env {
	struct store *st;
	const struct config *cfg;
	const struct tmplset *ts;
	/* Writes the iCalendar part of invitations, reschedules and
	 * cancellations (the daemon passes invite_build); NULL leaves the
	 * part out (preview: infoviewctl does not link the calendar
	 * library). */
	int (*calendar)(const char *method, const struct invite_event *ev,
	    char **ret, char **ret_err);
	/* What only the daemon knows, added after the row's own variables
	 * (render_extra, x->keep): the reminders' reasons naming the Drafts
	 * folder found on the server, keep-in-touch news, the digest. NULL
	 * in preview. */
	void (*daemon_vars)(void *arg, const struct outbox_row *row,
	    struct render_ctx *x);
	void *daemon_arg;
};

/* Variables given as lists and scalars (keep-in-touch news, the
 * digest): filled by the daemon, freed with render_keep_vars_done. */
struct keep_vars {
	struct compose_list lists[6];
	size_t n_lists;
	struct kvpair scalars[4];
	size_t n_scalars;
};
void render_keep_vars_done(struct keep_vars *k);

/* Everything a row needs besides the template: loaded by render_row,
 * freed by render_ctx_done (also after a failure). */
struct render_ctx {
	struct contact *contact;
	struct contact *referrer;
	struct meeting *meeting;
	struct offered_slot *slots;
	size_t n_slots;
	time_t *slot_starts;            /* outreach: to store with the row */
	char *root, *subject, *last, *refs;
	struct kvpair extra[8];
	size_t n_extra;
	struct inbox_item *item;
	char *thread;
	struct keep_vars keep;          /* keepintouch, update, digest */
};

/* Renders row into *out (compose_done frees it) with what it needs in *x
 * (render_ctx_done frees it, also after a failure). -ENODATA: a required
 * value is empty (the row is held; *ret_err names each); -EINVAL: a kind
 * without a template; else the store's or composer's error. */
int render_row(const struct render_env *env, const struct outbox_row *row,
    struct render_ctx *x, struct composed *out, char **ret_err);
void render_ctx_done(struct render_ctx *x);
/* Adds a variable for the template (value is taken; dropped past the
 * room there is). */
void render_extra(struct render_ctx *x, const char *key, char *value);

/* The outbox kind a template file ("outreach.txt") is sent as, and
 * whether that kind goes to the user; -ENOENT for no such template. */
int render_kind_of(const char *template, enum outbox_kind *ret,
    bool *ret_to_user);

#endif
