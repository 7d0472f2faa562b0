/*
 * connections.c - the daemon's two mail server connections (see
 * connections.h): the SMTP handle and its rest when nothing is due, the
 * IMAP connection with its backoff, IDLE around the main loop's wait, and
 * the liveness checks that replace a connection that stopped answering
 * (infoviewd.conf(5), imap.idle_refresh).
 *
 * IMAP: connect (LOGIN; Sent and Drafts found by account.c, a missing one
 * said once: log, `status`, `infoviewctl inbox`, one notice) -> IDLE
 * while waiting -> DONE when the wait ends, answered within LIVENESS_ANSWER -> commands of
 * the pass -> IDLE again. Any failed command drops the connection
 * (conn_imap_lost); the next pass reconnects, at once when the session had
 * lived a while, with a growing backoff when connecting itself fails.
 *
 * Liveness: whatever the server sends counts as a sign of life, its own
 * keepalives during IDLE too (Dovecot's "* OK Still here" every 2
 * minutes), which are read without ending IDLE. A server silent for
 * LIVENESS_QUIET is asked (DONE, or NOOP when not idling) and must answer
 * within LIVENESS_ANSWER; IDLE is also ended and issued again every
 * imap.idle_refresh. None of this wakes the pass: the main loop runs it
 * only for new mail, a wake-up, or its own due time (sched_pass).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "connections.h"
#include "folders.h"
#include "notify.h"
#include "plan.h"
#include "sched_int.h"
#include "util.h"

#define FOLDER_PROBLEM_KEY      "imap.folder_problem"  /* status key */

#define LIVENESS_QUIET          150         /* a silent server is asked:
                                               past Dovecot's 2 minutes */
#define LIVENESS_ANSWER         30          /* and must answer within */
#define RECONNECT_QUICK         30          /* a connection that lived this
                                               long is replaced at once */
#define SMTP_IDLE_CLOSE         120         /* close SMTP when idle longer */

void
conn_set_health(struct sched *s, const char *what, const char *health,
    const char *err)
{
	char key[64];

	/* Shown by `infoviewctl status`; the next change writes it again. */
	snprintf(key, sizeof(key), "%s.health", what);
	(void)store_kv_set(s->st, key, health);
	snprintf(key, sizeof(key), "%s.last_error", what);
	if (err != NULL)
		(void)store_kv_set(s->st, key, err);
}

/* ---- SMTP ---------------------------------------------------------------- */

int
conn_smtp_ready(struct sched *s, char **ret_err)
{
	if (s->smtp != NULL)
		return 0;
	return account_smtp_open(s->cfg, &s->smtp, ret_err);
}

/* Nothing to send for a while: close the SMTP connection (the server
 * would drop it anyway) and give its TLS state, which holds a parsed copy
 * of the system trust store, back to the system. */
static void
smtp_rest(struct sched *s)
{
	if (s->smtp == NULL)
		return;
	smtp_free(s->smtp);
	s->smtp = NULL;
	s->worked = true;
}

time_t
conn_smtp_idle(struct sched *s, time_t now, time_t send_next)
{
	/* Nothing to send for two minutes (whatever else wakes us meanwhile,
	 * such as the IMAP liveness checks): SMTP rests. */
	if (s->smtp == NULL || (send_next != 0 && send_next - now <
	    SMTP_IDLE_CLOSE) || s->smtp_since == 0)
		s->smtp_since = s->smtp != NULL ? now : 0;
	else if (now - s->smtp_since >= SMTP_IDLE_CLOSE) {
		smtp_rest(s);
		s->smtp_since = 0;
	}
	return s->smtp_since != 0 ? s->smtp_since + SMTP_IDLE_CLOSE : 0;
}

/* ---- IMAP ---------------------------------------------------------------- */

/* Drops the IMAP connection (LOGOUT when it is still there). */
static void
drop_imap(struct sched *s)
{
	imap_free(s->imap);
	s->imap = NULL;
	s->imap_idling = false;
	util_freep(&s->box_sent);
	util_freep(&s->box_drafts);
}

void
conn_disconnect(struct sched *s)
{
	drop_imap(s);
	smtp_free(s->smtp);
	s->smtp = NULL;
}

