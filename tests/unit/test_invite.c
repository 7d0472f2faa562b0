/*
 * test_invite.c - the calendars we send (checked by hand and by Python's
 * icalendar package as an independent reader) and the calendars mail
 * clients send back (fixtures in tests/data/ical, plus hostile input).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "invite.h"
#include "util.h"

#define T_START 1796148000      /* 2026-12-01T18:00:00Z */
#define T_END   1796149800      /* 2026-12-01T18:30:00Z */
#define T_STAMP 1795000000      /* 2026-11-18T11:06:40Z */

static const char long_desc[] =
    "Questions:\n- typical day\n- skills; training, culture\n"
    "Zoë Ångström would like to hear about the field: "
    "ééééééééééééééééééééééééééééééééééééééééééééééééééééééé "
    "日本語のテキスト日本語のテキスト日本語のテキスト日本語のテキスト "
    "emoji 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 end";

static struct invite_event
sample_event(void)
{
	struct invite_event ev = {
		.uid = "iv-7-4f2a9c@example.org",
		.sequence = 2,
		.dtstamp = T_STAMP,
		.start = T_START,
		.end = T_END,
		.summary = "Chat with Ana, Acme; part 2",
		.location = "Café Zoë; Room 5, floor 2",
		.description = long_desc,
		.organizer_name = "Lopez, Sophia",
		.organizer_email = "sophia@example.org",
		.attendee_name = "Ana \"The\" Pérez; PhD",
		.attendee_email = "ana.perez@example.com",
		.alarm_minutes = 15,
	};

	return ev;
}

static char *
build_ok(const char *method, const struct invite_event *ev)
{
	char *out = NULL, *err = NULL;
	int r = invite_build(method, ev, &out, &err);

	if (r != 0)
		print_error("invite_build: %s\n", err ? err : "?");
	assert_int_equal(r, 0);
	assert_null(err);
	assert_non_null(out);
	return out;
}

/* The calendar with folds removed (CRLF followed by a space). */
static char *
unfold(const char *s)
{
	struct buf b;

	buf_init(&b);
	while (*s) {
		if (s[0] == '\r' && s[1] == '\n' && s[2] == ' ') {
			s += 3;
			continue;
		}
		buf_addch(&b, *s++);
	}
	return buf_steal(&b);
}

static bool
has_line(const char *unfolded, const char *line)
{
	char *want = xasprintf("\r\n%s\r\n", line);
	bool r = strstr(unfolded, want) != NULL;

	if (!r)
		print_error("missing line: %s\n", line);
	free(want);
	return r;
}

/* CRLF only, no line over 75 octets, no fold inside a UTF-8 sequence. */
static void
assert_wire_form(const char *s)
{
	const char *p, *line = s;

	for (p = s; *p; p++) {
		if (*p == '\r')
			assert_int_equal(p[1], '\n');
		if (*p != '\n')
			continue;
		assert_true(p > s && p[-1] == '\r');
		assert_in_range(p - 1 - line, 0, 75);
		line = p + 1;
		if (*line == ' ')
			assert_int_not_equal((unsigned char)line[1] & 0xc0, 0x80);
		if (p - 1 > s)
			assert_int_not_equal((unsigned char)p[-2] & 0xc0, 0xc0);
	}
	assert_ptr_equal(line, p);      /* ends with CRLF */
}

