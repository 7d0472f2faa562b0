/*
 * invite.c - iTIP calendars (RFC 5545/5546) through libical 3.0.
 *
 * Building: one VCALENDAR with one VEVENT for our meeting, METHOD REQUEST
 * or CANCEL, every time in UTC. libical escapes text values, quotes
 * parameter values that need it and folds at 75 octets without splitting
 * UTF-8 sequences (checked for 3.0.16); we still verify the serialized
 * lines before handing them out, and run libical's restriction check on
 * our own object (never on received ones: it rejects legitimate Outlook
 * REPLYs without ORGANIZER).
 *
 * Reading: a received calendar is hostile until proven otherwise. The raw
 * text is bounded (size, components, balanced BEGIN/END) before libical
 * sees it; recurrence rules are never expanded; only the handful of
 * properties we need are read. Times with a TZID are converted here, not
 * by libical (whose VTIMEZONE handling expands the zone's rules): first
 * from the VTIMEZONE in the object when its rules are the simple yearly
 * kind every mail client writes, then from the IANA database by name
 * (also for Outlook's Windows zone names, mapped below).
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libical/ical.h>

#include "invite.h"
#include "utf8.h"
#include "util.h"

#define PRODID  "-//infoviewd//infoviewd " PACKAGE_VERSION "//EN"
#define TEXT_MAX INVITE_TEXT_MAX /* bytes kept of a received text value */

static void set_err(char **ret_err, const char *fmt, ...) IV_PRINTF(2, 3);

static void
set_err(char **ret_err, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (ret_err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	*ret_err = msg;
}

/* libical must report, never abort, whatever its build default. */
static void
ical_setup(void)
{
	icalerror_set_errors_are_fatal(0);
	icalerror_clear_errno();
}

/* A copy of s without C0 controls (except TAB and, when keep_nl, LF) and
 * DEL; with drop_dquote also without '"'. Cut to at most max bytes on a
 * character boundary (max 0: no limit). */
static char *
text_clean(const char *s, bool keep_nl, bool drop_dquote, size_t max)
{
	struct buf b;
	const unsigned char *p;
	size_t cut;

	buf_init(&b);
	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\t' && !(keep_nl && *p == '\n')) ||
		    *p == 0x7f || (drop_dquote && *p == '"'))
			continue;
		buf_addch(&b, (char)*p);
	}
	if (max > 0 && b.len > max) {
		cut = utf8_cut(b.data, max);
		b.data[cut] = '\0';
		b.len = cut;
	}
	return buf_steal(&b);
}

/* --- building ------------------------------------------------------------ */

/* Returns 0, or -EINVAL when a one-line value holds CR/LF or bad UTF-8. */
static int
check_line(const char *what, const char *s, char **ret_err)
{
	if (s == NULL)
		return 0;
	if (strpbrk(s, "\r\n") != NULL) {
		set_err(ret_err, "invite: %s contains a line break", what);
		return -EINVAL;
	}
	if (!utf8_valid(s)) {
		set_err(ret_err, "invite: %s is not valid UTF-8", what);
		return -EINVAL;
	}
	return 0;
}

/* Returns 0 or -EINVAL with *ret_err saying which input is unusable. */
static int
check_event(const char *method, const struct invite_event *ev, char **ret_err)
{
	int r;

	if (method == NULL || (strcmp(method, "REQUEST") != 0 &&
	    strcmp(method, "CANCEL") != 0)) {
		set_err(ret_err, "invite: unsupported method %s",
		    method ? method : "(none)");
		return -EINVAL;
	}
	if ((r = check_line("uid", ev->uid, ret_err)) < 0 ||
	    (r = check_line("organizer name", ev->organizer_name, ret_err)) < 0 ||
	    (r = check_line("organizer email", ev->organizer_email, ret_err)) < 0 ||
	    (r = check_line("attendee name", ev->attendee_name, ret_err)) < 0 ||
	    (r = check_line("attendee email", ev->attendee_email, ret_err)) < 0)
		return r;
	if (str_empty(ev->uid) || str_has_ctl(ev->uid, false) ||
	    strlen(ev->uid) > 255) {
		set_err(ret_err, "invite: missing or unusable uid");
		return -EINVAL;
	}
	if (!util_email_valid(ev->organizer_email)) {
		set_err(ret_err, "invite: bad organizer address %s",
		    ev->organizer_email ? ev->organizer_email : "(none)");
		return -EINVAL;
	}
	if (!util_email_valid(ev->attendee_email)) {
		set_err(ret_err, "invite: bad attendee address %s",
		    ev->attendee_email ? ev->attendee_email : "(none)");
		return -EINVAL;
	}
	if (ev->start <= 0 || ev->end < ev->start || ev->sequence < 0 ||
	    ev->alarm_minutes < 0 || ev->alarm_minutes > 7 * 24 * 60) {
		set_err(ret_err, "invite: bad times, sequence or alarm for %s",
		    ev->uid);
		return -EINVAL;
	}
	if ((ev->summary && !utf8_valid(ev->summary)) ||
	    (ev->location && !utf8_valid(ev->location)) ||
	    (ev->description && !utf8_valid(ev->description)) ||
	    (ev->comment && !utf8_valid(ev->comment))) {
		set_err(ret_err, "invite: text of %s is not valid UTF-8", ev->uid);
		return -EINVAL;
	}
	return 0;
}

