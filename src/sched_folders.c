/*
 * sched_folders.c - the daemon's use of the Sent and Drafts folders:
 * finding them on each new IMAP connection (account.c), saying once when
 * one is missing (log, `status`, `infoviewctl inbox`) instead of treating
 * every refused APPEND as a lost connection, and the Sent copy of each
 * message to a contact (imap.save_sent in infoviewd.conf(5)): "auto"
 * learns after the first send whether the provider files submitted mail
 * into Sent itself, and appends a copy only where it does not.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "folders.h"
#include "sched_int.h"
#include "util.h"

#define FOLDER_PROBLEM_KEY      "imap.folder_problem"
#define SENT_DETECT_MS          10000   /* how long a server-filed copy
                                           may take to appear */
#define SENT_DETECT_STEP_MS     500

/* Says a folder problem once: the log, the status key and one inbox
 * item; the same problem again says nothing. NULL: all is well again. */
static void
folder_problem(struct sched *s, const char *problem)
{
	char *old = NULL;

	(void)store_kv_get(s->st, FOLDER_PROBLEM_KEY, &old);
	if (problem == NULL) {
		if (!str_empty(old)) {
			log_info("IMAP folders found again; %s resolved", old);
			(void)store_kv_set(s->st, FOLDER_PROBLEM_KEY, "");
		}
		free(old);
		return;
	}
	if (old == NULL || strcmp(old, problem) != 0) {
		log_warnx("%s", problem);
		(void)store_kv_set(s->st, FOLDER_PROBLEM_KEY, problem);
		(void)store_inbox_add(s->st, 0, "config", problem, "", NULL);
	}
	free(old);
}

int
sched_folders_find(struct sched *s, char **ret_err)
{
	struct account_folders f;
	char *sent, *drafts;
	int r;

	if ((r = account_folders(s->cfg, s->imap, &f, ret_err)) < 0)
		return r;
	sent = f.sent ? folders_mutf7_decode(f.sent) : NULL;
	drafts = f.drafts ? folders_mutf7_decode(f.drafts) : NULL;
	log_debug("imap: Sent folder %s%s%s%s, Drafts folder %s%s%s%s",
	    sent ? "\"" : "", sent ? sent : "none", sent ? "\" by " : "",
	    sent ? f.sent_how : "", drafts ? "\"" : "",
	    drafts ? drafts : "none", drafts ? "\" by " : "",
	    drafts ? f.drafts_how : "");
	free(sent);
	free(drafts);
	folder_problem(s, f.problem);
	free(s->box_sent);
	free(s->box_drafts);
	s->box_sent = f.sent;
	s->box_drafts = f.drafts;
	f.sent = f.drafts = NULL;
	account_folders_done(&f);
	return 0;
}

bool
sched_imap_failed(struct sched *s, const char *what, int r, const char *err)
{
	char *problem;

	if (s->imap == NULL)
		return true;
	if (!imap_usable(s->imap) || r == -ENOTCONN) {
		sched_imap_lost(s, what, err);
		return true;
	}
	/* The server said NO: the folder is gone or refuses us. Said once;
	 * the connection is fine. */
	problem = xasprintf("IMAP %s: %s", what, err ? err : strerror(-r));
	folder_problem(s, problem);
	free(problem);
	return false;
}

/* Sleeps ms milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Looks for message_id in Sent for up to SENT_DETECT_MS. 1 found,
 * 0 not found, <0 cannot tell (the connection failed). */
static int
find_in_sent(struct sched *s, const char *message_id)
{
	uint32_t *uids = NULL, uidvalidity, uidnext;
	size_t n = 0;
	char *err = NULL, *id;
	long waited = 0;
	int r = 0;

	/* SEARCH HEADER matches substrings: the id without <> is enough */
	id = xstrdup(message_id);
	if (id[0] == '<')
		memmove(id, id + 1, strlen(id));
	if (id[0] != '\0' && id[strlen(id) - 1] == '>')
		id[strlen(id) - 1] = '\0';
	for (;;) {
		if ((r = imap_examine(s->imap, s->box_sent, &uidvalidity,
		    &uidnext, &err)) < 0 ||
		    (r = imap_search_header(s->imap, "Message-ID", id, &uids,
		    &n, &err)) < 0)
			break;
		free(uids);
		uids = NULL;
		if (n > 0) {
			r = 1;
			break;
		}
		if (waited >= SENT_DETECT_MS) {
			r = 0;
			break;
		}
		nap(SENT_DETECT_STEP_MS);
		waited += SENT_DETECT_STEP_MS;
	}
	s->inbox_dirty = true;          /* re-EXAMINE the inbox next */
	if (r < 0)
		(void)sched_imap_failed(s, "Sent copy check", r, err);
	free(err);
	free(id);
	return r;
}

/* Whether to APPEND a copy under save_sent = auto: learned once per
 * account, after its first message, and remembered in the database. */
static bool
append_needed(struct sched *s, const char *message_id)
{
	char *key = account_sent_copies_key(s->cfg), *known = NULL;
	bool append = true;
	int r;

	if (store_kv_get(s->st, key, &known) == 0 && !str_empty(known)) {
		append = strcmp(known, "yes") != 0;
		goto out;
	}
	if ((r = find_in_sent(s, message_id)) < 0) {
		append = false; /* never two copies; ask again next time */
		goto out;
	}
	append = r == 0;
	(void)store_kv_set(s->st, key, append ? "no" : "yes");
	if (append)
		log_info("%s does not file sent mail into Sent itself; infoviewd "
		    "keeps a copy there (imap.save_sent = \"auto\")",
		    s->cfg->imap.host);
	else
		log_info("%s files sent mail into Sent itself; infoviewd will "
		    "not add copies (imap.save_sent = \"auto\")",
		    s->cfg->imap.host);
out:
	free(known);
	free(key);
	return append;
}

void
sched_save_sent(struct sched *s, const char *message_id, const char *raw,
    size_t len)
{
	char *err = NULL;
	int r;

	if (s->cfg->imap.save_sent == SAVE_SENT_FALSE ||
	    sched_imap_ready(s) < 0 || s->box_sent == NULL)
		return;
	if (s->cfg->imap.save_sent == SAVE_SENT_AUTO &&
	    !append_needed(s, message_id))
		return;
	if (s->imap == NULL)
		return;
	if ((r = imap_append(s->imap, s->box_sent, "\\Seen", raw, len,
	    &err)) < 0)
		(void)sched_imap_failed(s, "APPEND to Sent", r, err);
	free(err);
}