static void
test_build_request(void **state)
{
	struct invite_event ev = sample_event();
	char *out, *u;

	(void)state;
	out = build_ok("REQUEST", &ev);
	assert_wire_form(out);
	u = unfold(out);
	assert_true(strncmp(u, "BEGIN:VCALENDAR\r\n", 17) == 0);
	assert_true(has_line(u, "PRODID:-//infoviewd//infoviewd " PACKAGE_VERSION "//EN"));
	assert_true(has_line(u, "VERSION:2.0"));
	assert_true(has_line(u, "CALSCALE:GREGORIAN"));
	assert_true(has_line(u, "METHOD:REQUEST"));
	assert_true(has_line(u, "UID:iv-7-4f2a9c@example.org"));
	assert_true(has_line(u, "SEQUENCE:2"));
	assert_true(has_line(u, "DTSTAMP:20261118T110640Z"));
	assert_true(has_line(u, "DTSTART:20261201T180000Z"));
	assert_true(has_line(u, "DTEND:20261201T183000Z"));
	assert_true(has_line(u, "SUMMARY:Chat with Ana\\, Acme\\; part 2"));
	assert_true(has_line(u, "LOCATION:Café Zoë\\; Room 5\\, floor 2"));
	assert_true(has_line(u, "ORGANIZER;CN=\"Lopez, Sophia\":mailto:sophia@example.org"));
	assert_true(has_line(u, "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
	    "PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=\"Ana The Pérez; PhD\":"
	    "mailto:ana.perez@example.com"));
	assert_true(has_line(u, "STATUS:CONFIRMED"));
	assert_true(has_line(u, "TRANSP:OPAQUE"));
	assert_true(has_line(u, "BEGIN:VALARM"));
	assert_true(has_line(u, "ACTION:DISPLAY"));
	assert_true(has_line(u, "TRIGGER:-PT15M"));
	assert_non_null(strstr(u, "DESCRIPTION:Questions:\\n- typical day\\n- skills\\; "
	    "training\\, culture\\n"));
	/* The long description really was folded. */
	assert_non_null(strstr(out, "\r\n "));
	assert_true(strlen(u) < strlen(out));
	assert_true(strstr(u, "END:VEVENT\r\nEND:VCALENDAR\r\n") != NULL);
	free(u);
	free(out);
}

static void
test_build_cancel(void **state)
{
	struct invite_event ev = sample_event();
	char *req, *req2, *cancel, *u;

	(void)state;
	req = build_ok("REQUEST", &ev);
	req2 = build_ok("REQUEST", &ev);
	assert_string_equal(req, req2);         /* stable for a stable event */
	ev.sequence = 3;
	cancel = build_ok("CANCEL", &ev);
	assert_wire_form(cancel);
	u = unfold(cancel);
	assert_true(has_line(u, "METHOD:CANCEL"));
	assert_true(has_line(u, "UID:iv-7-4f2a9c@example.org"));
	assert_true(has_line(u, "SEQUENCE:3"));
	assert_true(has_line(u, "STATUS:CANCELLED"));
	assert_null(strstr(u, "STATUS:CONFIRMED"));
	assert_null(strstr(u, "VALARM"));
	assert_null(strstr(u, "METHOD:REQUEST"));
	free(u);
	free(req);
	free(req2);
	free(cancel);
}

static void
test_build_no_alarm_no_cn(void **state)
{
	struct invite_event ev = sample_event();
	char *out, *u;

	(void)state;
	ev.alarm_minutes = 0;
	ev.attendee_name = "\"\t\"";            /* nothing usable is left */
	ev.organizer_name = NULL;
	ev.location = NULL;
	out = build_ok("REQUEST", &ev);
	u = unfold(out);
	assert_null(strstr(u, "VALARM"));
	assert_null(strstr(u, "LOCATION"));
	assert_true(has_line(u, "ORGANIZER:mailto:sophia@example.org"));
	assert_true(has_line(u, "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
	    "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ana.perez@example.com"));
	free(u);
	free(out);
}