/* The first inbox connection succeeded or failed clearly: the daemon is
 * ready (systemd), before any catch-up on mail that arrived meanwhile. */
static void
settle(struct sched *s, const char *status)
{
	if (s->inbox_settled)
		return;
	s->inbox_settled = true;
	if (!s->once)
		notify_ready(status);
}

/* One inbox item and one notice to the user (sent like every notice,
 * whatever the limits), in one transaction. */
static int
tell_user(struct sched *s, const char *problem)
{
	int64_t item;
	char param[32];
	int r;

	if ((r = store_inbox_add(s->st, 0, "config", problem, "", &item)) < 0)
		return r;
	snprintf(param, sizeof(param), "%lld", (long long)item);
	return plan_queue_row(s->st, s->cfg, OK_NOTICE, NULL, 0, true,
	    util_now(), param);
}

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
		if (STORE_TX(s->st, tell_user(s, problem)) < 0)
			log_warnx("could not record a notice about: %s", problem);
	}
	free(old);
}

static int
find_folders(struct sched *s, char **ret_err)
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
conn_imap_failed(struct sched *s, const char *what, int r, const char *err)
{
	char *problem;

	if (s->imap == NULL)
		return true;
	if (!imap_usable(s->imap) || r == -ENOTCONN) {
		conn_imap_lost(s, what, err);
		return true;
	}
	/* The server said NO: the folder is gone or refuses us. Said once;
	 * the connection is fine. */
	problem = xasprintf("IMAP %s: %s", what, err ? err : strerror(-r));
	folder_problem(s, problem);
	free(problem);
	return false;
}

int
conn_imap_ready(struct sched *s)
{
	char *err = NULL;
	time_t now = util_now();
	int r;

	if (s->imap != NULL)
		return 0;
	if (now < s->imap_retry_at)
		return -EAGAIN;
	if ((r = account_imap_connect(s->cfg, &s->imap, &err)) < 0)
		goto fail;
	if ((r = find_folders(s, &err)) < 0) {
		drop_imap(s);
		goto fail;
	}
	s->imap_backoff = 0;
	s->imap_heard = s->imap_connected_at = util_now();
	conn_set_health(s, "imap", "ok", NULL);
	log_info("connected to IMAP server %s:%d", s->cfg->imap.host,
	    s->cfg->imap.port);
	settle(s, "watching the inbox");
	return 0;
fail:
	s->imap_backoff = s->imap_backoff ? s->imap_backoff * 2 : 5;
	if (s->imap_backoff > BACKOFF_MAX / 4)
		s->imap_backoff = BACKOFF_MAX / 4;
	s->imap_retry_at = now + s->imap_backoff;
	log_warnx("IMAP %s:%d: %s (retrying in %s)", s->cfg->imap.host,
	    s->cfg->imap.port, err ? err : strerror(-r),
	    util_format_duration(s->imap_backoff));
	conn_set_health(s, "imap", "error", err ? err : strerror(-r));
	settle(s, "inbox unreachable; retrying");
	free(err);
	return r;
}

void
conn_imap_lost(struct sched *s, const char *what, const char *err)
{
	time_t now = util_now();

	log_warnx("IMAP %s failed: %s; reconnecting", what, err ? err : "error");
	conn_set_health(s, "imap", "error", err);
	drop_imap(s);
	/* A session that ran for a while (a BYE after hours, a silent
	 * server) is replaced at once; one that fails right after connecting
	 * waits a little, so a server that hangs up on us is not hammered. */
	s->imap_retry_at = now - s->imap_connected_at >= RECONNECT_QUICK ? now :
	    now + 2;
	s->inbox_dirty = true;
}

void
conn_imap_heard(struct sched *s)
{
	if (s->imap != NULL)
		s->imap_heard = util_now();
}

/* ---- liveness ------------------------------------------------------------ */

/* How long the server may stay silent before it is asked whether it is
 * still there, and how long it then has to answer (infoviewd.conf(5),
 * imap.idle_refresh): together the 3 minutes in which a connection that
 * stopped answering is replaced. */
