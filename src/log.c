/*
 * log.c - logging to stderr, journald-aware (see log.h).
 * Modelled on OpenSMTPD's log.c: one line per event, errno appended by the
 * _warn variants, fatal() only for out-of-memory and can't-happen.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_procname = "infoviewd";
static int log_verbose;
static int log_journal;

void
log_init(const char *procname, int verbose)
{
	log_procname = procname;
	log_verbose = verbose;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

/* Writes one line at syslog priority pri; errnum > 0 appends its text. */
static void IV_PRINTF(3, 0)
log_vline(int pri, int errnum, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t i;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line: never let a peer's words split our log. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = ' ';
	if (log_journal) {
		if (errnum > 0)
			fprintf(stderr, "<%d>%s: %s\n", pri, msg, strerror(errnum));
		else
			fprintf(stderr, "<%d>%s\n", pri, msg);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		if (errnum > 0)
			fprintf(stderr, "%s %s: %s: %s\n", ts, log_procname, msg,
			    strerror(errnum));
		else
			fprintf(stderr, "%s %s: %s\n", ts, log_procname, msg);
	}
	fflush(stderr);
}

#define LOG_BODY(pri, errnum) do {		\
	va_list ap;				\
	int saved = errno;			\
	va_start(ap, fmt);			\
	log_vline((pri), (errnum), fmt, ap);	\
	va_end(ap);				\
	errno = saved;				\
} while (0)

void log_warn(const char *fmt, ...)  { int e = errno; LOG_BODY(4, e); }
void log_warnx(const char *fmt, ...) { LOG_BODY(4, 0); }
void log_error(const char *fmt, ...) { LOG_BODY(3, 0); }

void
log_info(const char *fmt, ...)
{
	if (log_verbose >= 0)
		LOG_BODY(6, 0);
}

void
log_debug(const char *fmt, ...)
{
	if (log_verbose)
		LOG_BODY(7, 0);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(2, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(2, 0);
	exit(1);
}