static void
test_build_refuses(void **state)
{
	struct invite_event ev;
	char *out = (char *)"untouched", *err = NULL;
	size_t i;
	static const char *bad_names[] = {
		"Ana\r\nBcc: x@evil.example", "Ana\nPérez", "Ana\rPérez",
		"\xff\xfe broken UTF-8",
	};

	(void)state;
	for (i = 0; i < nitems(bad_names); i++) {
		ev = sample_event();
		ev.attendee_name = bad_names[i];
		assert_int_equal(invite_build("REQUEST", &ev, &out, &err), -EINVAL);
		assert_string_equal(out, "untouched");
		assert_non_null(err);
		util_freep(&err);
		ev = sample_event();
		ev.organizer_name = bad_names[i];
		assert_int_equal(invite_build("REQUEST", &ev, &out, &err), -EINVAL);
		util_freep(&err);
	}
	ev = sample_event();
	ev.uid = "abc\r\nMETHOD:CANCEL";
	assert_int_equal(invite_build("REQUEST", &ev, &out, &err), -EINVAL);
	util_freep(&err);
	ev = sample_event();
	ev.attendee_email = "ana@example.com\r\nATTENDEE:mailto:x@y.example";
	assert_int_equal(invite_build("REQUEST", &ev, &out, &err), -EINVAL);
	util_freep(&err);
	ev = sample_event();
	ev.organizer_email = "not an address";
	assert_int_equal(invite_build("REQUEST", &ev, &out, &err), -EINVAL);
	util_freep(&err);
	ev = sample_event();
	ev.end = ev.start - 60;
	assert_int_equal(invite_build("REQUEST", &ev, &out, &err), -EINVAL);
	util_freep(&err);
	ev = sample_event();
	assert_int_equal(invite_build("PUBLISH", &ev, &out, &err), -EINVAL);
	util_freep(&err);
	assert_string_equal(out, "untouched");
	/* A NULL ret_err is fine. */
	ev.uid = "";
	assert_int_equal(invite_build("REQUEST", &ev, &out, NULL), -EINVAL);
}

/* Runs Python's icalendar over ics (on stdin) and returns what it prints. */
static char *
python_read(const char *ics)
{
	static const char script[] =
	    "import sys, icalendar\n"
	    "cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())\n"
	    "print('METHOD=' + str(cal['METHOD']))\n"
	    "print('PRODID=' + str(cal['PRODID']))\n"
	    "evs = cal.walk('VEVENT')\n"
	    "print('NEVENTS=%d' % len(evs))\n"
	    "ev = evs[0]\n"
	    "for k in ('UID', 'SEQUENCE', 'SUMMARY', 'LOCATION', 'STATUS',\n"
	    "          'TRANSP'):\n"
	    "    print('%s=%s' % (k, ev[k]))\n"
	    "for k in ('DTSTAMP', 'DTSTART', 'DTEND'):\n"
	    "    print('%s=%s' % (k, ev[k].dt.isoformat()))\n"
	    "print('DESCRIPTION=' + str(ev['DESCRIPTION']).replace('\\n', '|'))\n"
	    "o, a = ev['ORGANIZER'], ev['ATTENDEE']\n"
	    "print('ORGANIZER=%s CN=%s' % (o, o.params.get('CN')))\n"
	    "print('ATTENDEE=%s CN=%s' % (a, a.params.get('CN')))\n"
	    "for k in ('CUTYPE', 'ROLE', 'PARTSTAT', 'RSVP'):\n"
	    "    print('ATTENDEE-%s=%s' % (k, a.params.get(k)))\n"
	    "for al in ev.walk('VALARM'):\n"
	    "    print('ALARM=%s %s' % (al['ACTION'], al['TRIGGER'].dt))\n";
	char dir[] = "/tmp/test_invite.XXXXXX", *path, *cmd, *out = NULL;
	size_t len;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/read.py", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(script, f);
	fclose(f);
	cmd = xasprintf("/usr/bin/python3 %s/read.py > %s/out 2>&1", dir, dir);
	assert_non_null(f = popen(cmd, "w"));
	fputs(ics, f);
	if (pclose(f) != 0) {
		util_read_file(xasprintf("%s/out", dir), 1 << 20, &out, &len);
		print_error("python: %s\n", out ? out : "?");
		fail();
	}
	free(cmd);
	cmd = xasprintf("%s/out", dir);
	assert_int_equal(util_read_file(cmd, 1 << 20, &out, &len), 0);
	unlink(cmd);
	unlink(path);
	rmdir(dir);
	free(cmd);
	free(path);
	return out;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL) {
		print_error("expected \"%s\" in:\n%s\n", needle, hay);
		fail();
	}
}