static struct icaltimetype
utc_time(time_t t)
{
	return icaltime_from_timet_with_zone(t, 0, icaltimezone_get_utc_timezone());
}

/* ORGANIZER or ATTENDEE for addr with a CN that iCalendar can carry:
 * DQUOTE and controls cannot be escaped in a parameter value, so they are
 * dropped; libical puts DQUOTEs around values with ',', ';' or ':'. */
static icalproperty *
person_prop(bool organizer, const char *name, const char *addr)
{
	icalproperty *p;
	char *mailto, *cn;

	mailto = xasprintf("mailto:%s", addr);
	p = organizer ? icalproperty_new_organizer(mailto) :
	    icalproperty_new_attendee(mailto);
	free(mailto);
	if (p == NULL)
		fatalx("invite: libical cannot make a property");
	if (!organizer) {
		icalproperty_add_parameter(p,
		    icalparameter_new_cutype(ICAL_CUTYPE_INDIVIDUAL));
		icalproperty_add_parameter(p,
		    icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
		icalproperty_add_parameter(p,
		    icalparameter_new_partstat(ICAL_PARTSTAT_NEEDSACTION));
		icalproperty_add_parameter(p,
		    icalparameter_new_rsvp(ICAL_RSVP_TRUE));
	}
	cn = text_clean(name ? name : "", false, true, 0);
	str_trim(cn);
	if (*cn != '\0')
		icalproperty_add_parameter(p, icalparameter_new_cn(cn));
	free(cn);
	return p;
}

/* Adds a text property made by mk from s (controls removed, at most max
 * bytes; 0: no limit) if non-empty. */
static void
add_text(icalcomponent *c, icalproperty *(*mk)(const char *), const char *s,
    bool keep_nl, size_t max)
{
	char *t;

	if (str_empty(s))
		return;
	t = text_clean(s, keep_nl, false, max);
	if (*t != '\0')
		icalcomponent_add_property(c, mk(t));
	free(t);
}

static icalcomponent *
build_alarm(int minutes, const char *summary)
{
	icalcomponent *a = icalcomponent_new_valarm();
	struct icaltriggertype trig;

	memset(&trig, 0, sizeof(trig));
	trig.time = icaltime_null_time();
	trig.duration = icaldurationtype_from_int(-60 * minutes);
	icalcomponent_add_property(a, icalproperty_new_action(ICAL_ACTION_DISPLAY));
	icalcomponent_add_property(a, icalproperty_new_trigger(trig));
	add_text(a, icalproperty_new_description, summary, false, 0);
	return a;
}

static icalcomponent *
build_vevent(bool cancel, const struct invite_event *ev)
{
	icalcomponent *e = icalcomponent_new_vevent();
	const char *summary = str_empty(ev->summary) ? "Meeting" : ev->summary;

	icalcomponent_add_property(e, icalproperty_new_uid(ev->uid));
	icalcomponent_add_property(e, icalproperty_new_dtstamp(
	    utc_time(ev->dtstamp > 0 ? ev->dtstamp : util_now())));
	icalcomponent_add_property(e, icalproperty_new_sequence(ev->sequence));
	icalcomponent_add_property(e, icalproperty_new_dtstart(utc_time(ev->start)));
	icalcomponent_add_property(e, icalproperty_new_dtend(utc_time(ev->end)));
	add_text(e, icalproperty_new_summary, summary, false, 0);
	add_text(e, icalproperty_new_location, ev->location, false, 0);
	add_text(e, icalproperty_new_description, ev->description, true,
	    INVITE_TEXT_MAX);
	add_text(e, icalproperty_new_comment, ev->comment, true,
	    INVITE_TEXT_MAX);
	icalcomponent_add_property(e, person_prop(true, ev->organizer_name,
	    ev->organizer_email));
	icalcomponent_add_property(e, person_prop(false, ev->attendee_name,
	    ev->attendee_email));
	icalcomponent_add_property(e, icalproperty_new_status(cancel ?
	    ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
	icalcomponent_add_property(e, icalproperty_new_transp(ICAL_TRANSP_OPAQUE));
	if (!cancel && ev->alarm_minutes > 0)
		icalcomponent_add_component(e, build_alarm(ev->alarm_minutes,
		    summary));
	return e;
}

/* Returns 0, or -EINVAL with libical's complaints in *ret_err. */
static int
restriction_ok(icalcomponent *cal, char **ret_err)
{
	icalcomponent *c;
	icalproperty *p;
	struct buf b;

	if (icalrestriction_check(cal))
		return 0;
	/* The check leaves X-LIC-ERROR properties behind saying why. */
	buf_init(&b);
	buf_addstr(&b, "invite: calendar fails the iTIP restriction check");
	for (c = cal; c != NULL; c = c == cal ?
	    icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT) :
	    icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT))
		for (p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
		    p != NULL;
		    p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY))
			buf_printf(&b, "; %s", icalproperty_get_xlicerror(p));
	if (ret_err)
		*ret_err = buf_steal(&b);
	buf_done(&b);
	return -EINVAL;
}

