/* test_csvimport.c - LinkedIn and plain contact CSVs, broken input, bounds,
 * line numbers, and the checks on contact data. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "csvimport.h"
#include "util.h"

#define MAXROWS 32

/* What the importer handed over, copied. */
struct got {
	size_t n_rows, n_skips;
	struct {
		size_t line;
		char *email, *name, *company, *role, *field, *note, *tz, *ref;
		char *vars;     /* "k=v;k=v" */
	} rows[MAXROWS];
	struct {
		size_t line;
		char *why;
	} skips[MAXROWS];
	int fail_with;          /* row callback returns this when < 0 */
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int
on_row(const struct contact_in *in, size_t line, void *arg)
{
	struct got *g = arg;
	struct buf b;
	size_t i;

	if (g->fail_with < 0)
		return g->fail_with;
	assert_true(g->n_rows < MAXROWS);
	g->rows[g->n_rows].line = line;
	g->rows[g->n_rows].email = dup_or_null(in->email);
	g->rows[g->n_rows].name = dup_or_null(in->name);
	g->rows[g->n_rows].company = dup_or_null(in->company);
	g->rows[g->n_rows].role = dup_or_null(in->role);
	g->rows[g->n_rows].field = dup_or_null(in->field);
	g->rows[g->n_rows].note = dup_or_null(in->note);
	g->rows[g->n_rows].tz = dup_or_null(in->tz);
	g->rows[g->n_rows].ref = dup_or_null(in->referred_by);
	buf_init(&b);
	for (i = 0; i < in->n_vars; i++)
		buf_printf(&b, "%s%s=%s", i ? ";" : "", in->vars[i].key,
		    in->vars[i].value);
	g->rows[g->n_rows].vars = buf_steal(&b);
	g->n_rows++;
	return 0;
}

static void
on_skip(size_t line, const char *why, void *arg)
{
	struct got *g = arg;

	assert_true(g->n_skips < MAXROWS);
	g->skips[g->n_skips].line = line;
	g->skips[g->n_skips].why = xstrdup(why);
	g->n_skips++;
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n_rows; i++) {
		free(g->rows[i].email);
		free(g->rows[i].name);
		free(g->rows[i].company);
		free(g->rows[i].role);
		free(g->rows[i].field);
		free(g->rows[i].note);
		free(g->rows[i].tz);
		free(g->rows[i].ref);
		free(g->rows[i].vars);
	}
	for (i = 0; i < g->n_skips; i++)
		free(g->skips[i].why);
	memset(g, 0, sizeof(*g));
}

/* Imports a string; returns csvimport_buffer's result. */
static int
import_str(const char *text, size_t len, struct got *g, char **err)
{
	return csvimport_buffer("t.csv", text, len, NULL, on_row, on_skip, g, err);
}

static void
test_linkedin(void **state)
{
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(csvimport_file(unit_data_path("csv/linkedin/Connections.csv"),
	    "nursing", on_row, on_skip, &g, &err), 0);
	assert_null(err);
	assert_int_equal(g.n_rows, 6);
	assert_int_equal(g.rows[0].line, 5);
	assert_string_equal(g.rows[0].email, "maria.gonzalez@stjoseph-health.example");
	assert_string_equal(g.rows[0].name, "Maria Gonzalez");
	assert_string_equal(g.rows[0].company, "St. Joseph Medical Center");
	assert_string_equal(g.rows[0].role, "Charge Nurse");
	assert_string_equal(g.rows[0].field, "nursing");
	assert_string_equal(g.rows[0].vars, "url=https://www.linkedin.com/in/"
	    "maria-gonzalez-rn;connected_on=14 Mar 2024");
	assert_int_equal(g.rows[1].line, 7);
	assert_string_equal(g.rows[1].company, "Boeing Commercial Airplanes, Renton");
	assert_string_equal(g.rows[2].name, "Zoë Ångström");
	assert_string_equal(g.rows[2].role, "Buyer, Women's Apparel");
	assert_string_equal(g.rows[3].email, "Aisha.Bello@Example.NET");
	assert_string_equal(g.rows[4].name, "Rachel Weiss \"RJ\"");
	assert_int_equal(g.rows[5].line, 14);
	/* Rows without a usable address are reported, not dropped silently. */
	assert_int_equal(g.n_skips, 4);
	assert_int_equal(g.skips[0].line, 6);
	assert_string_equal(g.skips[0].why, "no email address (David Kim)");
	assert_int_equal(g.skips[1].line, 9);
	assert_string_equal(g.skips[1].why, "no email address (James O'Brien)");
	assert_int_equal(g.skips[2].line, 11);
	assert_int_equal(g.skips[3].line, 13);
	assert_string_equal(g.skips[3].why,
	    "invalid email address 'kenji at example.com'");
	got_free(&g);
}

