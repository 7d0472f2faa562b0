/*
 * sched_folders.c - the daemon's use of the Sent folder (found on each
 * new IMAP connection by connections.c, which also says once when one is
 * missing instead of treating every refused APPEND as a lost connection):
 * whether the user already wrote to a contact (a thank-you written by
 * hand), and the Sent copy of each message to a contact
 * (imap.save_sent in infoviewd.conf(5)): "auto"
 * learns after the first send whether the provider files submitted mail
 * into Sent itself, and appends a copy only where it does not.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "folders.h"
#include "plan.h"
#include "mime.h"
#include "sched_int.h"
#include "util.h"

#define SENT_DETECT_MS          10000   /* how long a server-filed copy
                                           may take to appear */
#define SENT_DETECT_STEP_MS     500

/* Sleeps ms milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The header a rewriting server (Outlook.com, Exchange Online) keeps our
 * Message-ID in, on its copy in Sent. */
#define ORIGINAL_ID_HEADER      "X-Microsoft-Original-Message-ID"

/* The kv key that says the account's server rewrites Message-IDs and
 * keeps ours in ORIGINAL_ID_HEADER on its Sent copy. */
static char *
rewrites_key(const struct config *cfg)
{
	return xasprintf("sent_rewrites.%s@%s", cfg->imap.user, cfg->imap.host);
}

#define SENT_COPY_MAX           (1024 * 1024)   /* what we read of a copy */
#define CONTENT_CANDIDATES      5       /* newest copies compared */
#define CONTENT_DATE_SLACK      600     /* seconds between Date headers */

/* The first address in a header value: inside <> or the whole value. */
static char *
first_address(const char *v)
{
	const char *lt, *gt;

	if (v == NULL)
		return NULL;
	if ((lt = strchr(v, '<')) != NULL && (gt = strchr(lt, '>')) != NULL)
		return xstrndup(lt + 1, (size_t)(gt - lt - 1));
	while (*v == ' ' || *v == '\t')
		v++;
	return xstrdup(v);
}

/* A copy in the examined Sent folder that is our message by content:
 * the same subject and recipient, a Date within minutes, another
 * Message-ID (a server that rewrites ids without keeping ours). 1 with
 * *ret_uid, 0 none, <0 the connection failed. */
static int
find_by_content(struct sched *s, const char *raw, size_t len,
    uint32_t *ret_uid, char **ret_err)
{
	struct inmsg *ours = NULL, *m = NULL;
	uint32_t *uids = NULL;
	size_t n = 0, looked = 0, clen;
	char *perr = NULL, *to = NULL, *craw = NULL, *cto;
	int r = 0;

	if (raw == NULL ||
	    mime_parse_many_isolated(&raw, &len, 1, true, &ours, &perr) < 0 ||
	    ours == NULL || str_empty(ours->subject) ||
	    str_has_ctl(ours->subject, false) ||
	    (to = first_address(mime_inmsg_header(ours, "To"))) == NULL ||
	    !util_email_valid(to))
		goto out;
	if ((r = imap_search_header(s->imap, "To", to, &uids, &n,
	    ret_err)) < 0)
		goto out;
	while (n > 0 && r == 0 && looked++ < CONTENT_CANDIDATES) {
		n--;
		if ((r = imap_fetch(s->imap, uids[n], SENT_COPY_MAX, &craw,
		    &clen, ret_err)) < 0) {
			if (r == -EFBIG || r == -ENOENT)
				r = 0;
			continue;
		}
		util_freep(&perr);
		if (mime_parse_many_isolated((const char *const *)&craw, &clen,
		    1, true, &m, &perr) == 0 && m != NULL &&
		    m->subject != NULL && strcmp(m->subject, ours->subject) == 0 &&
		    m->message_id != NULL && (ours->message_id == NULL ||
		    strcmp(m->message_id, ours->message_id) != 0) &&
		    (cto = first_address(mime_inmsg_header(m, "To"))) != NULL) {
			if (strcasecmp(cto, to) == 0 && (m->date == 0 ||
			    ours->date == 0 || labs((long)(m->date - ours->date)) <=
			    CONTENT_DATE_SLACK)) {
				*ret_uid = uids[n];
				r = 1;
			}
			free(cto);
		}
		mime_inmsg_free(m);
		m = NULL;
		util_freep(&craw);
	}
out:
	mime_inmsg_free(ours);
	mime_inmsg_free(m);
	free(craw);
	free(uids);
	free(perr);
	free(to);
	return r;
}