/* True when s has CRLF line ends only, no line over 75 octets and no fold
 * inside a UTF-8 sequence. */
static bool
lines_ok(const char *s)
{
	const char *line = s, *p;

	for (p = s; *p; p++) {
		if (*p == '\r' && p[1] != '\n')
			return false;
		if (*p == '\n') {
			if (p == s || p[-1] != '\r' || p - 1 - line > 75)
				return false;
			line = p + 1;
			if (*line == ' ' && ((unsigned char)line[1] & 0xc0) == 0x80)
				return false;
			if (p > s + 1 && ((unsigned char)p[-2] & 0xc0) == 0xc0)
				return false;
		}
	}
	return line == p;
}

int
invite_build(const char *method, const struct invite_event *ev, char **ret,
    char **ret_err)
{
	icalcomponent *cal = NULL;
	bool cancel;
	char *s = NULL;
	int r;

	if ((r = check_event(method, ev, ret_err)) < 0)
		return r;
	ical_setup();
	cancel = strcmp(method, "CANCEL") == 0;
	cal = icalcomponent_new_vcalendar();
	icalcomponent_add_property(cal, icalproperty_new_prodid(PRODID));
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
	icalcomponent_add_property(cal, icalproperty_new_method(cancel ?
	    ICAL_METHOD_CANCEL : ICAL_METHOD_REQUEST));
	icalcomponent_add_component(cal, build_vevent(cancel, ev));
	if ((r = restriction_ok(cal, ret_err)) < 0)
		goto out;
	if ((s = icalcomponent_as_ical_string_r(cal)) == NULL) {
		set_err(ret_err, "invite: libical cannot serialize %s", ev->uid);
		r = -EINVAL;
		goto out;
	}
	if (!lines_ok(s)) {
		set_err(ret_err, "invite: serialized calendar for %s is not "
		    "CRLF-folded at 75 octets", ev->uid);
		r = -EINVAL;
		goto out;
	}
	*ret = xstrdup(s);
	r = 0;
out:
	free(s);
	icalcomponent_free(cal);
	return r;
}

/* --- reading: bounds before the parser ----------------------------------- */

/* Next character of the unfolded text at *pp (CRLF or LF followed by a
 * space or tab is a fold and vanishes); -1 at the end. */
static int
unfolded_next(const char **pp, const char *end)
{
	const char *p = *pp;

	for (;;) {
		if (p < end && *p == '\r' && p + 2 < end && p[1] == '\n' &&
		    (p[2] == ' ' || p[2] == '\t')) {
			p += 3;
			continue;
		}
		if (p < end && *p == '\n' && p + 1 < end &&
		    (p[1] == ' ' || p[1] == '\t')) {
			p += 2;
			continue;
		}
		break;
	}
	if (p >= end) {
		*pp = p;
		return -1;
	}
	*pp = p + 1;
	return (unsigned char)*p;
}

/* True when the unfolded content line at p starts with word (any case). */
static bool
line_starts(const char *p, const char *end, const char *word)
{
	int c;

	for (; *word; word++)
		if ((c = unfolded_next(&p, end)) < 0 ||
		    toupper(c) != (unsigned char)*word)
			return false;
	return true;
}

/* Returns 0, or -EBADMSG when text is too big, holds NUL, has too many
 * components or unbalanced BEGIN/END (a truncated file). */
static int
prescan(const char *text, size_t len, char **ret_err)
{
	const char *p = text, *end = text + len;
	size_t begins = 0, ends = 0;

	if (len > INVITE_MAX_BYTES) {
		set_err(ret_err, "calendar: %zu bytes, more than %u", len,
		    INVITE_MAX_BYTES);
		return -EBADMSG;
	}
	if (len == 0 || memchr(text, '\0', len) != NULL) {
		set_err(ret_err, "calendar: empty or binary data");
		return -EBADMSG;
	}
	while (p < end) {
		if (line_starts(p, end, "BEGIN:"))
			begins++;
		else if (line_starts(p, end, "END:"))
			ends++;
		if (begins > INVITE_MAX_COMPONENTS) {
			set_err(ret_err, "calendar: more than %d components",
			    INVITE_MAX_COMPONENTS);
			return -EBADMSG;
		}
		/* Skip to the next line that is not a continuation. */
		do {
			if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
				p = end;
			else
				p++;
		} while (p < end && (*p == ' ' || *p == '\t'));
	}
	if (begins == 0 || begins != ends) {
		set_err(ret_err, "calendar: truncated or not iCalendar "
		    "(%zu BEGIN, %zu END)", begins, ends);
		return -EBADMSG;
	}
	return 0;
}

