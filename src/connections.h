/*
 * connections.h - the daemon's two mail server connections: opening the
 * SMTP handle and letting it rest when nothing is due, connecting to IMAP
 * with backoff, dropping a connection that failed, IMAP IDLE around the
 * main loop's wait, and the liveness checks that notice a server that
 * stopped answering (infoviewd.conf(5), imap.idle_refresh). Health is
 * written for `infoviewctl status`. Daemon only.
 */
#ifndef IV_CONNECTIONS_H
#define IV_CONNECTIONS_H

#include <stdbool.h>
#include <time.h>

struct sched;

/* Shown by `infoviewctl status` as what.health ("imap" or "smtp") and
 * what.last_error (kept when err is NULL). */
void conn_set_health(struct sched *s, const char *what, const char *health,
    const char *err);

/* Opens the SMTP handle (smtp.c makes and reuses the connections).
 * 0, or a negative errno with *ret_err. */
int conn_smtp_ready(struct sched *s, char **ret_err);
/* SMTP bookkeeping at the end of a pass: nothing to send for two minutes
 * (send_next: when the next message is due, 0 none) and the handle rests.
 * Returns when it will rest (0: not open). */
time_t conn_smtp_idle(struct sched *s, time_t now, time_t send_next);

/* Connects to IMAP unless connected or backing off: 0 when there is a
 * connection, -EAGAIN while backing off, else the error. */
int conn_imap_ready(struct sched *s);
/* After a failed IMAP command: drop the connection, retry soon. */
void conn_imap_lost(struct sched *s, const char *what, const char *err);
/* After an IMAP command on a folder failed: a lost connection is dropped
 * (true), a refusal (no such folder) reported once and kept (false). */
bool conn_imap_failed(struct sched *s, const char *what, int r,
    const char *err);
/* The server just answered (a sync went through). */
void conn_imap_heard(struct sched *s);
/* Nothing heard from the server for a while: asks it whether it is still
 * there (DONE when idling, else NOOP) and replaces the connection when it
 * does not answer in time; IDLE running for imap.idle_refresh is ended
 * the same way (the main loop issues it again). True when a pass is
 * wanted: the connection was lost, or the answer reported new mail. */
bool conn_check_alive(struct sched *s);
/* When conn_check_alive has something to do: the server, silent since it
 * was last heard, is to be asked, or IDLE is to be issued again (it may
 * be past); 0 when not connected. */
time_t conn_check_at(const struct sched *s);
/* Drops both connections; the next pass reconnects (SIGHUP, exit). */
void conn_disconnect(struct sched *s);

/* IMAP IDLE around the main loop's poll: begin returns the fd to poll
 * (-1 when not idling: no connection, or no IDLE support; -2 when the
 * connection was just lost: wait only briefly), starting IDLE unless it
 * still runs; end sends DONE and reports whether new mail arrived or the
 * connection was lost. */
int conn_idle_begin(struct sched *s);
bool conn_idle_end(struct sched *s);
/* The fd was readable: reads what the server said. A keepalive (or a
 * change that needs nothing) is a sign of life: IDLE goes on, false. New
 * mail, anything else, or a lost connection end IDLE: true, a pass is
 * wanted. */
bool conn_idle_read(struct sched *s);
/* True when the server's news already sits in our buffer (poll would not
 * see it): do not wait. */
bool conn_idle_pending(struct sched *s);

#endif
