/*
 * test_compose.c - the shipped templates load and check; messages built
 * from them name the referrer, offer the slots in the contact's zone, are
 * held when a required value is empty, and never let contact data become
 * header structure. The config is built by hand (no config file needed).
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "unit.h"
#include "compose.h"
#include "util.h"

/* 2026-11-24 18:00 UTC: Tuesday, 10:00 PST, 19:00 CET. */
#define SLOT1   ((time_t)1795543200)
/* 2026-11-25 22:00 UTC: Wednesday, 14:00 PST, 23:00 CET. */
#define SLOT2   ((time_t)1795644000)

static char shipped[4096];

static void
config_init(struct config *cfg, const char *dir)
{
	const char *top = getenv("top_srcdir");

	memset(cfg, 0, sizeof(*cfg));
	snprintf(shipped, sizeof(shipped), "%s/templates", top ? top : ".");
	cfg->identity.name = (char *)"Sophia López";
	cfg->identity.email = (char *)"sophia@example.org";
	cfg->identity.timezone = (char *)"America/Los_Angeles";
	cfg->identity.signature = (char *)"Business major, Pacific Lutheran University";
	cfg->identity.resume_url = (char *)"";
	cfg->meeting.duration = 1800;
	cfg->meeting.location = (char *)"Phone or video call; link to follow";
	cfg->templates.dir = (char *)dir;
	cfg->templates.shipped_dir = shipped;
}

static void
contact_init(struct contact *c, const char *email, const char *name,
    const char *company)
{
	memset(c, 0, sizeof(*c));
	c->id = 7;
	c->email = (char *)email;
	c->name = (char *)name;
	c->company = (char *)company;
	c->role = (char *)"Data Engineer";
	c->field = (char *)"data engineering";
	c->referred_by = (char *)"";
	c->note = (char *)"Met at the career fair";
	c->tz = (char *)"Europe/Stockholm";
	c->state = CS_NEW;
}

/* The header block of raw, unfolded, one header per line (caller frees). */
static char *
header_block(const char *raw)
{
	const char *end = strstr(raw, "\r\n\r\n");
	struct buf b;
	const char *p;

	assert_non_null(end);
	buf_init(&b);
	for (p = raw; p < end + 2; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
			p++;
			continue;
		}
		buf_addch(&b, *p);
	}
	return buf_steal(&b);
}

/* The value of header name in an unfolded block (static), NULL if none. */
static const char *
header_value(const char *block, const char *name)
{
	static char val[4096];
	const char *p = block;
	size_t n = strlen(name);

	while (*p) {
		const char *eol = strstr(p, "\r\n");

		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			snprintf(val, sizeof(val), "%.*s", (int)(eol - p - n - 2),
			    p + n + 2);
			return val;
		}
		p = eol + 2;
	}
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The body of raw with quoted-printable undone and CRLF made LF. */
static char *
body_text(const char *raw)
{
	const char *p = strstr(raw, "\r\n\r\n");
	bool qp = strstr(raw, "quoted-printable") != NULL;
	struct buf b;

	assert_non_null(p);
	buf_init(&b);
	for (p += 4; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (qp && *p == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
			continue;
		}
		if (qp && *p == '=' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			buf_addch(&b, (char)(hexval(p[1]) * 16 + hexval(p[2])));
			p += 2;
			continue;
		}
		buf_addch(&b, *p);
	}
	return buf_steal(&b);
}

static struct tmplset *
load_shipped(const struct config *cfg)
{
	struct tmplset *ts = NULL;
	char *err = NULL;
	int r;

	r = compose_tmplset_load(cfg, NULL, &ts, &err);
	if (r != 0)
		fail_msg("compose_tmplset_load: %s", err ? err : "?");
	return ts;
}

static void
test_shipped_load(void **state)
{
	struct config cfg;
	struct tmplset *ts;
	size_t i;

	(void)state;
	config_init(&cfg, NULL);
	ts = load_shipped(&cfg);
	for (i = 0; compose_template_names[i] != NULL; i++) {
		const struct template *t = compose_tmplset_get(ts, compose_template_names[i]);

		assert_non_null(t);
		assert_non_null(strstr(template_filename(t),
		    compose_template_names[i]));
	}
	assert_int_equal(i, 12);
	assert_null(compose_tmplset_get(ts, "questions.txt"));
	assert_null(compose_tmplset_get(ts, "nope.txt"));
	compose_tmplset_free(ts);
}