/* --- reading: times ------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (any year). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Seconds since the epoch of a wall-clock time read as if it were UTC. */
static int64_t
wall_secs(int y, int mo, int d, int h, int mi, int s)
{
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static int64_t
tt_secs(struct icaltimetype t)
{
	return wall_secs(t.year, t.month, t.day, t.is_date ? 0 : t.hour,
	    t.is_date ? 0 : t.minute, t.is_date ? 0 : t.second);
}

/* 0 (Sunday) .. 6 (Saturday). */
static int
weekday_of(int y, int m, int d)
{
	int64_t days = days_from_civil(y, m, d);

	return (int)(((days % 7) + 7 + 4) % 7);
}

/* Day of the month of the pos-th (1..5, or -1 for the last) weekday wd in
 * y-m; 0 if the month has no such day. */
static int
nth_weekday(int y, int m, int wd, int pos)
{
	int dim = days_in_month(y, m), day;

	if (pos == -1)
		return dim - (weekday_of(y, m, dim) - wd + 7) % 7;
	if (pos < 1 || pos > 5)
		return 0;
	day = 1 + (wd - weekday_of(y, m, 1) + 7) % 7 + (pos - 1) * 7;
	return day <= dim ? day : 0;
}

/* Onset (wall seconds) of one STANDARD/DAYLIGHT rule in year y; returns
 * 0 and *ret, 1 when the rule has no onset that year, -1 when the rule is
 * not the simple yearly BYMONTH/BYDAY kind. */
static int
rule_onset(struct icalrecurrencetype *rr, struct icaltimetype dt, int y,
    int64_t *ret)
{
	int month, wd, pos, day;

	if (rr->freq != ICAL_YEARLY_RECURRENCE || rr->interval > 1 ||
	    rr->count != 0 || rr->by_month[0] == ICAL_RECURRENCE_ARRAY_MAX ||
	    rr->by_month[1] != ICAL_RECURRENCE_ARRAY_MAX ||
	    rr->by_day[0] == ICAL_RECURRENCE_ARRAY_MAX ||
	    rr->by_day[1] != ICAL_RECURRENCE_ARRAY_MAX ||
	    rr->by_month_day[0] != ICAL_RECURRENCE_ARRAY_MAX)
		return -1;
	month = rr->by_month[0];
	wd = (int)icalrecurrencetype_day_day_of_week(rr->by_day[0]) - 1;
	pos = icalrecurrencetype_day_position(rr->by_day[0]);
	if (month < 1 || month > 12 || wd < 0 || wd > 6)
		return -1;
	if ((day = nth_weekday(y, month, wd, pos)) == 0)
		return pos == 0 ? -1 : 1;
	*ret = wall_secs(y, month, day, dt.hour, dt.minute, dt.second);
	return 0;
}

/* Latest onset <= local of one STANDARD/DAYLIGHT block; returns 0 and
 * *ret, 1 when none is that early, -1 when we cannot evaluate it. */
static int
block_onset(icalcomponent *blk, int64_t local, int year, int64_t *ret)
{
	icalproperty *p;
	struct icaltimetype dt;
	struct icalrecurrencetype rr;
	int64_t start, until = INT64_MAX, t;
	int y, r;

	if ((p = icalcomponent_get_first_property(blk, ICAL_DTSTART_PROPERTY)) == NULL)
		return -1;
	dt = icalproperty_get_dtstart(p);
	if (icaltime_is_null_time(dt) || dt.year < 1 || dt.month < 1 ||
	    dt.month > 12)
		return -1;
	start = tt_secs(dt);
	if ((p = icalcomponent_get_first_property(blk, ICAL_RRULE_PROPERTY)) == NULL) {
		if (start > local)
			return 1;
		*ret = start;
		return 0;
	}
	rr = icalproperty_get_rrule(p);
	if (!icaltime_is_null_time(rr.until))
		until = tt_secs(rr.until);
	/* Only this year or the one before can hold the latest onset. */
	for (y = year; y >= year - 1; y--) {
		if ((r = rule_onset(&rr, dt, y, &t)) < 0)
			return -1;
		if (r == 0 && t <= local && t >= start && t <= until) {
			*ret = t;
			return 0;
		}
	}
	if (until != INT64_MAX && until < local && until >= start) {
		/* The rule ended: its last onset is in the year of UNTIL. */
		for (y = rr.until.year; y >= rr.until.year - 1; y--)
			if (rule_onset(&rr, dt, y, &t) == 0 && t <= until &&
			    t >= start) {
				*ret = t;
				return 0;
			}
	}
	if (start <= local) {
		*ret = start;
		return 0;
	}
	return 1;
}

/* UTC offset (seconds east) in force at a local time per the VTIMEZONE;
 * returns 0, or -1 when its rules are not ones we evaluate. */
static int
vtimezone_offset(icalcomponent *vtz, int64_t local, int year, int *ret)
{
	icalcomponent *blk;
	icalproperty *p;
	int64_t best = INT64_MIN, earliest = INT64_MAX, t;
	int off = 0, first_off = 0, r;
	bool found = false, any = false;

	for (blk = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT);
	    blk != NULL;
	    blk = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT)) {
		icalcomponent_kind k = icalcomponent_isa(blk);
		struct icaltimetype dt;

		if (k != ICAL_XSTANDARD_COMPONENT && k != ICAL_XDAYLIGHT_COMPONENT)
			continue;
		if (icalcomponent_get_first_property(blk, ICAL_TZOFFSETTO_PROPERTY) == NULL ||
		    icalcomponent_get_first_property(blk, ICAL_TZOFFSETFROM_PROPERTY) == NULL)
			return -1;
		if ((r = block_onset(blk, local, year, &t)) < 0)
			return -1;
		any = true;
		if (r == 0 && t > best) {
			best = t;
			found = true;
			p = icalcomponent_get_first_property(blk, ICAL_TZOFFSETTO_PROPERTY);
			off = icalproperty_get_tzoffsetto(p);
		}
		p = icalcomponent_get_first_property(blk, ICAL_DTSTART_PROPERTY);
		dt = icalproperty_get_dtstart(p);
		if (tt_secs(dt) < earliest) {
			earliest = tt_secs(dt);
			p = icalcomponent_get_first_property(blk,
			    ICAL_TZOFFSETFROM_PROPERTY);
			first_off = icalproperty_get_tzoffsetfrom(p);
		}
	}
	if (!any)
		return -1;
	*ret = found ? off : first_off;
	if (*ret < -18 * 3600 || *ret > 18 * 3600)
		return -1;
	return 0;
}