/* Looks for message_id in Sent for up to wait_ms, under its own
 * Message-ID or, where the server rewrote it, in ORIGINAL_ID_HEADER, or
 * by content (find_by_content; raw NULL: not). 1 found (*ret_uid,
 * *ret_rewritten set), 0 not found, <0 cannot tell (the connection
 * failed). */
static int
find_in_sent(struct sched *s, const char *message_id, const char *raw,
    size_t len, long wait_ms, uint32_t *ret_uid, bool *ret_rewritten)
{
	static const char *const fields[] = { "Message-ID", ORIGINAL_ID_HEADER };
	uint32_t *uids = NULL, uidvalidity, uidnext;
	size_t n = 0, i;
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
		    &uidnext, &err)) < 0)
			break;
		for (i = 0; i < nitems(fields) && r == 0; i++) {
			if ((r = imap_search_header(s->imap, fields[i], id, &uids,
			    &n, &err)) < 0)
				break;
			if (n > 0) {
				*ret_uid = uids[n - 1];
				*ret_rewritten = i > 0;
				r = 1;
			}
			free(uids);
			uids = NULL;
		}
		if (r == 0 && (waited == 0 || waited >= wait_ms) &&
		    (r = find_by_content(s, raw, len, ret_uid, &err)) > 0)
			*ret_rewritten = true;
		if (r != 0 || waited >= wait_ms)
			break;
		nap(SENT_DETECT_STEP_MS);
		waited += SENT_DETECT_STEP_MS;
	}
	s->inbox_dirty = true;          /* re-EXAMINE the inbox next */
	if (r < 0)
		(void)conn_imap_failed(s, "Sent copy check", r, err);
	free(err);
	free(id);
	return r;
}

char *
sched_sent_assigned_id(struct sched *s, const char *message_id,
    const char *raw, size_t raw_len)
{
	char *key = rewrites_key(s->cfg), *known = NULL, *copy = NULL;
	char *err = NULL, *perr = NULL, *assigned = NULL;
	struct inmsg *m = NULL;
	const char *h;
	uint32_t uid = 0;
	bool rewritten = false;
	size_t len;
	int r;

	if (store_kv_get(s->st, key, &known) < 0 || strcmp(known, "yes") != 0 ||
	    conn_imap_ready(s) < 0 || s->box_sent == NULL)
		goto out;
	if (find_in_sent(s, message_id, raw, raw_len, SENT_DETECT_MS, &uid,
	    &rewritten) <= 0 || !rewritten)
		goto out;
	if ((r = imap_fetch(s->imap, uid, SENT_COPY_MAX, &copy, &len,
	    &err)) < 0) {
		if (r != -EFBIG)
			(void)conn_imap_failed(s, "Sent copy fetch", r, err);
		goto out;
	}
	if (mime_parse_isolated(copy, len, &m, &perr) == 0 &&
	    (h = mime_inmsg_header(m, "Message-ID")) != NULL) {
		while (*h == ' ' || *h == '\t')
			h++;
		if (*h == '<' && strchr(h, '>') != NULL &&
		    strchr(h, '>') - h < 250 && !str_has_ctl(h, false))
			assigned = xstrndup(h, (size_t)(strchr(h, '>') - h + 1));
	}
out:
	mime_inmsg_free(m);
	free(copy);
	free(err);
	free(perr);
	free(known);
	free(key);
	return assigned;
}

/* Whether to APPEND a copy under save_sent = auto: learned once per
 * account, after its first message, and remembered in the database. */