static void
test_build_python_reads_it(void **state)
{
	struct invite_event ev = sample_event();
	char *ics, *py, *want, *p;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	ics = build_ok("REQUEST", &ev);
	py = python_read(ics);
	assert_contains(py, "METHOD=REQUEST\n");
	assert_contains(py, "PRODID=-//infoviewd//infoviewd " PACKAGE_VERSION "//EN\n");
	assert_contains(py, "NEVENTS=1\n");
	assert_contains(py, "UID=iv-7-4f2a9c@example.org\n");
	assert_contains(py, "SEQUENCE=2\n");
	assert_contains(py, "SUMMARY=Chat with Ana, Acme; part 2\n");
	assert_contains(py, "LOCATION=Café Zoë; Room 5, floor 2\n");
	assert_contains(py, "STATUS=CONFIRMED\n");
	assert_contains(py, "TRANSP=OPAQUE\n");
	assert_contains(py, "DTSTAMP=2026-11-18T11:06:40+00:00\n");
	assert_contains(py, "DTSTART=2026-12-01T18:00:00+00:00\n");
	assert_contains(py, "DTEND=2026-12-01T18:30:00+00:00\n");
	assert_contains(py, "ORGANIZER=mailto:sophia@example.org CN=Lopez, Sophia\n");
	assert_contains(py, "ATTENDEE=mailto:ana.perez@example.com CN=Ana The Pérez; PhD\n");
	assert_contains(py, "ATTENDEE-CUTYPE=INDIVIDUAL\n");
	assert_contains(py, "ATTENDEE-ROLE=REQ-PARTICIPANT\n");
	assert_contains(py, "ATTENDEE-PARTSTAT=NEEDS-ACTION\n");
	assert_contains(py, "ATTENDEE-RSVP=TRUE\n");
	assert_contains(py, "ALARM=DISPLAY -1 day, 23:45:00\n");
	/* The folded UTF-8 description comes back byte for byte. */
	want = xasprintf("DESCRIPTION=%s\n", long_desc);
	for (p = want; *p; p++)
		if (*p == '\n' && p[1] != '\0')
			*p = '|';
	assert_contains(py, want);
	free(want);
	free(py);
	free(ics);

	ev.sequence = 3;
	ics = build_ok("CANCEL", &ev);
	py = python_read(ics);
	assert_contains(py, "METHOD=CANCEL\n");
	assert_contains(py, "STATUS=CANCELLED\n");
	assert_contains(py, "SEQUENCE=3\n");
	assert_null(strstr(py, "ALARM="));
	free(py);
	free(ics);
}

static void
test_build_then_parse(void **state)
{
	struct invite_event ev = sample_event();
	struct ical_in c;
	char *ics, *err = NULL;

	(void)state;
	ics = build_ok("REQUEST", &ev);
	assert_int_equal(invite_parse(ics, strlen(ics), "Ana.Perez@Example.com",
	    &c, &err), 0);
	assert_string_equal(c.method, "REQUEST");
	assert_string_equal(c.uid, ev.uid);
	assert_int_equal(c.sequence, 2);
	assert_int_equal(c.dtstamp, T_STAMP);
	assert_int_equal(c.start, T_START);
	assert_int_equal(c.end, T_END);
	assert_string_equal(c.organizer, "sophia@example.org");
	assert_string_equal(c.attendee, "ana.perez@example.com");
	assert_string_equal(c.partstat, "NEEDS-ACTION");
	assert_string_equal(c.summary, ev.summary);
	assert_string_equal(c.location, ev.location);
	assert_null(c.comment);
	invite_ical_in_done(&c);
	free(ics);
}

/* --- received calendars -------------------------------------------------- */

struct fixture {
	const char *file, *sender;
	int rc;
	const char *method, *uid;
	int sequence;
	time_t dtstamp, start, end;
	const char *organizer, *attendee, *partstat, *comment;
	const char *summary, *location;
};