/* Outlook and Exchange name zones the Windows way; the usual ones, after
 * the CLDR windowsZones table (territory 001). */
static const struct {
	const char *windows, *iana;
} windows_zones[] = {
	{ "Dateline Standard Time", "Etc/GMT+12" },
	{ "Hawaiian Standard Time", "Pacific/Honolulu" },
	{ "Alaskan Standard Time", "America/Anchorage" },
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "Pacific Standard Time (Mexico)", "America/Tijuana" },
	{ "US Mountain Standard Time", "America/Phoenix" },
	{ "Mountain Standard Time", "America/Denver" },
	{ "Mountain Standard Time (Mexico)", "America/Mazatlan" },
	{ "Central America Standard Time", "America/Guatemala" },
	{ "Central Standard Time", "America/Chicago" },
	{ "Central Standard Time (Mexico)", "America/Mexico_City" },
	{ "Canada Central Standard Time", "America/Regina" },
	{ "SA Pacific Standard Time", "America/Bogota" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "US Eastern Standard Time", "America/Indiana/Indianapolis" },
	{ "Venezuela Standard Time", "America/Caracas" },
	{ "Atlantic Standard Time", "America/Halifax" },
	{ "SA Western Standard Time", "America/La_Paz" },
	{ "Pacific SA Standard Time", "America/Santiago" },
	{ "Newfoundland Standard Time", "America/St_Johns" },
	{ "E. South America Standard Time", "America/Sao_Paulo" },
	{ "Argentina Standard Time", "America/Argentina/Buenos_Aires" },
	{ "UTC", "Etc/UTC" },
	{ "Coordinated Universal Time", "Etc/UTC" },
	{ "GMT Standard Time", "Europe/London" },
	{ "Greenwich Standard Time", "Atlantic/Reykjavik" },
	{ "Morocco Standard Time", "Africa/Casablanca" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "Central Europe Standard Time", "Europe/Budapest" },
	{ "Romance Standard Time", "Europe/Paris" },
	{ "Central European Standard Time", "Europe/Warsaw" },
	{ "W. Central Africa Standard Time", "Africa/Lagos" },
	{ "GTB Standard Time", "Europe/Bucharest" },
	{ "E. Europe Standard Time", "Europe/Chisinau" },
	{ "FLE Standard Time", "Europe/Kiev" },
	{ "Israel Standard Time", "Asia/Jerusalem" },
	{ "Egypt Standard Time", "Africa/Cairo" },
	{ "South Africa Standard Time", "Africa/Johannesburg" },
	{ "Turkey Standard Time", "Europe/Istanbul" },
	{ "Russian Standard Time", "Europe/Moscow" },
	{ "Arabic Standard Time", "Asia/Baghdad" },
	{ "Arab Standard Time", "Asia/Riyadh" },
	{ "E. Africa Standard Time", "Africa/Nairobi" },
	{ "Iran Standard Time", "Asia/Tehran" },
	{ "Arabian Standard Time", "Asia/Dubai" },
	{ "Pakistan Standard Time", "Asia/Karachi" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "Sri Lanka Standard Time", "Asia/Colombo" },
	{ "Nepal Standard Time", "Asia/Kathmandu" },
	{ "Bangladesh Standard Time", "Asia/Dhaka" },
	{ "SE Asia Standard Time", "Asia/Bangkok" },
	{ "China Standard Time", "Asia/Shanghai" },
	{ "Singapore Standard Time", "Asia/Singapore" },
	{ "Taipei Standard Time", "Asia/Taipei" },
	{ "W. Australia Standard Time", "Australia/Perth" },
	{ "Tokyo Standard Time", "Asia/Tokyo" },
	{ "Korea Standard Time", "Asia/Seoul" },
	{ "Cen. Australia Standard Time", "Australia/Adelaide" },
	{ "AUS Central Standard Time", "Australia/Darwin" },
	{ "E. Australia Standard Time", "Australia/Brisbane" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	{ "New Zealand Standard Time", "Pacific/Auckland" },
};