static void
test_generic(void **state)
{
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(csvimport_file(unit_data_path("csv/generic.csv"), NULL,
	    on_row, on_skip, &g, &err), 0);
	assert_int_equal(g.n_rows, 2);
	assert_int_equal(g.rows[0].line, 2);
	assert_string_equal(g.rows[0].name, "Ana Pérez");
	assert_string_equal(g.rows[0].role, "Engineer");
	assert_string_equal(g.rows[0].field, "software");
	assert_string_equal(g.rows[0].ref, "Laura Smith");
	assert_string_equal(g.rows[0].note, "Met at the career fair.\nLikes hiking.");
	assert_string_equal(g.rows[0].tz, "America/Los_Angeles");
	/* "2nd Contact" cannot be a variable name (starts with a digit). */
	assert_string_equal(g.rows[0].vars, "school=PLU;met_at=career fair");
	/* The quoted note spans lines 2-3, so Bo is on line 4. */
	assert_int_equal(g.rows[1].line, 4);
	assert_string_equal(g.rows[1].name, "Bo");
	assert_null(g.rows[1].role);
	assert_null(g.rows[1].field);
	assert_string_equal(g.rows[1].vars, "");
	assert_int_equal(g.n_skips, 1);
	assert_int_equal(g.skips[0].line, 5);
	assert_string_equal(g.skips[0].why, "unknown time zone 'Mars/Olympus'");
	got_free(&g);
}

static void
test_broken_quoting(void **state)
{
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(csvimport_file(unit_data_path("csv/broken.csv"), NULL,
	    on_row, on_skip, &g, &err), 0);
	assert_int_equal(g.n_rows, 1);
	assert_string_equal(g.rows[0].email, "ok1@example.org");
	assert_int_equal(g.n_skips, 1);
	assert_int_equal(g.skips[0].line, 3);
	assert_non_null(strstr(g.skips[0].why, "unterminated quoted field"));
	got_free(&g);
}

static void
test_big_field(void **state)
{
	struct got g = { 0 };
	struct buf b;
	char *big, *err = NULL;

	(void)state;
	big = xmalloc(1024 * 1024 + 1);
	memset(big, 'x', 1024 * 1024);
	big[1024 * 1024] = '\0';
	buf_init(&b);
	buf_addstr(&b, "email,company,note\n");
	buf_addstr(&b, "a@example.org,A,\n");
	buf_printf(&b, "b@example.org,\"%s\",\n", big);
	buf_addstr(&b, "c@example.org,C,\"two\nlines\"\n");
	buf_addstr(&b, "d@example.org,D,\n");
	assert_int_equal(import_str(b.data, b.len, &g, &err), 0);
	assert_int_equal(g.n_rows, 3);
	assert_string_equal(g.rows[1].email, "c@example.org");
	assert_int_equal(g.rows[1].line, 4);
	assert_int_equal(g.rows[2].line, 6);
	assert_int_equal(g.n_skips, 1);
	assert_int_equal(g.skips[0].line, 3);
	assert_string_equal(g.skips[0].why,
	    "field longer than 64 KiB (column 'company')");
	got_free(&g);
	buf_done(&b);
	free(big);
}

/* A field past the memory bound stops the import with a located error. */
static void
test_huge_field(void **state)
{
	struct got g = { 0 };
	size_t n = CSV_MAX_BUFFER + 4096, hl = strlen("email,note\na@x.org,\"");
	char *text, *err = NULL;

	(void)state;
	text = xmalloc(n + 1);
	memcpy(text, "email,note\na@x.org,\"", hl);
	memset(text + hl, 'y', n - hl);
	text[n] = '\0';
	assert_int_equal(import_str(text, n, &g, &err), -EFBIG);
	assert_non_null(err);
	assert_string_equal(err, "t.csv:2: field longer than 16 MiB; import stopped");
	free(err);
	free(text);
	got_free(&g);
}

static void
test_bom_crlf(void **state)
{
	static const char text[] = "\xef\xbb\xbf" "Email,Name\r\n"
	    "a@example.org,Ann\r\n" "\r\n" "b@example.org,\"B\r\nB\"\r\n"
	    "c@example.org,Cat";
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(import_str(text, sizeof(text) - 1, &g, &err), 0);
	assert_int_equal(g.n_rows, 2);
	assert_string_equal(g.rows[0].email, "a@example.org");
	assert_string_equal(g.rows[0].name, "Ann");
	assert_int_equal(g.rows[0].line, 2);
	assert_string_equal(g.rows[1].email, "c@example.org");
	assert_int_equal(g.rows[1].line, 6);
	/* A line break inside a name is refused, not stored. */
	assert_int_equal(g.n_skips, 1);
	assert_int_equal(g.skips[0].line, 4);
	assert_non_null(strstr(g.skips[0].why, "name contains a control character"));
	got_free(&g);
}

