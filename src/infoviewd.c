/*
 * infoviewd.c - the daemon's main: options, `-t`, the event loop.
 *
 * One thread, one loop (ARCHITECTURE.md): the IMAP IDLE fd, the control
 * socket, a self-pipe for signals, and a timeout for the next due job. A
 * signal only sets a flag: SIGTERM/SIGINT let the message in flight
 * finish, SIGHUP reloads config and templates between passes.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "compose.h"
#include "config.h"
#include "folders.h"
#include "connections.h"
#include "control.h"
#include "notify.h"
#include "sched.h"
#include "store.h"
#include "util.h"

#define EXIT_CONFIG 78

static volatile int stop_requested;
static volatile int reload_requested;
static int signal_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	(void)write(signal_pipe[1], "s", 1);
	errno = saved;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: infoviewd [-c FILE] [--once] [-t [--online]] [-v] "
	    "[--version] [--help]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -t, --test         check configuration, templates and database\n"
	    "      --online       with -t: also sign in to both servers and "
	    "report\n"
	    "      --once         one pass: sync, process, send what is due; exit\n"
	    "  -v, --verbose      debug logging\n", config_default_path());
}

/* Custom variable keys in the database, NULL-terminated (for template
 * checks). The store may be NULL. */
static char **
custom_keys(struct store *st)
{
	char **keys = NULL;
	size_t n = 0;

	if (st == NULL || store_var_keys(st, &keys, &n) < 0)
		n = 0;
	keys = xreallocarray(keys, n + 1, sizeof(*keys));
	keys[n] = NULL;
	return keys;
}

static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Prints every line of a multi-line error text: plain to stderr for -t,
 * through the log (error priority under journald) otherwise. */