static void
test_outreach(void **state)
{
	static const struct offered_slot slots[] = {
		{ 1, SLOT1 }, { 2, SLOT2 },
	};
	struct config cfg;
	struct contact c;
	struct tmplset *ts;
	struct compose_req req;
	struct composed out = { 0 };
	char *err = NULL, *hdr, *body;
	const char *v, *p;

	(void)state;
	config_init(&cfg, "");
	ts = load_shipped(&cfg);
	contact_init(&c, "zoe@example.com", "Zoë Ångström", "Nordlys AB");
	memset(&req, 0, sizeof(req));
	req.template = "outreach.txt";
	req.contact = &c;
	req.referrer_name = "Bo Lee";
	req.message_id = "<outreach.1@example.org>";
	req.date = SLOT1 - 7 * 86400;
	req.slots = slots;
	req.n_slots = nitems(slots);
	req.slot_length = 1800;
	if (compose_build(&cfg, ts, &req, &out, &err) != 0)
		fail_msg("compose_build: %s", err);
	assert_string_equal(out.to_addr, "zoe@example.com");
	assert_string_equal(out.cc, "");
	assert_string_equal(out.subject,
	    "A few questions about a career in data engineering");
	assert_int_equal(out.len, strlen(out.raw));

	hdr = header_block(out.raw);
	for (p = hdr; *p; p++)          /* non-ASCII only as RFC 2047 */
		assert_true((unsigned char)*p < 0x80);
	assert_non_null(v = header_value(hdr, "To"));
	assert_non_null(strcasestr(v, "=?utf-8?"));
	assert_non_null(strstr(v, "<zoe@example.com>"));
	assert_non_null(v = header_value(hdr, "From"));
	assert_non_null(strcasestr(v, "=?utf-8?"));
	assert_non_null(strstr(v, "<sophia@example.org>"));
	assert_non_null(v = header_value(hdr, "Message-ID"));
	assert_string_equal(v, "<outreach.1@example.org>");
	assert_null(header_value(hdr, "Auto-Submitted"));
	assert_null(header_value(hdr, "In-Reply-To"));
	assert_non_null(header_value(hdr, "Date"));

	body = body_text(out.raw);
	assert_non_null(strstr(body, "Dear Zoë,"));
	assert_non_null(strstr(body, "Bo Lee suggested"));
	assert_non_null(strstr(body, "20-30 minutes"));
	assert_non_null(strstr(body, "not asking for a job"));
	assert_non_null(strstr(body, "data engineering"));
	assert_non_null(strstr(body, "Data Engineer at Nordlys AB"));
	/* slots in the contact's zone, the user's clock beside them */
	assert_non_null(strstr(body,
	    "1. Tuesday, November 24, 7:00-7:30 PM CET "
	    "(10:00-10:30 AM PST, my time)"));
	assert_non_null(strstr(body,
	    "2. Wednesday, November 25, 11:00-11:30 PM CET "
	    "(2:00-2:30 PM PST, my time)"));
	assert_non_null(strstr(body, "Sophia López\n"));
	free(body);
	free(hdr);
	compose_done(&out);

	/* without a referrer nor slots the message still reads well */
	req.referrer_name = NULL;
	req.n_slots = 0;
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	body = body_text(out.raw);
	assert_null(strstr(body, "suggested that I write"));
	assert_null(strstr(body, "a reply with the number"));
	assert_null(strstr(body, "{{"));
	free(body);
	compose_done(&out);
	compose_tmplset_free(ts);
}

/* Notes fill the thank-you: topics are the lines, list markers off, at
 * most five; without notes the placeholders stay. */
