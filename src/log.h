/*
 * log.h - the daemon's and the CLI's only way to speak to the operator.
 *
 * Under systemd (JOURNAL_STREAM set) lines carry sd-daemon priority
 * prefixes ("<3>" ... "<7>"); otherwise they are plain lines with a
 * timestamp. Library-like modules log at debug at most; lifecycle logs
 * each state change at info; sched and the mains decide what the user
 * sees. Secrets are never passed here.
 */
#ifndef IV_LOG_H
#define IV_LOG_H

#include <stdarg.h>

#define IV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define IV_NORETURN __attribute__((noreturn))

/* verbose: 0 = info and above, 1 = debug, -1 = warnings and errors only
 * (infoviewctl, which tells its user on stdout). procname prefixes plain
 * lines. */
void log_init(const char *procname, int verbose);

void log_warn(const char *fmt, ...) IV_PRINTF(1, 2);   /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) IV_PRINTF(1, 2);
void log_error(const char *fmt, ...) IV_PRINTF(1, 2);  /* priority 3, no errno */
void log_info(const char *fmt, ...) IV_PRINTF(1, 2);
void log_debug(const char *fmt, ...) IV_PRINTF(1, 2);
void fatal(const char *fmt, ...) IV_PRINTF(1, 2) IV_NORETURN;  /* with errno */
void fatalx(const char *fmt, ...) IV_PRINTF(1, 2) IV_NORETURN;

#endif