static void
print_problems(const char *text, bool plain)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, "\n");

		if (n > 0 && plain)
			fprintf(stderr, "%.*s\n", (int)n, p);
		else if (n > 0)
			log_error("%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* -t: config, templates, database; every problem, then exit 0 or 78. */
static int
check_only(const char *path)
{
	struct config *cfg = NULL;
	struct tmplset *ts = NULL;
	struct store *st = NULL;
	char *err = NULL, **keys;
	bool ok = true;

	if (config_load(path, &cfg, &err) < 0) {
		print_problems(err, true);
		free(err);
		return EXIT_CONFIG;
	}
	if (store_open(cfg->storage.database, &st, &err) < 0) {
		print_problems(err, true);
		util_freep(&err);
		ok = false;
	}
	keys = custom_keys(st);
	if (compose_tmplset_load(cfg, (const char *const *)keys, &ts,
	    &err) < 0) {
		print_problems(err, true);
		util_freep(&err);
		ok = false;
	}
	strv_free(keys);
	compose_tmplset_free(ts);
	store_close(st);
	config_free(cfg);
	if (!ok)
		return EXIT_CONFIG;
	printf("configuration OK\n");
	return 0;
}

/* "yes"/"no" in words for the online report. */
static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* A folder line of the online report. */
static void
print_folder(const char *what, const char *wire, const char *how)
{
	char *name;

	if (wire == NULL) {
		printf("  %s folder: not found\n", what);
		return;
	}
	name = folders_mutf7_decode(wire);
	printf("  %s folder: \"%s\" (%s)\n", what, name, how);
	free(name);
}

/* Whether the provider files sent mail into Sent itself, as far as known. */
static void
print_sent_copies(const struct config *cfg, struct store *st)
{
	char *key = account_sent_copies_key(cfg), *known = NULL;

	if (cfg->imap.save_sent != SAVE_SENT_AUTO)
		printf("  provider files sent mail into Sent itself: not asked "
		    "(imap.save_sent = %s: infoviewd %s)\n",
		    cfg->imap.save_sent == SAVE_SENT_TRUE ? "true" : "false",
		    cfg->imap.save_sent == SAVE_SENT_TRUE ? "keeps a copy" :
		    "keeps no copy");
	else if (st != NULL && store_kv_get(st, key, &known) == 0 &&
	    !str_empty(known))
		printf("  provider files sent mail into Sent itself: %s (learned "
		    "from an earlier message)\n", known);
	else
		printf("  provider files sent mail into Sent itself: not known "
		    "yet; learned after the first message (imap.save_sent = "
		    "\"auto\")\n");
	free(known);
	free(key);
}

/* --online: IMAP sign-in, capabilities, folders. Returns true when OK. */
static bool
online_imap(const struct config *cfg, struct store *st)
{
	struct account_folders f;
	struct imap_conn *c = NULL;
	char *err = NULL;
	bool ok = false;

	printf("IMAP %s:%d (%s, auth %s, user %s)\n", cfg->imap.host,
	    cfg->imap.port, cfg->imap.tls == IMAP_TLS_IMPLICIT ? "TLS" :
	    cfg->imap.tls == IMAP_TLS_STARTTLS ? "STARTTLS" : "no TLS",
	    config_auth_name(cfg->imap.auth), cfg->imap.user);
	if (account_imap_connect(cfg, &c, &err) < 0) {
		printf("  sign-in failed: %s\n", err ? err : "error");
		fprintf(stderr, "infoviewd: IMAP %s:%d: %s\n", cfg->imap.host,
		    cfg->imap.port, err ? err : "error");
		free(err);
		return false;
	}
	printf("  signed in\n");
	printf("  SASL mechanisms: %s\n", imap_sasl_mechs(c)[0] ?
	    imap_sasl_mechs(c) : "(none advertised)");
	printf("  IDLE: %s\n", yes_no(imap_has_idle(c)));
	printf("  SPECIAL-USE: %s\n", yes_no(imap_has_special_use(c)));
	if (account_folders(cfg, c, &f, &err) < 0) {
		printf("  LIST failed: %s\n", err ? err : "error");
		fprintf(stderr, "infoviewd: IMAP %s: %s\n", cfg->imap.host,
		    err ? err : "error");
		goto out;
	}
	print_folder("Sent", f.sent, f.sent_how);
	print_folder("Drafts", f.drafts, f.drafts_how);
	print_sent_copies(cfg, st);
	if (f.problem != NULL) {
		printf("  problem: %s\n", f.problem);
		fprintf(stderr, "infoviewd: %s\n", f.problem);
	} else
		ok = true;
	account_folders_done(&f);
out:
	free(err);
	imap_free(c);
	return ok;
}

/* --online: SMTP connection and sign-in, nothing sent. */
static bool
online_smtp(const struct config *cfg)
{
	struct smtp_conn *c = NULL;
	char *err = NULL;
	bool ok;

	printf("SMTP %s (auth %s, user %s)\n", cfg->smtp.url,
	    config_auth_name(cfg->smtp.auth), cfg->smtp.user);
	if (account_smtp_open(cfg, &c, &err) < 0 || smtp_check(c, &err) < 0) {
		if (err != NULL && c != NULL && smtp_auth_refused(c) &&
		    account_smtp_oauth(cfg)) {
			char *why = xasprintf("sign-in with an OAuth2 token (auth "
			    "= \"%s\") refused: %s",
			    config_auth_name(cfg->smtp.auth), err);

			free(err);
			err = why;
		}
		printf("  sign-in failed: %s\n", err ? err : "error");
		fprintf(stderr, "infoviewd: SMTP %s: %s\n", cfg->smtp.url,
		    err ? err : "error");
		ok = false;
	} else {
		printf("  signed in\n");
		ok = true;
	}
	if (c != NULL)
		printf("  SASL mechanisms: %s\n", smtp_sasl_mechs(c)[0] ?
		    smtp_sasl_mechs(c) : "(none advertised)");
	smtp_free(c);
	free(err);
	return ok;
}

/* -t --online: after the offline checks, sign in to both servers and
 * report; sends and changes nothing. Exit 0, or 1 with the server's
 * words. */
static int
check_online(const char *path)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	char *err = NULL;
	bool ok;

	if (config_load(path, &cfg, &err) < 0) {
		print_problems(err, true);
		free(err);
		return EXIT_CONFIG;
	}
	/* read-only: what an earlier run learned about Sent copies */
	if (access(cfg->storage.database, R_OK) == 0 &&
	    store_open(cfg->storage.database, &st, &err) < 0)
		util_freep(&err);
	ok = online_imap(cfg, st);
	ok = online_smtp(cfg) && ok;
	store_close(st);
	config_free(cfg);
	if (!ok)
		return 1;
	printf("online check OK\n");
	return 0;
}