/* The IANA zone a TZID names: itself, its tail after a vendor prefix
 * ("/mozilla.org/20050126_1/America/New_York"), or a Windows name's
 * mapping. NULL when unknown. Returns a pointer into tzid or static data. */
static const char *
tzid_to_iana(const char *tzid)
{
	const char *p;
	size_t i;

	for (i = 0; i < nitems(windows_zones); i++)
		if (strcasecmp(tzid, windows_zones[i].windows) == 0)
			return tz_valid(windows_zones[i].iana) ?
			    windows_zones[i].iana : NULL;
	for (p = tzid; p != NULL; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (tz_valid(p))
			return p;
	}
	return NULL;
}

static icalcomponent *
find_vtimezone(icalcomponent *cal, const char *tzid)
{
	icalcomponent *c;
	icalproperty *p;

	for (c = icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT);
	    c != NULL;
	    c = icalcomponent_get_next_component(cal, ICAL_VTIMEZONE_COMPONENT)) {
		p = icalcomponent_get_first_property(c, ICAL_TZID_PROPERTY);
		if (p != NULL && icalproperty_get_tzid(p) != NULL &&
		    strcmp(icalproperty_get_tzid(p), tzid) == 0)
			return c;
	}
	return NULL;
}

/* Converts a local time in tzid to UTC. Returns 0, or 1 when the zone is
 * neither in the object in a form we evaluate nor known by name. */
static int
local_to_utc(icalcomponent *cal, const char *tzid, struct icaltimetype tt,
    time_t *ret)
{
	icalcomponent *vtz = find_vtimezone(cal, tzid);
	const char *zone;
	int off;
	time_t t;

	if (vtz != NULL && vtimezone_offset(vtz, tt_secs(tt), tt.year, &off) == 0) {
		*ret = (time_t)(tt_secs(tt) - off);
		return 0;
	}
	if ((zone = tzid_to_iana(tzid)) == NULL)
		return 1;
	if (tz_local_to_utc(zone, tt.year, tt.month, tt.day, tt.is_date ? 0 :
	    tt.hour, tt.is_date ? 0 : tt.minute, &t) < 0)
		return 1;
	*ret = t + (tt.is_date ? 0 : tt.second);
	return 0;
}

/* Reads a DATE or DATE-TIME property as UTC: 'Z' times as they are,
 * floating times and dates as if they were UTC (nothing better is known
 * about them), TZID times converted. Returns 0, 1 when the zone is unknown
 * (*ret left 0), or -EBADMSG for a value that is not a sane date. */
static int
prop_time(icalcomponent *cal, icalproperty *p, time_t *ret)
{
	icalparameter *tzp;
	struct icaltimetype tt;
	const char *tzid;

	*ret = 0;
	switch (icalproperty_isa(p)) {
	case ICAL_DTSTART_PROPERTY: tt = icalproperty_get_dtstart(p); break;
	case ICAL_DTEND_PROPERTY: tt = icalproperty_get_dtend(p); break;
	case ICAL_DTSTAMP_PROPERTY: tt = icalproperty_get_dtstamp(p); break;
	default: return -EBADMSG;
	}
	if (icaltime_is_null_time(tt) || tt.year < 1970 || tt.year > 9999 ||
	    tt.month < 1 || tt.month > 12 || tt.day < 1 ||
	    tt.day > days_in_month(tt.year, tt.month) ||
	    (!tt.is_date && (tt.hour < 0 || tt.hour > 23 || tt.minute < 0 ||
	    tt.minute > 59 || tt.second < 0 || tt.second > 60)))
		return -EBADMSG;
	tzp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
	tzid = tzp ? icalparameter_get_tzid(tzp) : NULL;
	if (icaltime_is_utc(tt) || str_empty(tzid)) {
		*ret = (time_t)tt_secs(tt);
		return 0;
	}
	return local_to_utc(cal, tzid, tt, ret);
}

/* --- reading: people and text -------------------------------------------- */

