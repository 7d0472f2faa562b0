/*
 * ivprobe.c - drives the smtp and imap modules from the transport tests.
 *
 *   ivprobe [-v] smtp-send URL TLS USER PASSFILE CAFILE FROM RCPT[,RCPT...]
 *           MSGFILE [COUNT]
 *   ivprobe [-v] imap-list   HOST PORT MODE USER PASSFILE CAFILE MAILBOX [AFTER]
 *   ivprobe [-v] imap-fetch  HOST PORT MODE USER PASSFILE CAFILE MAILBOX UID [MAX]
 *   ivprobe [-v] imap-search HOST PORT MODE USER PASSFILE CAFILE MAILBOX
 *           FIELD VALUE
 *   ivprobe [-v] imap-append HOST PORT MODE USER PASSFILE CAFILE MAILBOX
 *           FLAGS MSGFILE
 *   ivprobe [-v] imap-idle   HOST PORT MODE USER PASSFILE CAFILE MAILBOX SECONDS
 *
 * TLS is "required" or "none"; MODE is "implicit", "starttls" or "plain".
 * USER, PASSFILE and CAFILE may be "-" for none. The password is read from
 * a file so that it never shows in a process listing. IVPROBE_TIMEOUT sets
 * the timeout in seconds (default 10).
 *
 * Prints "ok ..." (and the results) and exits 0, or prints
 * "error ENAME: text" and exits 1. smtp-send sends the message COUNT times
 * over one connection and reports "ok connections=N".
 * imap-idle prints "idling" once IDLE is running, then "new mail" or
 * "no new mail".
 */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap.h"
#include "smtp.h"
#include "util.h"

#define MSG_MAX		(64u * 1024 * 1024)

static const char *
errname(int e)
{
	static const struct { int e; const char *name; } names[] = {
		{ EAGAIN, "EAGAIN" }, { EPERM, "EPERM" }, { EPROTO, "EPROTO" },
		{ EINVAL, "EINVAL" }, { ECONNREFUSED, "ECONNREFUSED" },
		{ ETIMEDOUT, "ETIMEDOUT" }, { EHOSTUNREACH, "EHOSTUNREACH" },
		{ ECONNRESET, "ECONNRESET" }, { EBADMSG, "EBADMSG" },
		{ ENOENT, "ENOENT" }, { EIO, "EIO" }, { EFBIG, "EFBIG" },
		{ ENOTCONN, "ENOTCONN" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ EACCES, "EACCES" }, { EDQUOT, "EDQUOT" },
		{ EKEYREVOKED, "EKEYREVOKED" },
	};
	size_t i;

	for (i = 0; i < nitems(names); i++)
		if (names[i].e == e)
			return names[i].name;
	return "E?";
}

/* Prints the failure and returns the exit status 1. */
static int
fail(int r, const char *err)
{
	printf("error %s: %s\n", errname(-r), err ? err : strerror(-r));
	fflush(stdout);
	return 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ivprobe [-v] smtp-send|imap-list|imap-fetch|"
	    "imap-search|imap-append|imap-idle ARGS (see ivprobe.c)\n");
	exit(2);
}

