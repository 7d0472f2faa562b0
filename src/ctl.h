/*
 * ctl.h - what the infoviewctl command files share: the loaded config, the
 * open store, output mode, and the command entry points. Each command
 * returns an exit code of infoviewctl(1) EXIT STATUS (0, 1, 2, 78).
 */
#ifndef IV_CTL_H
#define IV_CTL_H

#include <stdbool.h>

#include "config.h"
#include "gate.h"
#include "store.h"
#include "util.h"

#define EXIT_OK         0
#define EXIT_FAILED     1
#define EXIT_USAGE      2
#define EXIT_CONFIG     78

struct ctl {
	struct config *cfg;
	struct store *st;
	bool json;
	bool color;             /* stdout is a TTY and NO_COLOR unset */
};

/* ctl_contact.c */
int ctl_contact(struct ctl *c, int argc, char **argv);
int ctl_preview(struct ctl *c, int argc, char **argv);
/* ctl_queue.c */
int ctl_outreach(struct ctl *c, int argc, char **argv);
int ctl_queue(struct ctl *c, int argc, char **argv);
int ctl_inbox(struct ctl *c, int argc, char **argv);
int ctl_referral(struct ctl *c, int argc, char **argv);
/* ctl_meeting.c */
int ctl_meeting(struct ctl *c, int argc, char **argv);
/* ctl_classify.c */
int ctl_classify(struct ctl *c, int argc, char **argv);
/* ctl_setup.c: runs before any configuration exists; config_path is
 * the -c FILE given, or NULL. */
int ctl_setup(const char *config_path, int argc, char **argv);
/* ctl_status.c */
int ctl_status(struct ctl *c, int argc, char **argv);

/* ctl.c: shared by the commands */
/* "infoviewctl: message" on stderr. */
void ctl_errf(const char *fmt, ...) IV_PRINTF(1, 2);
/* Prints s for a terminal: control characters become '?'. */
void ctl_put_text(const char *s);
/* The same, padded with spaces to width columns (utf8_width). */
void ctl_put_padded(const char *s, size_t width);
/* "Mon-Fri", "Mon,Wed,Fri": the days of a send_days mask. */
void ctl_days_text(unsigned mask, char *out, size_t len);
/* The contact named by a command-line ID or address. Returns EXIT_OK and
 * *ret, or EXIT_FAILED after printing "no contact 'x'" (or the database
 * error) to stderr. */
int ctl_contact_lookup(struct ctl *c, const char *id_or_email,
    struct contact **ret);
/* The rule behind a forecast in the user's words, with its setting
 * ("send window 09:00-17:00 Mon-Fri", "daily limit 20", ...). */
const char *ctl_gate_rule(struct ctl *c, enum gate_why why, char *out,
    size_t len);
/* Tells a running daemon to look at the database now (no-op if none). */
void ctl_wake(struct ctl *c);

#endif