static long
liveness_quiet(const struct sched *s)
{
	return s->cfg->imap.idle_refresh < LIVENESS_QUIET ?
	    s->cfg->imap.idle_refresh : LIVENESS_QUIET;
}

static long
liveness_answer(const struct sched *s)
{
	return s->cfg->imap.idle_refresh < LIVENESS_ANSWER ?
	    s->cfg->imap.idle_refresh : LIVENESS_ANSWER;
}

/* Nothing heard for a while, or IDLE running for idle_refresh: ends IDLE
 * (DONE is the question; the main loop issues it again) or, when not
 * idling, a NOOP; either must be answered within liveness_answer, else
 * the connection is replaced. */
bool
conn_check_alive(struct sched *s)
{
	char *err = NULL;
	time_t now = util_now();
	long old;
	int r;

	if (s->imap == NULL)
		return false;
	if (s->imap_idling && now >= s->imap_idle_since +
	    s->cfg->imap.idle_refresh)
		return conn_idle_end(s);
	if (now - s->imap_heard < liveness_quiet(s))
		return false;
	if (s->imap_idling)
		return conn_idle_end(s);
	old = imap_set_timeout(s->imap, liveness_answer(s));
	r = imap_noop(s->imap, &err);
	imap_set_timeout(s->imap, old);
	if (r < 0)
		conn_imap_lost(s, "NOOP", err);
	else
		s->imap_heard = util_now();
	free(err);
	return r < 0;
}

time_t
conn_check_at(const struct sched *s)
{
	time_t at;

	if (s->imap == NULL)
		return 0;
	at = s->imap_heard + liveness_quiet(s);
	if (s->imap_idling && s->imap_idle_since + s->cfg->imap.idle_refresh < at)
		at = s->imap_idle_since + s->cfg->imap.idle_refresh;
	return at;
}

/* ---- IDLE ---------------------------------------------------------------- */

int
conn_idle_begin(struct sched *s)
{
	char *err = NULL;

	if (s->imap_idling && s->imap != NULL)
		return imap_fd(s->imap);        /* still idling since last time */
	if (!s->cfg->imap.idle || s->imap == NULL || !imap_has_idle(s->imap) ||
	    s->inbox_dirty)
		return -1;
	if (imap_idle_start(s->imap, &err) < 0) {
		conn_imap_lost(s, "IDLE", err);
		free(err);
		return -2;              /* lost: the caller retries soon */
	}
	s->imap_idling = true;
	s->imap_idle_since = util_now();
	log_debug("IMAP IDLE started");
	return imap_fd(s->imap);
}

bool
conn_idle_pending(struct sched *s)
{
	return s->imap_idling && s->imap != NULL && imap_idle_ready(s->imap);
}

/* After reading IDLE's lines or DONE's answer: a failure loses the
 * connection (true); else the server was heard, and its news marks the
 * inbox to be read. */
static bool
idle_answered(struct sched *s, int r, char *err, bool news)
{
	if (r < 0) {
		conn_imap_lost(s, "IDLE", err);
		free(err);
		return true;
	}
	free(err);
	s->imap_heard = util_now();
	if (news)
		s->inbox_dirty = true;
	return false;
}

bool
conn_idle_read(struct sched *s)
{
	char *err = NULL;
	bool end, news;
	long old;
	int r;

	if (!s->imap_idling || s->imap == NULL)
		return true;
	/* a line begun must be finished soon, like an answer to DONE */
	old = imap_set_timeout(s->imap, liveness_answer(s));
	r = imap_idle_read(s->imap, &end, &news, &err);
	imap_set_timeout(s->imap, old);
	if (idle_answered(s, r, err, news))
		return true;
	if (end)
		(void)conn_idle_end(s);
	return end;
}

bool
conn_idle_end(struct sched *s)
{
	char *err = NULL;
	bool news = false;
	long old;
	int r;

	if (!s->imap_idling || s->imap == NULL)
		return false;
	s->imap_idling = false;
	/* DONE is also the liveness check: it must be answered soon */
	old = imap_set_timeout(s->imap, liveness_answer(s));
	r = imap_idle_done(s->imap, &news, &err);
	imap_set_timeout(s->imap, old);
	if (idle_answered(s, r, err, news))
		return true;
	return news;
}