/* Loads config and templates together; both or nothing. */
static int
load_all(const char *path, struct store *st, struct config **ret_cfg,
    struct tmplset **ret_ts)
{
	struct config *cfg = NULL;
	struct tmplset *ts = NULL;
	char *err = NULL, **keys;
	int r;

	if ((r = config_load(path, &cfg, &err)) < 0)
		goto fail;
	keys = custom_keys(st);
	r = compose_tmplset_load(cfg, (const char *const *)keys, &ts, &err);
	strv_free(keys);
	if (r < 0)
		goto fail;
	*ret_cfg = cfg;
	*ret_ts = ts;
	return 0;
fail:
	print_problems(err, false);
	free(err);
	config_free(cfg);
	return r;
}

/* SIGHUP: a bad new config is logged and the old one kept. */
static void
reload(const char *path, struct sched *s, struct store *st,
    struct config **cfg, struct tmplset **ts)
{
	struct config *ncfg;
	struct tmplset *nts;

	notify_reloading();
	log_info("reloading %s", path);
	if (load_all(path, st, &ncfg, &nts) < 0) {
		log_warnx("reload failed; still running with the previous "
		    "configuration");
		notify_ready("reload failed; previous configuration kept");
		return;
	}
	if (strcmp(ncfg->storage.database, (*cfg)->storage.database) != 0)
		log_warnx("storage.database changed; restart infoviewd to use it");
	sched_reload(s, ncfg, nts);
	compose_tmplset_free(*ts);
	config_free(*cfg);
	*cfg = ncfg;
	*ts = nts;
	log_info("configuration reloaded");
	notify_ready("configuration reloaded");
}

static void
record_start(struct store *st)
{
	char v[32];

	snprintf(v, sizeof(v), "%ld", (long)getpid());
	/* What `infoviewctl status` shows; not worth stopping for. */
	(void)store_kv_set(st, "daemon.pid", v);
	(void)store_kv_set(st, "daemon.started",
	    util_format_rfc3339(util_now(), v, sizeof(v)));
	(void)store_kv_set(st, "daemon.state", "running");
}

/* Waits for the pass's next due time, new mail, a wake-up or a signal:
 * true, the pass runs. A wake-up that only concerned the connection (a
 * keepalive read during IDLE, a silent server asked and answering, the
 * watchdog) returns false without ending IDLE: the pass, with its
 * database queries, does not run for it. */