static bool
append_needed(struct sched *s, const char *message_id, const char *raw,
    size_t len)
{
	char *key = account_sent_copies_key(s->cfg), *known = NULL;
	bool append = true, rewritten = false;
	uint32_t uid = 0;
	int r;

	if (store_kv_get(s->st, key, &known) == 0 && !str_empty(known)) {
		append = strcmp(known, "yes") != 0;
		/* A provider that was slower than SENT_DETECT_MS the first
		 * time: one look without waiting, so that a copy it did file
		 * is never doubled. */
		if (append && (r = find_in_sent(s, message_id, NULL, 0, 0, &uid,
		    &rewritten)) != 0) {
			append = false;
			if (r > 0) {
				(void)store_kv_set(s->st, key, "yes");
				log_info("%s files sent mail into Sent itself after "
				    "all; infoviewd will not add copies",
				    s->cfg->imap.host);
			}
		}
		goto out;
	}
	if ((r = find_in_sent(s, message_id, raw, len, SENT_DETECT_MS, &uid,
	    &rewritten)) < 0) {
		append = false; /* never two copies; ask again next time */
		goto out;
	}
	append = r == 0;
	(void)store_kv_set(s->st, key, append ? "no" : "yes");
	if (rewritten) {
		char *rk = rewrites_key(s->cfg);

		log_info("%s rewrites the Message-ID of sent mail; infoviewd "
		    "learns the new ones from its copies in Sent",
		    s->cfg->smtp.url);
		(void)store_kv_set(s->st, rk, "yes");
		free(rk);
	}
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
	    conn_imap_ready(s) < 0 || s->box_sent == NULL)
		return;
	if (s->cfg->imap.save_sent == SAVE_SENT_AUTO &&
	    !append_needed(s, message_id, raw, len))
		return;
	if (s->imap == NULL)
		return;
	if ((r = imap_append(s->imap, s->box_sent, "\\Seen", raw, len,
	    &err)) < 0)
		(void)conn_imap_failed(s, "APPEND to Sent", r, err);
	free(err);
}

/* True when addr is one of the addresses in header value list
 * (case-insensitive, whole addresses only: "ali@x" is not "li@x"). */
static bool
header_has_address(const char *list, const char *addr)
{
	size_t n = strlen(addr);
	const char *p = list;

	while (p != NULL && (p = strcasestr(p, addr)) != NULL) {
		char before = p == list ? ' ' : p[-1], after = p[n];

		if (strchr(" \t<,:;\"", before) != NULL &&
		    strchr(" \t>,;\"", after) != NULL)
			return true;
		p += n;
	}
	return false;
}

#define SENT_CHECK_MAX 20       /* newest candidates looked at */

/* Checks the Sent folder for mail from the user to the contact after t
 * (a thank-you already written). 1 yes (with the Date of the newest such
 * message in *ret_when when not NULL), 0 no, <0 cannot tell. */
int
sched_user_wrote_since(struct sched *s, const struct contact *c, time_t t,
    time_t *ret_when)
{
	uint32_t *uids = NULL, uidvalidity, uidnext;
	size_t n = 0, looked = 0;
	char *err = NULL, *raw = NULL, *perr = NULL;
	size_t len;
	int found = 0, r;

	if (conn_imap_ready(s) < 0)
		return -EAGAIN;
	if (s->box_sent == NULL)
		return -ENOENT;         /* no Sent folder: said once already */
	if ((r = imap_examine(s->imap, s->box_sent, &uidvalidity, &uidnext,
	    &err)) < 0 ||
	    (r = imap_search_header(s->imap, "To", c->email, &uids, &n, &err)) < 0)
		goto out;
	/* Newest first; the search matches substrings, so check each. */
	while (n > 0 && !found && looked++ < SENT_CHECK_MAX) {
		struct inmsg *m = NULL;
		const char *to, *cc;

		n--;
		if ((r = imap_fetch(s->imap, uids[n], 1024 * 1024, &raw, &len,
		    &err)) < 0)
			break;
		if (mime_parse_isolated(raw, len, &m, &perr) == 0 && m->date > t) {
			to = mime_inmsg_header(m, "To");
			cc = mime_inmsg_header(m, "Cc");
			found = header_has_address(to, c->email) ||
			    header_has_address(cc, c->email);
			if (found && ret_when != NULL)
				*ret_when = m->date;
		}
		mime_inmsg_free(m);
		util_freep(&raw);
		util_freep(&perr);
	}
out:
	if (r < 0 && r != -EFBIG) {
		(void)conn_imap_failed(s, "Sent folder check", r, err);
		found = r;
	}
	s->inbox_dirty = true;          /* re-EXAMINE the inbox next */
	free(uids);
	free(err);
	return found;
}