static void
test_thankyou_notes(void **state)
{
	static const char *const names[] = { "digest.txt", "keepintouch.txt",
	    "update.txt" };
	struct config cfg;
	struct contact c;
	struct tmplset *ts;
	struct compose_req req;
	struct composed out = { 0 };
	char *err = NULL, *body;
	size_t i;

	(void)state;
	config_init(&cfg, "");
	ts = load_shipped(&cfg);
	contact_init(&c, "zoe@example.com", "Zoe Lin", "Nordlys AB");
	memset(&req, 0, sizeof(req));
	req.template = "thankyou.txt";
	req.contact = &c;
	req.message_id = "<ty.1@example.org>";
	req.meeting_start = SLOT1;
	req.notes = "- budgets are planned a year ahead\n\n2. the SQL course\n"
	    "* mentors\nfour\nfive\nsix is too many";
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	body = body_text(out.raw);
	assert_non_null(strstr(body, "\n  - budgets are planned a year ahead\n"
	    "  - the SQL course\n  - mentors\n  - four\n  - five\n"));
	assert_null(strstr(body, "six is too many"));
	assert_null(strstr(body, "[TOPIC ONE]"));
	free(body);
	compose_done(&out);
	req.notes = NULL;
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	body = body_text(out.raw);
	assert_non_null(strstr(body, "[TOPIC ONE]"));
	free(body);
	compose_done(&out);
	/* the new messages render with nothing to say, too */
	for (i = 0; i < nitems(names); i++) {
		req.template = names[i];
		req.to_user = strcmp(names[i], "update.txt") != 0;
		if (compose_build(&cfg, ts, &req, &out, &err) != 0)
			fail_msg("%s: %s", names[i], err);
		body = body_text(out.raw);
		assert_null(strstr(body, "{{"));
		free(body);
		compose_done(&out);
	}
	compose_tmplset_free(ts);
}

static void
test_missing_first_name(void **state)
{
	struct config cfg;
	struct contact c;
	struct tmplset *ts;
	struct compose_req req;
	struct composed out = { 0 };
	char *err = NULL;

	(void)state;
	config_init(&cfg, NULL);
	ts = load_shipped(&cfg);
	contact_init(&c, "anon@example.com", "", "ACME");
	memset(&req, 0, sizeof(req));
	req.template = "outreach.txt";
	req.contact = &c;
	req.message_id = "<m.2@example.org>";
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), -ENODATA);
	assert_null(out.raw);
	assert_string_equal(err, "contact anon@example.com: missing first_name");
	free(err);
	/* the user's notice about the same contact is never held for it */
	req.template = "notice.txt";
	req.to_user = true;
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	compose_done(&out);
	compose_tmplset_free(ts);
}

/* Fails unless every line of raw's header block is a plain "Name: value"
 * or a folded continuation, with no Bcc and no trace of evil. */
static void
assert_clean_headers(const char *name, const char *raw)
{
	const char *end = strstr(raw, "\r\n\r\n"), *p = raw;
	int to = 0;

	assert_non_null(end);
	while (p < end + 2) {
		const char *eol = strstr(p, "\r\n"), *q;

		if (*p != ' ' && *p != '\t') {
			for (q = p; q < eol && *q != ':'; q++)
				if (!isalnum((unsigned char)*q) && *q != '-')
					fail_msg("%s: bad header line '%.*s'",
					    name, (int)(eol - p), p);
			if (q == eol)
				fail_msg("%s: header line without ':' '%.*s'",
				    name, (int)(eol - p), p);
			if (strncasecmp(p, "Bcc:", 4) == 0)
				fail_msg("%s: Bcc header", name);
			if (strncasecmp(p, "To:", 3) == 0)
				to++;
		}
		for (q = p; q < eol; q++)
			if (*q == '\r' || *q == '\n' || *q == '\0')
				fail_msg("%s: bare CR or LF in header", name);
		if (memmem(p, (size_t)(eol - p), "evil", 4) != NULL)
			fail_msg("%s: contact data in the header: '%.*s'", name,
			    (int)(eol - p), p);
		p = eol + 2;
	}
	assert_int_equal(to, 1);
}