/* Lower-cased address of a "mailto:" CAL-ADDRESS, NULL when unusable. */
static char *
mailto_addr(const char *v)
{
	char *a;

	if (v == NULL)
		return NULL;
	while (*v == ' ')
		v++;
	if (strncasecmp(v, "mailto:", 7) == 0)
		v += 7;
	a = str_trim(xstrdup(v));
	if (!util_email_valid(a)) {
		free(a);
		return NULL;
	}
	return str_lower(a);
}

static char *
attendee_addr(icalproperty *p)
{
	return mailto_addr(icalproperty_get_attendee(p));
}

/* Upper-cased value of a parameter, allocated, or NULL. */
static char *
param_upper(icalproperty *p, const char *name)
{
	char *v = icalproperty_get_parameter_as_string_r(p, name);
	char *r;

	if (v == NULL)
		return NULL;
	r = text_clean(v, false, true, 64);
	free(v);
	for (v = r; *v; v++)
		*v = (char)toupper((unsigned char)*v);
	return r;
}

/* s without surrounding white space, or NULL (s freed) when nothing is
 * left. */
static char *
trimmed(char *s)
{
	str_trim(s);
	if (*s == '\0')
		util_freep(&s);
	return s;
}

/* Picks the attendee who answered: the ATTENDEE whose address is the
 * sender's; failing that, the only ATTENDEE if there is exactly one. */
static icalproperty *
pick_attendee(icalcomponent *ev, const char *sender)
{
	icalproperty *p, *only = NULL;
	size_t n = 0;
	char *a;
	bool match;

	for (p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
	    p != NULL;
	    p = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
		n++;
		only = p;
		if (str_empty(sender) || (a = attendee_addr(p)) == NULL)
			continue;
		match = strcasecmp(a, sender) == 0;
		free(a);
		if (match)
			return p;
	}
	return n == 1 ? only : NULL;
}

/* The answer's comment: COMMENT, else an X-RESPONSE-COMMENT property or
 * attendee parameter (Thunderbird), else NULL. Allocated. */
static char *
find_comment(icalcomponent *ev, icalproperty *att)
{
	icalproperty *p;
	const char *v = NULL;
	char *pv = NULL, *r;

	if ((p = icalcomponent_get_first_property(ev, ICAL_COMMENT_PROPERTY)) != NULL)
		v = icalproperty_get_comment(p);
	for (p = icalcomponent_get_first_property(ev, ICAL_X_PROPERTY);
	    str_empty(v) && p != NULL;
	    p = icalcomponent_get_next_property(ev, ICAL_X_PROPERTY))
		if (icalproperty_get_x_name(p) != NULL && strcasecmp(
		    icalproperty_get_x_name(p), "X-RESPONSE-COMMENT") == 0)
			v = icalproperty_get_x(p);
	if (str_empty(v) && att != NULL)
		v = pv = icalproperty_get_parameter_as_string_r(att,
		    "X-RESPONSE-COMMENT");
	r = str_empty(v) ? NULL : trimmed(text_clean(v, true, false, TEXT_MAX));
	free(pv);
	return r;
}

static char *
text_prop(icalcomponent *ev, icalproperty_kind kind)
{
	icalproperty *p = icalcomponent_get_first_property(ev, kind);
	const char *v = NULL;

	if (p == NULL)
		return NULL;
	if (kind == ICAL_SUMMARY_PROPERTY)
		v = icalproperty_get_summary(p);
	else if (kind == ICAL_LOCATION_PROPERTY)
		v = icalproperty_get_location(p);
	return str_empty(v) ? NULL : trimmed(text_clean(v, true, false, TEXT_MAX));
}

/* --- reading: the calendar ----------------------------------------------- */

/* Number of components in c and below, counting stops past limit. */
static size_t
count_components(icalcomponent *c, size_t limit)
{
	icalcomponent *k;
	size_t n = 1;

	for (k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT);
	    k != NULL && n <= limit;
	    k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		n += count_components(k, limit);
	return n;
}

/* The VEVENT the iTIP message is about: the master (no RECURRENCE-ID) if
 * there is one, else the first. */
static icalcomponent *
main_vevent(icalcomponent *cal)
{
	icalcomponent *e, *first;

	first = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	for (e = first; e != NULL;
	    e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT))
		if (icalcomponent_get_first_property(e,
		    ICAL_RECURRENCEID_PROPERTY) == NULL)
			return e;
	return first;
}