static const char *
dash_null(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

/* The password from path (trailing newline removed), NULL for "-". */
static char *
read_password(const char *path)
{
	char *pw;
	size_t len;
	int r;

	if (dash_null(path) == NULL)
		return NULL;
	if ((r = util_read_file(path, 4096, &pw, &len)) < 0) {
		fprintf(stderr, "ivprobe: %s: %s\n", path, strerror(-r));
		exit(2);
	}
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	return pw;
}

static char *
read_message(const char *path, size_t *ret_len)
{
	char *m;
	int r;

	if ((r = util_read_file(path, MSG_MAX, &m, ret_len)) < 0) {
		fprintf(stderr, "ivprobe: %s: %s\n", path, strerror(-r));
		exit(2);
	}
	return m;
}

static long
probe_timeout(void)
{
	const char *t = getenv("IVPROBE_TIMEOUT");

	return t != NULL && atol(t) > 0 ? atol(t) : 10;
}

static void
forget_password(char *pw)
{
	if (pw != NULL) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
}

static int
cmd_smtp_send(int argc, char **argv)
{
	struct smtp_opts o;
	struct smtp_conn *c;
	char *pw, *msg, *rcptcopy, *w, *save = NULL, *err = NULL;
	const char **rcpts = NULL;
	size_t n_rcpts = 0, len;
	long count = 1, i;
	int r = 0;

	if (argc != 9 && argc != 10)
		usage();
	if (strcmp(argv[2], "required") != 0 && strcmp(argv[2], "none") != 0)
		usage();
	if (argc == 10 && (count = atol(argv[9])) < 1)
		usage();
	pw = read_password(argv[4]);
	msg = read_message(argv[8], &len);
	rcptcopy = xstrdup(argv[7]);
	for (w = strtok_r(rcptcopy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		rcpts = xreallocarray(rcpts, n_rcpts + 1, sizeof(*rcpts));
		rcpts[n_rcpts++] = w;
	}
	memset(&o, 0, sizeof(o));
	o.url = argv[1];
	o.tls_required = strcmp(argv[2], "required") == 0;
	o.user = dash_null(argv[3]);
	o.password = pw;
	o.ca_file = dash_null(argv[5]);
	o.timeout = probe_timeout();
	c = smtp_new(&o);
	forget_password(pw);

	for (i = 0; i < count && r == 0; i++)
		r = smtp_send(c, argv[6], rcpts, n_rcpts, msg, len, &err);
	if (r < 0)
		r = fail(r, err);
	else
		printf("ok connections=%ld\n", smtp_connections(c));
	smtp_free(c);
	free(err);
	free(rcpts);
	free(rcptcopy);
	free(msg);
	return r;
}

/* Connects per the six common IMAP arguments argv[1..6] and EXAMINEs
 * argv[7] unless examine is false. Exits 1 on failure. */
static struct imap_conn *
imap_open(char **argv, bool examine, uint32_t *ret_uidvalidity,
    uint32_t *ret_uidnext)
{
	struct imap_opts o;
	struct imap_conn *c;
	char *pw, *err = NULL;
	uint32_t v, n;
	int r;

	memset(&o, 0, sizeof(o));
	o.host = argv[1];
	o.port = atoi(argv[2]);
	if (strcmp(argv[3], "implicit") == 0)
		o.tls = IMAP_MODE_IMPLICIT;
	else if (strcmp(argv[3], "starttls") == 0)
		o.tls = IMAP_MODE_STARTTLS;
	else if (strcmp(argv[3], "plain") == 0)
		o.tls = IMAP_MODE_PLAIN;
	else
		usage();
	o.user = argv[4];
	pw = read_password(argv[5]);
	o.password = pw ? pw : "";
	o.ca_file = dash_null(argv[6]);
	o.timeout = probe_timeout();
	r = imap_connect(&o, &c, &err);
	forget_password(pw);
	if (r < 0)
		exit(fail(r, err));
	if (examine) {
		if ((r = imap_examine(c, argv[7], &v, &n, &err)) < 0)
			exit(fail(r, err));
		if (ret_uidvalidity != NULL)
			*ret_uidvalidity = v;
		if (ret_uidnext != NULL)
			*ret_uidnext = n;
	}
	return c;
}

static void
print_uids(const uint32_t *uids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("uid %u\n", uids[i]);
}

static int
cmd_imap_list(int argc, char **argv)
{
	struct imap_conn *c;
	uint32_t v = 0, next = 0, *uids = NULL;
	size_t n = 0;
	char *err = NULL;
	int r;

	if (argc != 8 && argc != 9)
		usage();
	c = imap_open(argv, true, &v, &next);
	r = imap_uids_after(c, argc == 9 ? (uint32_t)strtoul(argv[8], NULL,
	    10) : 0, &uids, &n, &err);
	if (r < 0)
		r = fail(r, err);
	else {
		printf("ok\nuidvalidity %u\nuidnext %u\n", v, next);
		print_uids(uids, n);
		printf("idle %s\n", imap_has_idle(c) ? "yes" : "no");
	}
	free(uids);
	free(err);
	imap_free(c);
	return r;
}

static int
cmd_imap_fetch(int argc, char **argv)
{
	struct imap_conn *c;
	char *msg = NULL, *err = NULL;
	size_t len = 0, max = MSG_MAX;
	int r;

	if (argc != 9 && argc != 10)
		usage();
	if (argc == 10)
		max = (size_t)strtoul(argv[9], NULL, 10);
	c = imap_open(argv, true, NULL, NULL);
	r = imap_fetch(c, (uint32_t)strtoul(argv[8], NULL, 10), max, &msg,
	    &len, &err);
	if (r < 0)
		r = fail(r, err);
	else {
		printf("ok %zu\n", len);
		fwrite(msg, 1, len, stdout);
	}
	free(msg);
	free(err);
	imap_free(c);
	return r;
}

static int
cmd_imap_search(int argc, char **argv)
{
	struct imap_conn *c;
	uint32_t *uids = NULL;
	size_t n = 0;
	char *err = NULL;
	int r;

	if (argc != 10)
		usage();
	c = imap_open(argv, true, NULL, NULL);
	r = imap_search_header(c, argv[8], argv[9], &uids, &n, &err);
	if (r < 0)
		r = fail(r, err);
	else {
		printf("ok\n");
		print_uids(uids, n);
	}
	free(uids);
	free(err);
	imap_free(c);
	return r;
}

static int
cmd_imap_append(int argc, char **argv)
{
	struct imap_conn *c;
	char *msg, *err = NULL;
	size_t len;
	int r;

	if (argc != 10)
		usage();
	msg = read_message(argv[9], &len);
	c = imap_open(argv, false, NULL, NULL);
	r = imap_append(c, argv[7], dash_null(argv[8]), msg, len, &err);
	if (r < 0)
		r = fail(r, err);
	else
		printf("ok\n");
	free(msg);
	free(err);
	imap_free(c);
	return r;
}

static int
cmd_imap_idle(int argc, char **argv)
{
	struct imap_conn *c;
	struct pollfd pfd;
	char *err = NULL;
	bool new_mail = false;
	time_t end;
	int r;

	if (argc != 9)
		usage();
	c = imap_open(argv, true, NULL, NULL);
	if ((r = imap_idle_start(c, &err)) < 0) {
		r = fail(r, err);
		goto out;
	}
	printf("idling\n");
	fflush(stdout);
	end = time(NULL) + atol(argv[8]);
	pfd.fd = imap_fd(c);
	pfd.events = POLLIN;
	while (!imap_idle_ready(c) && time(NULL) < end) {
		r = poll(&pfd, 1, 1000);
		if (r > 0)
			break;
	}
	if ((r = imap_idle_done(c, &new_mail, &err)) < 0) {
		r = fail(r, err);
		goto out;
	}
	printf("ok\n%s\n", new_mail ? "new mail" : "no new mail");
	r = 0;
out:
	free(err);
	imap_free(c);
	return r;
}

int
main(int argc, char **argv)
{
	int verbose = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argc--;
		argv++;
	}
	log_init("ivprobe", verbose);
	if (argc < 2)
		usage();
	argc--;
	argv++;
	if (strcmp(argv[0], "smtp-send") == 0)
		return cmd_smtp_send(argc, argv);
	if (strcmp(argv[0], "imap-list") == 0)
		return cmd_imap_list(argc, argv);
	if (strcmp(argv[0], "imap-fetch") == 0)
		return cmd_imap_fetch(argc, argv);
	if (strcmp(argv[0], "imap-search") == 0)
		return cmd_imap_search(argc, argv);
	if (strcmp(argv[0], "imap-append") == 0)
		return cmd_imap_append(argc, argv);
	if (strcmp(argv[0], "imap-idle") == 0)
		return cmd_imap_idle(argc, argv);
	usage();
	return 2;
}