static void
test_hostile_cells(void **state)
{
	static const char text[] = "email,company,role,x_header\n"
	    "a@example.org,\"Acme\nBcc: victim@example.org\",,\n"
	    "\"b@example.org\r\nRCPT TO:<x@y.org>\",B,,\n"
	    "c@example.org,C,Boss\x01,\n"
	    "d@example.org,D,,\"v\rw\"\n"
	    "e@example.org,\"\xff\xfe\",,\n"
	    "f@example.org,F,,\n"
	    "\"Gus Grant <gus@example.org>\",G,,\n"
	    "mailto:hal@example.org,H,,\n";
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(import_str(text, sizeof(text) - 1, &g, &err), 0);
	assert_int_equal(g.n_rows, 3);
	assert_string_equal(g.rows[0].email, "f@example.org");
	/* Display-name and mailto: forms give the bare address. */
	assert_string_equal(g.rows[1].email, "gus@example.org");
	assert_string_equal(g.rows[2].email, "hal@example.org");
	assert_int_equal(g.n_skips, 5);
	assert_int_equal(g.skips[0].line, 2);
	assert_string_equal(g.skips[0].why, "company contains a control character "
	    "(line break, tab or similar)");
	assert_int_equal(g.skips[1].line, 4);
	assert_non_null(strstr(g.skips[1].why, "email contains a control"));
	assert_non_null(strstr(g.skips[2].why, "role contains a control"));
	assert_non_null(strstr(g.skips[3].why, "variable 'x_header' contains"));
	assert_string_equal(g.skips[4].why, "company is not valid UTF-8 text");
	got_free(&g);
}

static void
test_no_header(void **state)
{
	static const char text[] = "name,company\nAnn,Acme\n";
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(import_str(text, sizeof(text) - 1, &g, &err), -EINVAL);
	assert_non_null(err);
	assert_non_null(strstr(err, "t.csv:2: no header row with an email column"));
	assert_int_equal(g.n_rows, 0);
	free(err);
}

static void
test_callback_stops(void **state)
{
	static const char text[] = "email\na@example.org\nb@example.org\n";
	struct got g = { .fail_with = -EIO };
	char *err = NULL;

	(void)state;
	assert_int_equal(import_str(text, sizeof(text) - 1, &g, &err), -EIO);
	assert_non_null(err);
	assert_non_null(strstr(err, "t.csv:2: import stopped"));
	free(err);
}

static void
test_missing_file(void **state)
{
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(csvimport_file("/nonexistent/c.csv", NULL, on_row,
	    on_skip, &g, &err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/c.csv"));
	free(err);
}

static void
test_checks(void **state)
{
	struct kvpair bad_key[] = { { "first_name", "x" } };
	struct kvpair ok_key[] = { { "school", "PLU" } };
	struct contact_in in = { .email = "a@example.org", .name = "Ann",
	    .note = "line one\n\tline two", .tz = "Europe/Berlin" };
	char *why = NULL;

	(void)state;
	assert_true(csvimport_var_key_valid("school"));
	assert_true(csvimport_var_key_valid("met_at2"));
	assert_false(csvimport_var_key_valid("2nd"));
	assert_false(csvimport_var_key_valid("School"));
	assert_false(csvimport_var_key_valid("a-b"));
	assert_false(csvimport_var_key_valid(""));
	assert_false(csvimport_var_key_valid("me_name"));
	assert_int_equal(csvimport_contact_in_check(&in, &why), 0);
	in.vars = ok_key;
	in.n_vars = 1;
	assert_int_equal(csvimport_contact_in_check(&in, &why), 0);
	in.vars = bad_key;
	assert_int_equal(csvimport_contact_in_check(&in, &why), -EINVAL);
	assert_non_null(strstr(why, "invalid variable name 'first_name'"));
	free(why);
	in.n_vars = 0;
	in.name = "Ann\r\nBcc: x@y.org";
	assert_int_equal(csvimport_contact_in_check(&in, &why), -EINVAL);
	assert_string_equal(why, "name contains a control character "
	    "(line break, tab or similar)");
	free(why);
	in.name = "Ann";
	in.note = "a\rb";
	assert_int_equal(csvimport_contact_in_check(&in, &why), -EINVAL);
	assert_non_null(strstr(why, "note contains"));
	free(why);
	in.note = NULL;
	in.email = "ann@example";
	assert_int_equal(csvimport_contact_in_check(&in, &why), -EINVAL);
	assert_string_equal(why, "invalid email address 'ann@example'");
	free(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linkedin),
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_broken_quoting),
		cmocka_unit_test(test_big_field),
		cmocka_unit_test(test_huge_field),
		cmocka_unit_test(test_bom_crlf),
		cmocka_unit_test(test_hostile_cells),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
