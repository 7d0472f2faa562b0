/*
 * test_template.c - the Mustache subset: a table of render cases, syntax
 * errors with their line numbers, required variables, the variable check
 * and header injection.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "template.h"
#include "util.h"

/* Context used by the render table. */
static struct tvars *
sample_vars(void)
{
	struct tvars *v = template_vars_new(), *it;

	template_vars_set(v, "first_name", "Ana");
	template_vars_set(v, "company", "ACME");
	template_vars_set(v, "empty", "");
	template_vars_set(v, "referrer", "Bo Lee");
	it = template_vars_list_add(v, "slots");
	template_vars_set(it, "n", "1");
	template_vars_set(it, "when", "Tue 10:00");
	it = template_vars_list_add(v, "slots");
	template_vars_set(it, "n", "2");
	template_vars_set(it, "when", "Wed 14:00");
	template_vars_list_declare(v, "none");
	it = template_vars_list_add(v, "questions");
	template_vars_set(it, "category", "Daily work");
	template_vars_list_add_str(it, "items", "What is a typical day?");
	template_vars_list_add_str(it, "items", "What do you like most?");
	it = template_vars_list_add(v, "questions");
	template_vars_set(it, "category", "Closing");
	template_vars_list_add_str(it, "items", "Who else should I talk to?");
	return v;
}

/* Renders "Subject: s\n\n" + body; returns the body (caller frees). */
static char *
render_body(const char *body, const struct tvars *v, int *ret_rc,
    char **ret_err)
{
	struct template *t = NULL;
	struct rendered r = { 0 };
	char *text = xasprintf("Subject: s\n\n%s", body), *err = NULL, *out;
	int rc;

	rc = template_parse("t.txt", text, &t, &err);
	free(text);
	if (rc != 0) {
		*ret_rc = rc;
		*ret_err = err;
		return NULL;
	}
	rc = template_render(t, v, &r, &err);
	template_free(t);
	*ret_rc = rc;
	*ret_err = err;
	out = r.body;
	r.body = NULL;
	template_rendered_done(&r);
	return out;
}

static void
test_render_table(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "Hi {{first_name}},", "Hi Ana," },
		{ "Hi {{ first_name }}!", "Hi Ana!" },
		{ "{{#referrer}}{{referrer}} sent me.{{/referrer}}", "Bo Lee sent me." },
		{ "{{#missing}}x{{/missing}}y", "y" },
		{ "{{#empty}}x{{/empty}}{{^empty}}none{{/empty}}", "none" },
		{ "{{^company}}no{{/company}}yes", "yes" },
		{ "{{#slots}}[{{n}}] {{when}}\n{{/slots}}",
		  "[1] Tue 10:00\n[2] Wed 14:00\n" },
		{ "{{#none}}x{{/none}}{{^none}}empty list{{/none}}", "empty list" },
		{ "{{^slots}}x{{/slots}}ok", "ok" },
		/* outer names stay visible inside a list item */
		{ "{{#slots}}{{first_name}}{{n}} {{/slots}}", "Ana1 Ana2 " },
		{ "{{#questions}}{{category}}:{{#items}} <{{.}}>{{/items}};{{/questions}}",
		  "Daily work: <What is a typical day?> <What do you like most?>;"
		  "Closing: <Who else should I talk to?>;" },
		{ "a{{! a comment\n over two lines }}b", "ab" },
		/* standalone section lines vanish */
		{ "one\n{{#referrer}}\n  ref\n{{/referrer}}\ntwo\n",
		  "one\n  ref\ntwo\n" },
		{ "one\n  {{^referrer}}  \nno\n{{/referrer}}\ntwo",
		  "one\ntwo" },
		{ "x {{#company}}\nc\n{{/company}} y", "x \nc\n y" },
		{ "{{! only a comment }}\nbody", "body" },
		/* inside a section, an unset name is not required */
		{ "{{#company}}[{{role}}]{{/company}}", "[]" },
		{ "no tags at all", "no tags at all" },
		{ "{ single } braces", "{ single } braces" },
	};
	struct tvars *v = sample_vars();
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		char *err = NULL, *out;
		int rc;

		out = render_body(cases[i].in, v, &rc, &err);
		if (rc != 0)
			fail_msg("case %zu: rc %d: %s", i, rc, err ? err : "");
		assert_non_null(out);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("case %zu: got '%s' want '%s'", i, out,
			    cases[i].out);
		free(out);
	}
	template_vars_free(v);
}

static void
test_headers(void **state)
{
	struct template *t = NULL;
	struct rendered r = { 0 };
	struct tvars *v = sample_vars();
	char *err = NULL;

	(void)state;
	assert_int_equal(template_parse("h.txt",
	    "{{! a comment line }}\r\nsubject:  Hello {{first_name}} \r\n"
	    "Cc: {{#referrer}}bo@example.org{{/referrer}}\r\n"
	    "Reply-To: {{#nobody}}x@y.z{{/nobody}}\r\n\r\nBody\r\nline 2\r\n",
	    &t, &err), 0);
	assert_string_equal(template_filename(t), "h.txt");
	assert_int_equal(template_render(t, v, &r, &err), 0);
	assert_string_equal(r.subject, "Hello Ana");
	assert_string_equal(r.cc, "bo@example.org");
	assert_null(r.reply_to);
	assert_string_equal(r.body, "Body\nline 2\n");
	template_rendered_done(&r);
	template_free(t);
	template_vars_free(v);
}

