/*
 * ctl.c - what the infoviewctl commands share (declared in ctl.h): error
 * lines on stderr, text printed safely for a terminal, the contact named
 * on a command line, a send rule in the user's words, and waking a
 * running daemon. Below every ctl_*.c command file, so that none of them
 * calls another.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "ctl.h"
#include "gate.h"
#include "store.h"
#include "utf8.h"
#include "util.h"

/* "infoviewctl: message" on stderr. */
void
ctl_errf(const char *fmt, ...)
{
	va_list ap;

	fputs("infoviewctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints s for a terminal: control characters (which validated input
 * never holds, but mail-derived data might) become '?'. */
void
ctl_put_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stdout);
}

void
ctl_put_padded(const char *s, size_t width)
{
	size_t w = utf8_width(s);

	ctl_put_text(s);
	for (; w < width; w++)
		fputc(' ', stdout);
}

/* The contact named by a command-line ID or address (ctl.h). */
int
ctl_contact_lookup(struct ctl *c, const char *id_or_email, struct contact **ret)
{
	int r = store_contact_find(c->st, id_or_email, ret);

	if (r == -ENOENT) {
		char *shown = xstrdup(id_or_email);
		char *p;

		for (p = shown; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		ctl_errf("no contact '%s'", shown);
		free(shown);
		return EXIT_FAILED;
	}
	if (r < 0) {
		ctl_errf("%s: %s", store_errmsg(c->st), strerror(-r));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* "Mon-Fri", "Mon,Wed,Fri", "Sat-Mon" is not made: weeks start on Monday. */
void
ctl_days_text(unsigned mask, char *out, size_t len)
{
	static const char *const names[] = { "Sun", "Mon", "Tue", "Wed",
		"Thu", "Fri", "Sat" };
	size_t used = 0;
	int k, run;

	out[0] = '\0';
	for (k = 1; k <= 7; k = run + 1) {
		run = k;
		if (!(mask & (1u << (k % 7))))
			continue;
		while (run < 7 && (mask & (1u << ((run + 1) % 7))))
			run++;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0,
		    "%s%s%s%s", used ? "," : "", names[k % 7], run > k ?
		    (run > k + 1 ? "-" : ",") : "", run > k ? names[run % 7] : "");
	}
}

const char *
ctl_gate_rule(struct ctl *c, enum gate_why why, char *out, size_t len)
{
	const struct config *cfg = c->cfg;
	char days[64];

	switch (why) {
	case GATE_WINDOW:
		ctl_days_text(cfg->outreach.send_days_mask, days, sizeof(days));
		snprintf(out, len, "send window %02d:%02d-%02d:%02d %s",
		    cfg->outreach.window_start_min / 60,
		    cfg->outreach.window_start_min % 60,
		    cfg->outreach.window_end_min / 60,
		    cfg->outreach.window_end_min % 60, days);
		break;
	case GATE_DAILY:
		snprintf(out, len, "daily limit %d", cfg->outreach.daily_limit);
		break;
	case GATE_DOMAIN:
		snprintf(out, len, "per-domain limit %d a day",
		    cfg->outreach.per_domain_daily);
		break;
	case GATE_GAP:
		snprintf(out, len, "gap %s", util_format_duration(cfg->outreach.min_gap));
		break;
	default:
		snprintf(out, len, "%s", gate_why_name(why));
		break;
	}
	return out;
}

void
ctl_wake(struct ctl *c)
{
	control_wake(c->cfg->storage.database);
}