static const struct fixture fixtures[] = {
	{ "google-reply-accepted.ics", "Ana.Perez@gmail.com", 0, "REPLY",
	  "iv-42-7f3a@example.org", 0, 1795188612, T_START, T_END,
	  "sophia@example.org", "ana.perez@gmail.com", "ACCEPTED", NULL,
	  "Informational interview: Sophia Lopez / Ana Pérez",
	  "Phone or video call; link to follow" },
	/* An older answer (SEQUENCE 1 below ours): read as it is. */
	{ "google-reply-stale.ics", "ana.perez@gmail.com", 0, "REPLY",
	  "iv-42-7f3a@example.org", 1, 1795075200, T_START, T_END,
	  "sophia@example.org", "ana.perez@gmail.com", "DECLINED", NULL,
	  "Informational interview: Sophia Lopez / Ana Pérez", NULL },
	/* No ORGANIZER; Windows zone with its VTIMEZONE (10:00 PST). */
	{ "outlook-reply-pst.ics", "bob.smith@contoso.com", 0, "REPLY",
	  "iv-43-aa01@example.org", 1, 1795194312, T_START, T_END,
	  NULL, "bob.smith@contoso.com", "ACCEPTED",
	  "Looking forward to it. I will call you from my desk phone.",
	  "Accepted: Informational interview", "Phone" },
	/* Two attendees; the sender's is picked, whatever its case. */
	{ "apple-reply-declined.ics", "LI.Chen@iCloud.com", 0, "REPLY",
	  "iv-44-c0ffee@example.org", 0, 1783714500, 1784138400, 1784140200,
	  "sophia@example.org", "li.chen@icloud.com", "DECLINED", NULL,
	  "Informational interview", NULL },
	{ "thunderbird-reply-tentative.ics", "juergen.weiss@example.de", 0,
	  "REPLY", "iv-45-beef@example.org", 0, 1793610900, 1794319200,
	  1794321000, "sophia@example.org", "juergen.weiss@example.de",
	  "TENTATIVE",
	  "Probably fine, but I may have to move it by half an hour.",
	  "Informational interview", NULL },
	/* Windows zone name without a VTIMEZONE: 14:00 EST is 19:00Z. */
	{ "counter-new-time.ics", "raj.patel@fabrikam.com", 0, "COUNTER",
	  "iv-46-d00d@example.org", 0, 1795255810, 1796324400, 1796327100,
	  "sophia@example.org", "raj.patel@fabrikam.com", "TENTATIVE",
	  "Could we do Thursday afternoon instead?",
	  "New Time Proposed: Informational interview",
	  "Microsoft Teams Meeting" },
	/* The contact invites the user: 11:00 New York is 16:00Z. */
	{ "request-from-contact.ics", "maria.gonzalez@example.com", 0,
	  "REQUEST", "5q1c0n3g7kq2m8v4h6b9s0t1rd@google.com", 0, 1795271400,
	  1796745600, 1796747400, "maria.gonzalez@example.com",
	  "maria.gonzalez@example.com", "ACCEPTED", NULL,
	  "Coffee chat: Maria / Sophia", NULL },
	/* Read without expanding the rule. */
	{ "rrule-huge-count.ics", "mallory@example.net", 0, "REQUEST",
	  "hostile-rrule@example.net", 0, 1795219200, T_START, T_END,
	  "mallory@example.net", "sophia@example.org", "NEEDS-ACTION", NULL,
	  "Recurring forever", NULL },
	/* A zone whose rules we do not evaluate and whose name is unknown:
	 * no time rather than a guessed one. */
	{ "vtimezone-minutely.ics", "mallory@example.net", 0, "REPLY",
	  "hostile-vtz@example.net", 0, 1795219200, 0, 0, NULL,
	  "mallory@example.net", "ACCEPTED", NULL, NULL, NULL },
	{ .file = "broken-dates.ics", .sender = "ana.perez@gmail.com", .rc = -EBADMSG },
	{ .file = "truncated.ics", .sender = "ana.perez@gmail.com", .rc = -EBADMSG },
	{ .file = "garbage.ics", .sender = "ana.perez@gmail.com", .rc = -EBADMSG },
};

static void
assert_str_or_null(const char *got, const char *want, const char *what)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(got, want) != 0) {
		print_error("%s: got \"%s\", want \"%s\"\n", what,
		    got ? got : "(null)", want ? want : "(null)");
		fail();
	}
}