static void
test_required(void **state)
{
	struct template *t = NULL;
	struct rendered r = { 0 };
	struct tvars *v = template_vars_new();
	char *err = NULL;

	(void)state;
	template_vars_set(v, "first_name", "");
	template_vars_set(v, "role", "Engineer");
	assert_int_equal(template_parse("r.txt",
	    "Subject: {{company}} and you\n\nHi {{first_name}}, {{role}} at "
	    "{{company}}; {{#x}}{{optional}}{{/x}} {{field}}\n", &t, &err), 0);
	assert_int_equal(template_render(t, v, &r, &err), -ENODATA);
	assert_string_equal(err, "company, first_name, field");
	assert_null(r.subject);
	free(err);
	err = NULL;
	template_vars_set(v, "first_name", "Ana");
	template_vars_set(v, "company", "ACME");
	template_vars_set(v, "field", "design");
	assert_int_equal(template_render(t, v, &r, &err), 0);
	assert_string_equal(r.subject, "ACME and you");
	assert_string_equal(r.body, "Hi Ana, Engineer at ACME;  design\n");
	template_rendered_done(&r);
	template_free(t);
	template_vars_free(v);
}

static void
test_syntax_errors(void **state)
{
	static const struct { const char *in, *err; } cases[] = {
		{ "Subject: x\n\nline\n{{#a}}\nb\n", "e.txt:4: section 'a' is never closed" },
		{ "Subject: x\n\n{{#a}}\n{{#b}}\n{{/a}}\n",
		  "e.txt:5: {{/a}} does not match {{#b}} opened at line 4" },
		{ "Subject: x\n\nok\n\n{{/a}}", "e.txt:5: {{/a}} closes no open section" },
		{ "Subject: x\n\n\n{{first name}}", "e.txt:4: bad variable name 'first name'" },
		{ "Subject: x\n\n{{a}\n}}", "e.txt:3: tag '{{' is not closed by '}}' on the same line" },
		{ "Subject: x\n\n{{{a}}}", "e.txt:3: unsupported tag '{{{'" },
		{ "Subject: x\n\n{{! never\nclosed", "e.txt:3: comment is never closed" },
		{ "Subject: x\n\n{{}}", "e.txt:3: bad variable name ''" },
		{ "Cc: a@b.c\n\nbody", "e.txt:1: missing Subject: header" },
		{ "Subject: x\nBcc: a@b.c\n\nbody",
		  "e.txt:2: unknown header 'Bcc' (only Subject, Cc and Reply-To are allowed)" },
		{ "Subject: x\nSubject: y\n\nbody", "e.txt:2: duplicate Subject: header" },
		{ "Subject: x\nReply-To: y", "e.txt:2: missing blank line between the headers and the body" },
		{ "Subject: {{#a}}x\n\nbody", "e.txt:1: section 'a' is never closed" },
		{ "Subject: x\nHello there\n\nbody",
		  "e.txt:2: expected 'Name: value' (or a blank line between the headers and the body)" },
		{ "Subject: x\n folded\n\nb", "e.txt:2: folded header lines are not supported" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		struct template *t = NULL;
		char *err = NULL;

		assert_int_equal(template_parse("e.txt", cases[i].in, &t, &err),
		    -EINVAL);
		assert_null(t);
		assert_non_null(err);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: got '%s' want '%s'", i, err,
			    cases[i].err);
		free(err);
	}
}

static void
test_depth_and_size(void **state)
{
	struct template *t = NULL;
	struct rendered r = { 0 };
	struct tvars *v = template_vars_new(), *it;
	struct buf b;
	char *err = NULL;
	int i;

	(void)state;
	buf_init(&b);
	buf_addstr(&b, "Subject: x\n\n");
	for (i = 0; i <= TEMPLATE_MAX_DEPTH; i++)
		buf_printf(&b, "{{#s%d}}", i);
	assert_int_equal(template_parse("d.txt", b.data, &t, &err), -EINVAL);
	assert_non_null(strstr(err, "nested more than"));
	free(err);
	buf_done(&b);

	/* a list of 2000 items of 1000 bytes passes the output bound */
	buf_init(&b);
	for (i = 0; i < 1000; i++)
		buf_addch(&b, 'x');
	for (i = 0; i < 2000; i++) {
		it = template_vars_list_add(v, "items");
		template_vars_set(it, "v", b.data);
	}
	buf_done(&b);
	assert_int_equal(template_parse("big.txt",
	    "Subject: x\n\n{{#items}}{{v}}{{/items}}", &t, &err), 0);
	assert_int_equal(template_render(t, v, &r, &err), -E2BIG);
	assert_null(r.body);
	free(err);
	template_free(t);
	template_vars_free(v);
}

