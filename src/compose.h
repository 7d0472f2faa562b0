/*
 * compose.h - from a contact, the config and a template to a complete
 * message ready for the outbox: builds the template variables of
 * infoviewd.conf(5) TEMPLATES, renders, and hands the result to
 * mime_build. Called through render.c by the daemon and by `infoviewctl
 * preview`, so both produce the same bytes.
 */
#ifndef IV_COMPOSE_H
#define IV_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "classify.h"
#include "config.h"
#include "store.h"
#include "template.h"

/* All message templates (and the question bank), loaded and checked.
 * The question bank's format is described at the top of compose.c. */
struct tmplset;

/* The template files of infoviewd.conf(5) TEMPLATES, NULL-terminated (questions.txt not
 * included: it is a question bank, not a message). */
extern const char *const compose_template_names[];

/* Loads every template from cfg->templates.dir (falling back to the
 * shipped dir) plus questions.txt, checks syntax and variable names
 * (builtins plus custom keys in extra_vars). All problems as
 * "FILE:LINE: message" lines. Returns 0 or -EINVAL. */
int compose_tmplset_load(const struct config *cfg,
    const char *const *extra_vars, struct tmplset **ret, char **ret_err);
void compose_tmplset_free(struct tmplset *t);
const struct template *compose_tmplset_get(const struct tmplset *t,
    const char *name);

/* A list of strings for a template ({{#name}}{{.}}{{/name}}). */
struct compose_list {
	const char *name;
	char **items;
	size_t n;
};

struct compose_req {
	const char *template;           /* "outreach.txt", ... */
	const struct contact *contact;  /* who it is about (may be NULL) */
	const char *referrer_email;     /* the referrer's address, or NULL */
	const char *referrer_name;      /* resolved referrer display name
	                                   (NULL: contact->referred_by) */
	bool to_user;                   /* addressed to the user, auto-generated */
	const char *message_id;         /* "<...>", fixed when queued (NULL:
	                                   a fresh one, for previews) */
	const char *in_reply_to;        /* threading, or NULL */
	const char *references;
	const char *thread_subject;     /* set: Subject = "Re: " + this */
	time_t date;                    /* 0: now */
	/* meeting_* variables, when start != 0 */
	time_t meeting_start, meeting_end;
	const char *meeting_location;
	/* {{notes}} and the {{topics}} list: the meeting's notes, or NULL */
	const char *notes;
	/* {{slots}} */
	const struct offered_slot *slots;
	size_t n_slots;
	time_t slot_length;             /* seconds, for "10:00-10:30" */
	/* further scalars for notices and briefs (reason, snippet, thread,
	 * ... see template_builtin_vars); set last, so they win */
	const struct kvpair *extra;
	size_t n_extra;
	/* lists of strings for digests and keep-in-touch messages */
	const struct compose_list *lists;
	size_t n_lists;
	/* iMIP calendar part: ics as given, or (ics_build set) built from the
	 * rendered text, so the calendar carries the message's own words
	 * (clients such as Thunderbird show only the calendar) */
	const char *ics, *ics_method;
	int (*ics_build)(void *arg, const char *text, char **ret_ics,
	    char **ret_err);
	void *ics_arg;
};

struct composed {
	char *raw;                      /* CRLF message */
	size_t len;
	char *subject;
	char *to_addr;                  /* envelope recipient */
	char *cc;                       /* extra recipients ("" if none) */
};
void compose_done(struct composed *c);

/*
 * Renders req. Times ({{slots}}, meeting_*) read in the reader's zone -
 * the contact's (contact->tz, else the user's) for mail to contacts, the
 * user's (identity.timezone, else the system's) for mail to the user -
 * with the other side's clock in parentheses when it differs. Custom
 * variables are set first and builtins win a clash, except that a
 * contact's own non-empty first_name variable replaces the derived one.
 * Returns 0; -ENODATA when a required variable is empty
 * (*ret_err = "contact x@y: missing first_name, company" — the message
 * must be held, not sent); -EINVAL for anything else, with the reason.
 */
int compose_build(const struct config *cfg, const struct tmplset *ts,
    const struct compose_req *req, struct composed *ret, char **ret_err);

#endif