static void
check_fixture(const struct fixture *f)
{
	struct ical_in c, untouched;
	char *text, *err = NULL, name[256];
	size_t len;
	int r;

	snprintf(name, sizeof(name), "ical/%s", f->file);
	assert_int_equal(util_read_file(unit_data_path(name), 1 << 20, &text, &len), 0);
	memset(&c, 0x5a, sizeof(c));
	untouched = c;
	r = invite_parse(text, len, f->sender, &c, &err);
	if (r != f->rc)
		print_error("%s: rc %d (%s), want %d\n", f->file, r,
		    err ? err : "", f->rc);
	assert_int_equal(r, f->rc);
	free(text);
	if (r < 0) {
		assert_non_null(err);
		assert_memory_equal(&c, &untouched, sizeof(c));
		free(err);
		return;
	}
	assert_null(err);
	assert_str_or_null(c.method, f->method, "method");
	assert_str_or_null(c.uid, f->uid, "uid");
	assert_int_equal(c.sequence, f->sequence);
	assert_int_equal(c.dtstamp, f->dtstamp);
	assert_int_equal(c.start, f->start);
	assert_int_equal(c.end, f->end);
	assert_str_or_null(c.organizer, f->organizer, "organizer");
	assert_str_or_null(c.attendee, f->attendee, "attendee");
	assert_str_or_null(c.partstat, f->partstat, "partstat");
	assert_str_or_null(c.comment, f->comment, "comment");
	assert_str_or_null(c.summary, f->summary, "summary");
	assert_str_or_null(c.location, f->location, "location");
	invite_ical_in_done(&c);
}

static void
test_parse_fixtures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < nitems(fixtures); i++)
		check_fixture(&fixtures[i]);
}

static double
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A REPLY holding n VEVENTs. */
static char *
many_vevents(int n)
{
	struct buf b;
	int i;

	buf_init(&b);
	buf_addstr(&b, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
	    "METHOD:REPLY\r\n");
	for (i = 0; i < n; i++)
		buf_printf(&b, "BEGIN:VEVENT\r\nUID:u%d\r\nEND:VEVENT\r\n", i);
	buf_addstr(&b, "END:VCALENDAR\r\n");
	return buf_steal(&b);
}

static int
parse_str(const char *s, const char *sender, struct ical_in *c)
{
	char *err = NULL;
	int r = invite_parse(s, strlen(s), sender, c, &err);

	assert_true(r == 0 ? err == NULL : err != NULL);
	free(err);
	return r;
}

static void
test_parse_bounds(void **state)
{
	struct ical_in c;
	char *s, *folded;
	double t0;
	struct buf b;

	(void)state;
	/* 10,000 VEVENTs: refused before the parser, quickly. */
	s = many_vevents(10000);
	t0 = now_secs();
	assert_int_equal(parse_str(s, "a@b.example", &c), -EBADMSG);
	assert_true(now_secs() - t0 < 0.5);
	free(s);
	/* Under the byte limit but over the component limit. */
	s = many_vevents(INVITE_MAX_COMPONENTS);
	assert_true(strlen(s) < INVITE_MAX_BYTES);
	assert_int_equal(parse_str(s, "a@b.example", &c), -EBADMSG);
	free(s);
	/* At the limit it is read. */
	s = many_vevents(INVITE_MAX_COMPONENTS - 1);
	assert_int_equal(parse_str(s, "a@b.example", &c), 0);
	assert_string_equal(c.uid, "u0");
	invite_ical_in_done(&c);
	free(s);
	/* BEGIN lines hidden by folding are still counted. */
	s = many_vevents(INVITE_MAX_COMPONENTS);
	buf_init(&b);
	for (folded = s; *folded; folded++) {
		if (strncmp(folded, "BEGIN:VEVENT", 12) == 0) {
			buf_addstr(&b, "BEG\r\n IN:VEVENT");
			folded += 11;
			continue;
		}
		buf_addch(&b, *folded);
	}
	free(s);
	s = buf_steal(&b);
	assert_int_equal(parse_str(s, "a@b.example", &c), -EBADMSG);
	free(s);
	/* Over the byte limit. */
	s = xmalloc(INVITE_MAX_BYTES + 2);
	memset(s, 'A', INVITE_MAX_BYTES + 1);
	s[INVITE_MAX_BYTES + 1] = '\0';
	assert_int_equal(parse_str(s, "a@b.example", &c), -EBADMSG);
	free(s);
	/* A NUL inside. */
	assert_int_equal(invite_parse("BEGIN:VCALENDAR\0END:VCALENDAR\r\n", 31,
	    NULL, &c, NULL), -EBADMSG);
	assert_int_equal(invite_parse("", 0, NULL, &c, NULL), -EBADMSG);
}