static void
test_check_vars(void **state)
{
	static const char *const known[] = { "first_name", "slots", "slots.n",
	    "slots.when", "questions", "questions.items", "custom", NULL };
	struct template *t = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(template_parse("c.txt",
	    "Subject: {{first_name}} {{subjet}}\n\n"
	    "{{custom}}\n"
	    "{{#slots}}{{n}} {{when}} {{wen}}{{/slots}}\n"
	    "{{n}}\n"
	    "{{.}}\n"
	    "{{#questions}}{{#items}}{{.}}{{/items}}{{/questions}}\n"
	    "{{^frist_name}}x{{/frist_name}}\n", &t, &err), 0);
	assert_int_equal(template_check_vars(t, known, &err), -EINVAL);
	assert_string_equal(err,
	    "c.txt:1: unknown variable 'subjet'\n"
	    "c.txt:4: unknown variable 'wen'\n"
	    "c.txt:5: unknown variable 'n'\n"
	    "c.txt:6: unknown variable '.'\n"
	    "c.txt:8: unknown variable 'frist_name'");
	free(err);
	template_free(t);

	/* the builtin list holds the names in infoviewd.conf(5) TEMPLATES */
	assert_int_equal(template_parse("b.txt",
	    "Subject: {{first_name}}\n\n{{name}}{{email}}{{company}}{{role}}"
	    "{{field}}{{referrer}}{{referrer_first_name}}{{note}}{{me_name}}"
	    "{{me_first_name}}{{me_email}}{{me_signature}}{{resume_url}}"
	    "{{#slots}}{{n}}{{when}}{{/slots}}{{meeting_when}}{{meeting_date}}"
	    "{{meeting_time}}{{meeting_tz}}{{meeting_duration}}"
	    "{{meeting_location}}{{#questions}}{{category}}{{#items}}{{.}}"
	    "{{/items}}{{/questions}}{{reason}}{{snippet}}{{thread}}\n",
	    &t, &err), 0);
	err = NULL;
	assert_int_equal(template_check_vars(t, template_builtin_vars, &err), 0);
	assert_null(err);
	template_free(t);
}

static void
test_header_injection(void **state)
{
	struct template *t = NULL;
	struct rendered r = { 0 };
	struct tvars *v = template_vars_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(template_parse("i.txt",
	    "Subject: Hello {{name}}\nCc: {{cc}}\n\nDear {{name}},\n", &t,
	    &err), 0);
	template_vars_set(v, "name", "Eve\r\nBcc: x@y");
	template_vars_set(v, "cc", "a@b.example");
	assert_int_equal(template_render(t, v, &r, &err), -EINVAL);
	assert_non_null(strstr(err, "Subject"));
	assert_null(r.subject);
	free(err);
	err = NULL;
	template_vars_set(v, "name", "Eve");
	template_vars_set(v, "cc", "a@b.example\nBcc: x@y");
	assert_int_equal(template_render(t, v, &r, &err), -EINVAL);
	assert_non_null(strstr(err, "Cc"));
	free(err);
	err = NULL;
	template_vars_set(v, "name", "Eve\tTab");
	template_vars_set(v, "cc", "a@b.example");
	assert_int_equal(template_render(t, v, &r, &err), -EINVAL);
	free(err);
	err = NULL;
	/* a value never adds recipients to Cc: */
	template_vars_set(v, "name", "Eve");
	template_vars_set(v, "cc", "a@b.example, evil@x.test");
	assert_int_equal(template_render(t, v, &r, &err), -EINVAL);
	assert_non_null(strstr(err, "Cc"));
	free(err);
	err = NULL;
	template_vars_set(v, "cc", "Eve <a@b.example>");
	assert_int_equal(template_render(t, v, &r, &err), -EINVAL);
	free(err);
	err = NULL;
	template_vars_set(v, "cc", "a@b.example");
	/* the body may hold line breaks from a value; CR LF becomes LF */
	template_vars_set(v, "name", "Eve");
	assert_int_equal(template_render(t, v, &r, &err), 0);
	template_rendered_done(&r);
	template_free(t);
	assert_int_equal(template_parse("j.txt",
	    "Subject: x\n\n{{note}}\n", &t, &err), 0);
	template_vars_set(v, "note", "a\r\nb\rc");
	assert_int_equal(template_render(t, v, &r, &err), 0);
	assert_string_equal(r.body, "a\nb\nc\n");
	template_rendered_done(&r);
	template_free(t);
	template_vars_free(v);
}

static void
test_tvars(void **state)
{
	struct tvars *v = template_vars_new();

	(void)state;
	assert_null(template_vars_get(v, "a"));
	template_vars_set(v, "a", NULL);
	assert_string_equal(template_vars_get(v, "a"), "");
	template_vars_set(v, "a", "1");
	assert_string_equal(template_vars_get(v, "a"), "1");
	template_vars_list_add_str(v, "a", "x");        /* a list now */
	assert_null(template_vars_get(v, "a"));
	template_vars_set(v, "a", "2");
	assert_string_equal(template_vars_get(v, "a"), "2");
	template_vars_free(v);
	template_vars_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_depth_and_size),
		cmocka_unit_test(test_check_vars),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_tvars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