/* Reads DTSTART, DTEND or DURATION, DTSTAMP. Returns 0 or -EBADMSG. */
static int
read_times(icalcomponent *cal, icalcomponent *ev, struct ical_in *c,
    char **ret_err)
{
	icalproperty *p;
	struct icaldurationtype dur;
	int secs;

	if ((p = icalcomponent_get_first_property(ev, ICAL_DTSTAMP_PROPERTY)) != NULL &&
	    prop_time(cal, p, &c->dtstamp) < 0)
		c->dtstamp = 0;         /* only orders answers; never fatal */
	if ((p = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY)) != NULL &&
	    prop_time(cal, p, &c->start) < 0) {
		set_err(ret_err, "calendar: bad DTSTART in %s", c->uid);
		return -EBADMSG;
	}
	if ((p = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY)) != NULL) {
		if (prop_time(cal, p, &c->end) < 0) {
			set_err(ret_err, "calendar: bad DTEND in %s", c->uid);
			return -EBADMSG;
		}
	} else if (c->start != 0 && (p = icalcomponent_get_first_property(ev,
	    ICAL_DURATION_PROPERTY)) != NULL) {
		dur = icalproperty_get_duration(p);
		secs = icaldurationtype_as_int(dur);
		if (icaldurationtype_is_bad_duration(dur) || secs < 0 ||
		    secs > 31 * 86400) {
			set_err(ret_err, "calendar: bad DURATION in %s", c->uid);
			return -EBADMSG;
		}
		c->end = c->start + secs;
	}
	if (c->start == 0)
		c->end = 0;
	return 0;
}

/* Fills c from the parsed calendar. Returns 0 or -EBADMSG. */
static int
read_calendar(icalcomponent *cal, const char *sender, struct ical_in *c,
    char **ret_err)
{
	icalcomponent *ev;
	icalproperty *p, *att;
	const char *uid;
	char *s;
	int r;

	if ((p = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY)) == NULL ||
	    (s = icalproperty_get_value_as_string_r(p)) == NULL) {
		set_err(ret_err, "calendar: no METHOD (not an iTIP message)");
		return -EBADMSG;
	}
	c->method = text_clean(s, false, true, 32);
	free(s);
	for (s = c->method; *s; s++)
		*s = (char)toupper((unsigned char)*s);
	if ((ev = main_vevent(cal)) == NULL) {
		set_err(ret_err, "calendar: %s without a VEVENT", c->method);
		return -EBADMSG;
	}
	if ((p = icalcomponent_get_first_property(ev, ICAL_UID_PROPERTY)) == NULL ||
	    str_empty(uid = icalproperty_get_uid(p)) || strlen(uid) > 1024 ||
	    str_has_ctl(uid, false)) {
		set_err(ret_err, "calendar: %s without a usable UID", c->method);
		return -EBADMSG;
	}
	c->uid = xstrdup(uid);
	if ((p = icalcomponent_get_first_property(ev, ICAL_SEQUENCE_PROPERTY)) != NULL &&
	    icalproperty_get_sequence(p) > 0)
		c->sequence = icalproperty_get_sequence(p);
	if ((r = read_times(cal, ev, c, ret_err)) < 0)
		return r;
	if ((p = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY)) != NULL)
		c->organizer = mailto_addr(icalproperty_get_organizer(p));
	/* A PARTSTAT only counts with the address it belongs to. */
	if ((att = pick_attendee(ev, sender)) != NULL &&
	    (c->attendee = attendee_addr(att)) != NULL) {
		if ((c->partstat = param_upper(att, "PARTSTAT")) == NULL)
			c->partstat = xstrdup("NEEDS-ACTION");  /* RFC 5545 default */
	}
	c->comment = find_comment(ev, att);
	c->summary = text_prop(ev, ICAL_SUMMARY_PROPERTY);
	c->location = text_prop(ev, ICAL_LOCATION_PROPERTY);
	return 0;
}

int
invite_parse(const char *text, size_t len, const char *sender,
    struct ical_in *ret, char **ret_err)
{
	icalcomponent *root = NULL, *cal;
	struct ical_in c;
	char *copy = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = prescan(text, len, ret_err)) < 0)
		return r;
	ical_setup();
	copy = xstrndup(text, len);
	if ((root = icalparser_parse_string(copy)) == NULL) {
		set_err(ret_err, "calendar: not parseable as iCalendar");
		r = -EBADMSG;
		goto out;
	}
	if (count_components(root, INVITE_MAX_COMPONENTS) > INVITE_MAX_COMPONENTS) {
		set_err(ret_err, "calendar: more than %d components",
		    INVITE_MAX_COMPONENTS);
		r = -EBADMSG;
		goto out;
	}
	cal = root;
	if (icalcomponent_isa(root) == ICAL_XROOT_COMPONENT)
		cal = icalcomponent_get_first_component(root,
		    ICAL_VCALENDAR_COMPONENT);
	if (cal == NULL || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
		set_err(ret_err, "calendar: no VCALENDAR");
		r = -EBADMSG;
		goto out;
	}
	if ((r = read_calendar(cal, sender, &c, ret_err)) < 0)
		goto out;
	*ret = c;
	memset(&c, 0, sizeof(c));
	r = 0;
out:
	invite_ical_in_done(&c);
	if (root != NULL)
		icalcomponent_free(root);
	free(copy);
	return r;
}

void
invite_ical_in_done(struct ical_in *c)
{
	if (c == NULL)
		return;
	free(c->method);
	free(c->uid);
	free(c->organizer);
	free(c->attendee);
	free(c->partstat);
	free(c->comment);
	free(c->summary);
	free(c->location);
	memset(c, 0, sizeof(*c));
}