static void
test_parse_rrule_not_expanded(void **state)
{
	struct ical_in c;
	char *text;
	size_t len;
	double t0;

	(void)state;
	assert_int_equal(
	    util_read_file(unit_data_path("ical/rrule-huge-count.ics"),
	    1 << 20, &text, &len), 0);
	t0 = now_secs();
	assert_int_equal(invite_parse(text, len, NULL, &c, NULL), 0);
	assert_true(now_secs() - t0 < 0.5);
	assert_int_equal(c.start, T_START);
	invite_ical_in_done(&c);
	free(text);
}

#define CAL(method, body) \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" method \
	"BEGIN:VEVENT\r\n" body "END:VEVENT\r\nEND:VCALENDAR\r\n"

static void
test_parse_times(void **state)
{
	struct ical_in c;

	(void)state;
	/* Windows zone without VTIMEZONE: 23:30 IST is 18:00Z. */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "DTSTART;TZID=India Standard Time:20261201T233000\r\n"
	    "DURATION:PT45M\r\n"), NULL, &c), 0);
	assert_int_equal(c.start, T_START);
	assert_int_equal(c.end, T_START + 45 * 60);
	assert_int_equal(c.dtstamp, 0);         /* missing DTSTAMP */
	invite_ical_in_done(&c);
	/* Vendor-prefixed IANA name (Lightning's old form). */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "DTSTART;TZID=/mozilla.org/20050126_1/America/New_York:20261201T130000\r\n"),
	    NULL, &c), 0);
	assert_int_equal(c.start, T_START);
	assert_int_equal(c.end, 0);
	invite_ical_in_done(&c);
	/* Plain IANA name; Tokyo by its Windows name. */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "DTSTART;TZID=Europe/London:20261201T180000\r\n"
	    "DTEND;TZID=Tokyo Standard Time:20261202T033000\r\n"), NULL, &c), 0);
	assert_int_equal(c.start, T_START);
	assert_int_equal(c.end, T_END);
	invite_ical_in_done(&c);
	/* Floating times are taken as UTC; a DATE is its UTC midnight. */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "DTSTART:20261201T180000\r\nDTEND;VALUE=DATE:20261202\r\n"
	    "DTSTAMP:20261118T110640Z\r\n"), NULL, &c), 0);
	assert_int_equal(c.start, T_START);
	assert_int_equal(c.end, 1796169600);
	assert_int_equal(c.dtstamp, T_STAMP);
	invite_ical_in_done(&c);
	/* A summer date in an Outlook-style VTIMEZONE (10:00 PDT = 17:00Z). */
	assert_int_equal(parse_str(
	    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REPLY\r\n"
	    "BEGIN:VTIMEZONE\r\nTZID:My Own Zone\r\n"
	    "BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0700\r\n"
	    "TZOFFSETTO:-0800\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n"
	    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\n"
	    "TZOFFSETFROM:-0800\r\nTZOFFSETTO:-0700\r\n"
	    "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n"
	    "END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:x\r\n"
	    "DTSTART;TZID=My Own Zone:20260701T100000\r\n"
	    "DTEND;TZID=My Own Zone:20260101T100000\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n", NULL, &c), 0);
	assert_int_equal(c.start, 1782925200);
	assert_int_equal(c.end, 1767290400);    /* 2026-01-01 18:00Z (PST) */
	invite_ical_in_done(&c);
	/* A VTIMEZONE with rules that ended (UNTIL) and their successors:
	 * 2026-03-20 10:00 is EDT under the 2007 rules (14:00Z), EST under
	 * the old ones. The TZID names no real zone, so only the block counts. */
	assert_int_equal(parse_str(
	    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REPLY\r\n"
	    "BEGIN:VTIMEZONE\r\nTZID:/custom/Eastern\r\n"
	    "BEGIN:DAYLIGHT\r\nDTSTART:19670430T020000\r\nTZOFFSETFROM:-0500\r\n"
	    "TZOFFSETTO:-0400\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;"
	    "UNTIL=20060402T070000Z\r\nEND:DAYLIGHT\r\n"
	    "BEGIN:STANDARD\r\nDTSTART:19671029T020000\r\nTZOFFSETFROM:-0400\r\n"
	    "TZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;"
	    "UNTIL=20061029T060000Z\r\nEND:STANDARD\r\n"
	    "BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nTZOFFSETFROM:-0500\r\n"
	    "TZOFFSETTO:-0400\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"
	    "END:DAYLIGHT\r\n"
	    "BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nTZOFFSETFROM:-0400\r\n"
	    "TZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"
	    "END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:x\r\n"
	    "DTSTART;TZID=/custom/Eastern:20260320T100000\r\n"
	    "DTEND;TZID=/custom/Eastern:20050320T100000\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n", NULL, &c), 0);
	assert_int_equal(c.start, 1774015200);
	assert_int_equal(c.end, 1111330800);    /* 2005-03-20 15:00Z (EST) */
	invite_ical_in_done(&c);
	/* An unknown zone gives no time, not a wrong one. */
	assert_int_equal(parse_str(CAL("METHOD:COUNTER\r\n", "UID:x\r\n"
	    "DTSTART;TZID=Mars Standard Time:20261201T180000\r\n"), NULL, &c), 0);
	assert_int_equal(c.start, 0);
	assert_int_equal(c.end, 0);
	invite_ical_in_done(&c);
	/* Impossible dates. */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "DTSTART:20260230T100000Z\r\n"), NULL, &c), -EBADMSG);
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "DTSTART:20261201T180000Z\r\nDURATION:P400D\r\n"), NULL, &c), -EBADMSG);
}