static bool
wait_for_work(struct sched *s, int control_fd, time_t next, uint64_t wd_usec)
{
	struct pollfd pfd[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
	int idle_fd, n = 0, timeout_ms;
	time_t now = util_now(), until = next, check;
	long long wait_s;
	bool work = false;

	sched_rest(s);
	idle_fd = conn_idle_begin(s);
	if ((check = conn_check_at(s)) != 0 && check < until)
		until = check;
	if ((wait_s = (long long)(until - now)) < 0)
		wait_s = 0;
	timeout_ms = wait_s > 86400 ? 86400 * 1000 : (int)wait_s * 1000 + 50;
	if (wd_usec > 0 && (uint64_t)timeout_ms * 1000 > wd_usec / 2)
		timeout_ms = (int)(wd_usec / 2000);
	pfd[n].fd = signal_pipe[0];
	pfd[n++].events = POLLIN;
	pfd[n].fd = control_fd;
	pfd[n++].events = POLLIN;
	pfd[n].fd = idle_fd;
	pfd[n++].events = POLLIN;
	if (idle_fd >= 0 && conn_idle_pending(s))
		timeout_ms = 0;
	else if (idle_fd == -2 && timeout_ms > 2000)
		timeout_ms = 2000;      /* connection lost: reconnect soon */
	if (!stop_requested && !reload_requested &&
	    poll(pfd, (nfds_t)n, timeout_ms) < 0 && errno != EINTR)
		log_warn("poll");
	if (pfd[0].revents & POLLIN) {
		char b[16];

		while (read(signal_pipe[0], b, sizeof(b)) > 0)
			;
		work = true;
	}
	if (control_fd >= 0 && (pfd[1].revents & POLLIN)) {
		log_debug("woken by infoviewctl");
		control_drain(control_fd);
		work = true;
	}
	if (idle_fd >= 0 && ((pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) ||
	    conn_idle_pending(s)) && conn_idle_read(s))
		work = true;
	if (idle_fd == -2 || stop_requested || reload_requested ||
	    util_now() >= next)
		work = true;            /* -2: reconnect in the pass */
	if (!work && conn_check_alive(s))
		work = true;            /* new mail in the answer, or lost */
	if (work)
		(void)conn_idle_end(s);
	return work;
}

static int
run(const char *path, bool once)
{
	struct config *cfg = NULL;
	struct tmplset *ts = NULL;
	struct store *st = NULL;
	struct sched *s = NULL;
	char *err = NULL;
	int control_fd = -1, rc = 0;
	uint64_t wd_usec = notify_watchdog_usec();
	time_t next = 0;
	bool pass = true;

	/* A process that mostly waits: one malloc arena (there are no
	 * threads of ours), and a fixed mmap threshold, so that a large buffer
	 * (a message read whole) goes back to the system when freed instead
	 * of raising the threshold for good. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (load_all(path, NULL, &cfg, &ts) < 0)
		return EXIT_CONFIG;
	if (store_open(cfg->storage.database, &st, &err) < 0) {
		log_error("%s", err);
		free(err);
		rc = 1;
		goto out;
	}
	setup_signals();
	s = sched_new(cfg, ts, st, once);
	if (sched_recover(s) < 0) {
		log_error("%s: cannot recover the outbox: %s",
		    cfg->storage.database, store_errmsg(st));
		rc = 1;
		goto out;
	}
	if (!once) {
		control_fd = control_listen(cfg->storage.database);
		record_start(st);
		log_info("infoviewd %s started (database %s)", PACKAGE_VERSION,
		    cfg->storage.database);
	}
	while (!stop_requested) {
		if (pass) {
			next = sched_pass(s, &stop_requested);
			if (once)
				break;
			/* READY=1 went out when the inbox connection settled. */
			notify_status(sched_status_line(s));
			if (stop_requested)
				break;
		}
		pass = wait_for_work(s, control_fd, next, wd_usec);
		if (wd_usec > 0)        /* WatchdogSec= set: tell systemd */
			notify_watchdog();
		if (reload_requested) {
			reload_requested = 0;
			reload(path, s, st, &cfg, &ts);
			pass = true;
		}
	}
	if (!once) {
		notify_stopping();
		(void)store_kv_set(st, "daemon.state", "stopped");
		log_info("stopping");
	}
out:
	control_close(control_fd, cfg->storage.database);
	sched_free(s);
	store_close(st);
	compose_tmplset_free(ts);
	config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "test", no_argument, NULL, 't' },
		{ "online", no_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = config_default_path();
	bool once = false, test = false, online = false;
	int ch, verbose = 0;

	while ((ch = getopt_long(argc, argv, "c:tvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'o': once = true; break;
		case 't': test = true; break;
		case 'O': online = true; break;
		case 'v': verbose = 1; break;
		case 'V': printf("infoviewd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (online && !test)) {
		usage(stderr);
		return 2;
	}
	log_init("infoviewd", verbose);
	if (test && online) {
		int r = check_only(path);

		return r != 0 ? r : check_online(path);
	}
	if (test)
		return check_only(path);
	return run(path, once);
}