static void
test_header_injection(void **state)
{
	static const struct offered_slot slots[] = { { 1, SLOT1 } };
	static const struct kvpair extra[] = {
		{ (char *)"reason", (char *)"proposes another time" },
		{ (char *)"snippet", (char *)"Hi,\r\nBcc: evil@x.test\r\n" },
	};
	struct config cfg;
	struct contact c;
	struct tmplset *ts;
	struct compose_req req;
	size_t i, built = 0;

	(void)state;
	config_init(&cfg, NULL);
	ts = load_shipped(&cfg);
	contact_init(&c, "eve@example.com", "Eve Adams",
	    "ACME\r\nBcc: evil@x.test");
	for (i = 0; compose_template_names[i] != NULL; i++) {
		const char *name = compose_template_names[i];
		struct composed out = { 0 };
		char *err = NULL, *body;
		int r;

		memset(&req, 0, sizeof(req));
		req.template = name;
		req.contact = &c;
		req.referrer_name = "Bo Lee";
		req.message_id = "<inj@example.org>";
		req.date = SLOT1 - 86400;
		req.slots = slots;
		req.n_slots = 1;
		req.meeting_start = SLOT1;
		req.meeting_end = SLOT1 + 1800;
		req.extra = extra;
		req.n_extra = nitems(extra);
		req.to_user = strcmp(name, "prep.txt") == 0 ||
		    strcmp(name, "reminder.txt") == 0 ||
		    strcmp(name, "notice.txt") == 0;
		r = compose_build(&cfg, ts, &req, &out, &err);
		if (r == -EINVAL) {     /* refused outright: fine */
			assert_non_null(err);
			assert_non_null(strstr(err, "eve@example.com"));
			free(err);
			continue;
		}
		if (r != 0)
			fail_msg("%s: %d %s", name, r, err ? err : "");
		assert_clean_headers(name, out.raw);
		if (strcmp(name, "outreach.txt") == 0) {
			body = body_text(out.raw);
			assert_non_null(strstr(body, "at ACME\nBcc: evil"));
			free(body);
		}
		built++;
		compose_done(&out);
	}
	/* the company appears only in the bodies of most messages */
	assert_true(built >= 6);

	/* a name with a line break never reaches the To: header */
	contact_init(&c, "eve@example.com", "Eve\r\nBcc: x@y.test", "ACME");
	for (i = 0; compose_template_names[i] != NULL; i++) {
		struct composed out = { 0 };
		char *err = NULL;

		memset(&req, 0, sizeof(req));
		req.template = compose_template_names[i];
		req.contact = &c;
		req.message_id = "<inj2@example.org>";
		req.meeting_start = SLOT1;
		if (compose_build(&cfg, ts, &req, &out, &err) == 0) {
			assert_clean_headers(req.template, out.raw);
			assert_null(strstr(out.raw, "\r\nBcc"));
			compose_done(&out);
		}
		free(err);
	}
	compose_tmplset_free(ts);
}

static void
test_threading_and_user_mail(void **state)
{
	static const struct kvpair extra[] = {
		{ (char *)"reason", (char *)"proposes another time" },
		{ (char *)"snippet", (char *)"Could we do Friday at 3 instead?" },
	};
	struct config cfg;
	struct contact c;
	struct tmplset *ts;
	struct compose_req req;
	struct composed out = { 0 };
	char *err = NULL, *hdr, *body;

	(void)state;
	config_init(&cfg, NULL);
	ts = load_shipped(&cfg);
	contact_init(&c, "zoe@example.com", "Zoe Smith", "Nordlys AB");
	memset(&req, 0, sizeof(req));
	req.template = "followup.txt";
	req.contact = &c;
	req.message_id = "<f.1@example.org>";
	req.in_reply_to = "<outreach.1@example.org>";
	req.references = "<outreach.1@example.org>";
	req.thread_subject = "A few questions about data engineering";
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	assert_string_equal(out.subject,
	    "Re: A few questions about data engineering");
	hdr = header_block(out.raw);
	assert_string_equal(header_value(hdr, "In-Reply-To"),
	    "<outreach.1@example.org>");
	assert_non_null(header_value(hdr, "References"));
	free(hdr);
	compose_done(&out);
	req.thread_subject = "RE: A few questions";
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	assert_string_equal(out.subject, "RE: A few questions");
	compose_done(&out);

	/* a notice goes to the user, auto-generated */
	memset(&req, 0, sizeof(req));
	req.template = "notice.txt";
	req.contact = &c;
	req.to_user = true;
	req.message_id = "<n.1@example.org>";
	req.extra = extra;
	req.n_extra = nitems(extra);
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	assert_string_equal(out.to_addr, "sophia@example.org");
	hdr = header_block(out.raw);
	assert_string_equal(header_value(hdr, "Auto-Submitted"),
	    "auto-generated");
	free(hdr);
	body = body_text(out.raw);
	assert_non_null(strstr(body, "proposes another time"));
	assert_non_null(strstr(body, "Could we do Friday at 3 instead?"));
	assert_non_null(strstr(body, "infoviewctl meeting schedule zoe@example.com"));
	free(body);
	compose_done(&out);

	/* the prep brief: meeting in the user's zone, questions by category */
	memset(&req, 0, sizeof(req));
	req.template = "prep.txt";
	req.contact = &c;
	req.referrer_name = "Bo Lee";
	req.to_user = true;
	req.message_id = "<p.1@example.org>";
	req.meeting_start = SLOT1;
	req.meeting_end = SLOT1 + 2700;
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	body = body_text(out.raw);
	assert_non_null(strstr(body, "Tuesday, November 24, 10:00-10:45 AM PST "
	    "(7:00-7:45 PM CET, their time)"));
	assert_non_null(strstr(body, "45 minutes"));
	assert_non_null(strstr(body, "Daily work\n  - What does a typical day"));
	assert_non_null(strstr(body, "Can you suggest two other people I "
	    "should talk to, and may I use your name?"));
	assert_non_null(strstr(body, "Bring your resume"));
	assert_non_null(strstr(body, "Bo Lee"));
	assert_non_null(strstr(body, "Met at the career fair"));
	free(body);
	compose_done(&out);

	/* an invitation carries the calendar */
	memset(&req, 0, sizeof(req));
	req.template = "invite.txt";
	req.contact = &c;
	req.message_id = "<i.1@example.org>";
	req.meeting_start = SLOT1;
	req.meeting_end = SLOT1 + 1800;
	req.ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n";
	req.ics_method = "REQUEST";
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	assert_string_equal(out.subject, "Invitation: Sophia López / Zoe Smith, "
	    "Tuesday, November 24, 2026");
	assert_non_null(strcasestr(out.raw, "text/calendar"));
	assert_non_null(strcasestr(out.raw, "method=REQUEST"));
	compose_done(&out);
	compose_tmplset_free(ts);
}