static void
test_parse_people(void **state)
{
	struct ical_in c;

	(void)state;
	/* One attendee who is not the sender: used, PARTSTAT as found. */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "ATTENDEE;PARTSTAT=accepted;X-RESPONSE-COMMENT=\"See you, then\":"
	    "MAILTO:Delegate@Example.com\r\n"), "ana@example.com", &c), 0);
	assert_string_equal(c.attendee, "delegate@example.com");
	assert_string_equal(c.partstat, "ACCEPTED");
	assert_string_equal(c.comment, "See you, then");
	assert_null(c.organizer);
	invite_ical_in_done(&c);
	/* Several, none the sender: nobody. */
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "UID:x\r\n"
	    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com\r\n"
	    "ATTENDEE;PARTSTAT=DECLINED:mailto:b@example.com\r\n"),
	    "c@example.com", &c), 0);
	assert_null(c.attendee);
	assert_null(c.partstat);
	invite_ical_in_done(&c);
	/* No PARTSTAT is NEEDS-ACTION; an X-RESPONSE-COMMENT property. */
	assert_int_equal(parse_str(CAL("METHOD:reply\r\n", "UID:x\r\n"
	    "ATTENDEE:mailto:b@example.com\r\n"
	    "X-RESPONSE-COMMENT:Maybe\\, let me check\r\n"), "B@example.com",
	    &c), 0);
	assert_string_equal(c.method, "REPLY");
	assert_string_equal(c.partstat, "NEEDS-ACTION");
	assert_string_equal(c.comment, "Maybe, let me check");
	invite_ical_in_done(&c);
	/* Required: METHOD, a VEVENT, its UID. */
	assert_int_equal(parse_str(CAL("", "UID:x\r\n"), NULL, &c), -EBADMSG);
	assert_int_equal(parse_str(CAL("METHOD:REPLY\r\n", "SUMMARY:x\r\n"),
	    NULL, &c), -EBADMSG);
	assert_int_equal(parse_str("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
	    "END:VCALENDAR\r\n", NULL, &c), -EBADMSG);
	assert_int_equal(parse_str("BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",
	    NULL, &c), -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_build_cancel),
		cmocka_unit_test(test_build_no_alarm_no_cn),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_build_python_reads_it),
		cmocka_unit_test(test_build_then_parse),
		cmocka_unit_test(test_parse_fixtures),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_parse_rrule_not_expanded),
		cmocka_unit_test(test_parse_times),
		cmocka_unit_test(test_parse_people),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
