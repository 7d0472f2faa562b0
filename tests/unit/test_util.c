/* test_util.c - durations, zones, addresses, buffers. */
#include "autoconf.h"

#include <errno.h>
#include <string.h>

#include "unit.h"
#include "json.h"
#include "utf8.h"
#include "util.h"

static void
test_durations(void **state)
{
	static const struct { const char *in; long out; } ok[] = {
		{ "90s", 90 }, { "30m", 1800 }, { "24h", 86400 }, { "5d", 432000 },
		{ "1h30m", 5400 }, { "45", 45 }, { "2w", 1209600 },
	};
	static const char *bad[] = { "", "m", "5x", "-3m", "1.5h", "abc", "5 d x" };
	size_t i;
	long v;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(util_parse_duration(ok[i].in, &v), 0);
		assert_int_equal(v, ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(util_parse_duration(bad[i], &v), -EINVAL);
		assert_int_equal(v, 7);
	}
}

static void
test_zones(void **state)
{
	time_t t;
	struct tm tm;

	(void)state;
	assert_true(tz_valid("America/Los_Angeles"));
	assert_true(tz_valid("UTC"));
	assert_false(tz_valid("Mars/Olympus"));
	assert_false(tz_valid("../etc/passwd"));
	assert_false(tz_valid(""));
	/* 2026-07-01 10:00 PDT is 17:00 UTC; 2026-12-01 10:00 PST is 18:00. */
	assert_int_equal(tz_local_to_utc("America/Los_Angeles", 2026, 7, 1, 10, 0, &t), 0);
	assert_int_equal(t, 1782925200);
	assert_int_equal(tz_local_to_utc("America/Los_Angeles", 2026, 12, 1, 10, 0, &t), 0);
	assert_int_equal(t, 1796148000);
	tz_utc_to_local("Europe/Berlin", 1782925200, &tm);
	assert_int_equal(tm.tm_hour, 19);
}

static void
test_addresses(void **state)
{
	char *d;

	(void)state;
	assert_true(util_email_valid("ana.perez@example.org"));
	assert_true(util_email_valid("a+tag@sub.example.co.uk"));
	assert_false(util_email_valid("ana@example.org\r\nRCPT TO:<x@y.z>"));
	assert_false(util_email_valid("ana example@x.org"));
	assert_false(util_email_valid("<ana@x.org>"));
	assert_false(util_email_valid("ana@localhost"));
	assert_false(util_email_valid("ana@@x.org"));
	assert_false(util_email_valid(""));
	d = util_email_domain("Ana@Example.ORG");
	assert_string_equal(d, "example.org");
	free(d);
}

static void
test_buf(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b);
	buf_addstr(&b, "Hi ");
	buf_printf(&b, "%s, %d", "Zoë", 3);
	buf_addch(&b, '!');
	assert_int_equal(b.len, strlen("Hi Zoë, 3!"));
	s = buf_steal(&b);
	assert_string_equal(s, "Hi Zoë, 3!");
	free(s);
	assert_null(b.data);
}

static void
test_first_name(void **state)
{
	char *f;

	(void)state;
	f = util_first_name_of("  Zoë Ångström");
	assert_string_equal(f, "Zoë");
	free(f);
}

static void
test_json(void **state)
{
	struct json j;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	json_init(&j, f);
	json_begin_object(&j);
	json_kstr(&j, "plain", "Zo\xc3\xab");
	json_kstr(&j, "escaped", "q\"b\\c\x01\x7f");
	json_kstr(&j, "broken", "ok\xff end");
	json_kint(&j, "n", -42);
	json_ktime(&j, "at", 1795296000);
	json_ktime(&j, "never", 0);
	json_end_object(&j);
	json_finish(&j);
	fclose(f);
	assert_string_equal(out, "{\"plain\":\"Zo\xc3\xab\",\"escaped\":"
	    "\"q\\\"b\\\\c\\u0001\\u007f\",\"broken\":\"ok\\ufffd end\","
	    "\"n\":-42,\"at\":\"2026-11-21T21:20:00Z\",\"never\":null}\n");
	free(out);
}

/* A document larger than the writer's buffer, with a string too long to
 * escape in place, comes out whole and in order; equal times are
 * written alike, a different one differently. */
static void
test_json_large(void **state)
{
	struct json j;
	struct buf want, big;
	char *out = NULL, key[16];
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	buf_init(&want);
	buf_init(&big);
	for (i = 0; i < 3000; i++)
		buf_addstr(&big, i % 7 ? "abcdefgh" : "\"\x01\xc3\xab\xff");
	json_init(&j, f);
	json_begin_array(&j);
	buf_addch(&want, '[');
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		json_begin_object(&j);
		json_kint(&j, key, (int64_t)i - 1000);
		json_ktime(&j, "at", i < 1000 ? 1795296000 : 1795296001);
		json_end_object(&j);
		buf_printf(&want, "%s{\"%s\":%d,\"at\":\"2026-11-21T21:20:0%dZ\"}",
		    i ? "," : "", key, (int)i - 1000, i < 1000 ? 0 : 1);
	}
	json_str(&j, big.data);
	buf_addstr(&want, ",\"");
	for (i = 0; i < 3000; i++)
		buf_addstr(&want, i % 7 ? "abcdefgh" :
		    "\\\"\\u0001\xc3\xab\\ufffd");
	buf_addstr(&want, "\"]\n");
	json_end_array(&j);
	json_finish(&j);
	fclose(f);
	assert_int_equal(len, want.len);
	assert_string_equal(out, want.data);
	free(out);
	buf_done(&want);
	buf_done(&big);
}

/* The one UTF-8 validator: well-formed sequences of each length, and
 * overlongs, surrogates, code points past U+10FFFF, stray continuation
 * bytes and sequences cut short refused; width and cutting. */
static void
test_utf8(void **state)
{
	static const struct {
		const char *s;
		bool valid;
	} t[] = {
		{ "", true }, { "plain", true }, { "Zo\xc3\xab", true },
		{ "\xe2\x82\xac", true }, { "\xf0\x9f\x98\x80", true },
		{ "\xc0\xaf", false },                 /* overlong '/' */
		{ "\xe0\x80\xaf", false },             /* overlong */
		{ "\xed\xa0\x80", false },             /* surrogate */
		{ "\xf4\x90\x80\x80", false },         /* past U+10FFFF */
		{ "\x80", false }, { "a\xc3", false }, { "\xe2\x82", false },
		{ "\xff", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(utf8_valid(t[i].s), t[i].valid);
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 2), 0);   /* cut short */
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 3), 3);
	assert_int_equal(utf8_width("Zo\xc3\xab \xe2\x82\xac"), 5);
	/* Past the first eight ASCII bytes, and a stray continuation byte
	 * (no column of its own). */
	assert_int_equal(utf8_width("plain ascii, then Zo\xc3\xab"), 21);
	assert_int_equal(utf8_width("0123456789abcdef\x80!"), 17);
	assert_int_equal(utf8_width(NULL), 0);
	assert_int_equal(utf8_cut("a\xe2\x82\xac", 2), 1);
	assert_int_equal(utf8_cut("a\xe2\x82\xac", 4), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_first_name),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