static void
test_user_dir(void **state)
{
	static const char *const extra[] = { "hobby", NULL };
	struct config cfg;
	struct contact c;
	struct kvpair vars[] = {
		{ (char *)"first_name", (char *)"Zoe" },
		{ (char *)"hobby", (char *)"sailing" },
	};
	struct tmplset *ts = NULL;
	struct compose_req req;
	struct composed out = { 0 };
	char dir[4096], *err = NULL, *body;

	(void)state;
	/* a broken directory: every problem is reported, in every file */
	snprintf(dir, sizeof(dir), "%s", unit_data_path("templates/broken"));
	config_init(&cfg, dir);
	assert_int_equal(compose_tmplset_load(&cfg, NULL, &ts, &err), -EINVAL);
	assert_null(ts);
	assert_non_null(strstr(err, "broken/followup.txt:6: section 'slots' is never closed"));
	assert_non_null(strstr(err, "broken/invite.txt:1: unknown header 'Bcc'"));
	assert_non_null(strstr(err, "broken/invite.txt:3: missing blank line"));
	assert_non_null(strstr(err, "broken/questions.txt:3: question before the first [Category] heading"));
	assert_non_null(strstr(err, "broken/questions.txt:5: category heading without ']'"));
	free(err);
	err = NULL;

	/* a user's outreach.txt wins over the shipped one; custom keys */
	snprintf(dir, sizeof(dir), "%s", unit_data_path("templates/custom"));
	config_init(&cfg, dir);
	assert_int_equal(compose_tmplset_load(&cfg, NULL, &ts, &err), -EINVAL);
	assert_non_null(strstr(err, "custom/outreach.txt:1: unknown variable 'hobby'"));
	assert_non_null(strstr(err, "custom/outreach.txt:5: unknown variable 'hobby'"));
	free(err);
	err = NULL;
	assert_int_equal(compose_tmplset_load(&cfg, extra, &ts, &err), 0);
	contact_init(&c, "zoe@example.com", "Dr. Zoe Smith", "Nordlys AB");
	c.vars = vars;
	c.n_vars = nitems(vars);
	memset(&req, 0, sizeof(req));
	req.template = "outreach.txt";
	req.contact = &c;
	req.message_id = "<c.1@example.org>";
	assert_int_equal(compose_build(&cfg, ts, &req, &out, &err), 0);
	assert_string_equal(out.subject, "Sailing?");
	assert_string_equal(out.cc, "mentor@example.org, coach@example.org");
	body = body_text(out.raw);
	assert_non_null(strstr(body, "Hello Zoe,\nI hear you like sailing."));
	free(body);
	compose_done(&out);
	/* the shipped followup is still there */
	assert_non_null(strstr(template_filename(compose_tmplset_get(ts,
	    "followup.txt")), "templates/followup.txt"));
	compose_tmplset_free(ts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_load),
		cmocka_unit_test(test_outreach),
		cmocka_unit_test(test_thankyou_notes),
		cmocka_unit_test(test_missing_first_name),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_threading_and_user_mail),
		cmocka_unit_test(test_user_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
