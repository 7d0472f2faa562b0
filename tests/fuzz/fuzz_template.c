/*
 * fuzz_template.c - libFuzzer target for the Mustache-subset templates.
 *
 * The input is a template file (headers, blank line, body). It is parsed,
 * its variables are checked against the builtin names, and when it parses
 * it is rendered with a fixed set of variables that covers scalars, empty
 * scalars, lists of records, a list of plain strings and a declared empty
 * list. Rendered headers are checked for the promise template.h makes:
 * no CR or LF, and a non-empty subject.
 *
 *   fuzz_template -max_total_time=600 tests/fuzz/corpus/template
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct tvars *vars;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tvars *it;

	(void)argc;
	(void)argv;
	log_init("fuzz_template", 0);
	vars = template_vars_new();
	template_vars_set(vars, "first_name", "Ana");
	template_vars_set(vars, "name", "Ana Perez");
	template_vars_set(vars, "email", "ana@example.com");
	template_vars_set(vars, "company", "ACME");
	template_vars_set(vars, "role", "");
	template_vars_set(vars, "field", "design");
	template_vars_set(vars, "referrer", "Bo Lee");
	template_vars_set(vars, "referrer_first_name", "Bo");
	template_vars_set(vars, "referrer_email", "bo@example.org");
	template_vars_set(vars, "note", "met at a meetup\nlikes sailing");
	template_vars_set(vars, "me_name", "Sam Doe");
	template_vars_set(vars, "me_first_name", "Sam");
	template_vars_set(vars, "me_email", "sam@example.net");
	template_vars_set(vars, "me_signature", "-- \nSam");
	template_vars_set(vars, "resume_url", NULL);
	template_vars_set(vars, "meeting_when", "Tuesday 24 November, 10:00");
	template_vars_set(vars, "slot_count", "2");
	template_vars_set(vars, "hobby", "sailing, rowing");
	it = template_vars_list_add(vars, "slots");
	template_vars_set(it, "n", "1");
	template_vars_set(it, "when", "Tue 10:00");
	it = template_vars_list_add(vars, "slots");
	template_vars_set(it, "n", "2");
	template_vars_set(it, "when", "Wed 14:00");
	it = template_vars_list_add(vars, "questions");
	template_vars_set(it, "category", "Daily work");
	template_vars_list_add_str(it, "items", "What is a typical day?");
	template_vars_list_add_str(it, "items", "What do you like most?");
	it = template_vars_list_add(vars, "questions");
	template_vars_set(it, "category", "Closing");
	template_vars_list_declare(it, "items");
	template_vars_list_declare(vars, "referrals");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template *t = NULL;
	struct rendered out;
	char *text, *err = NULL;

	if (size > TEMPLATE_MAX_FILE)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (template_parse("fuzz.txt", text, &t, &err) != 0) {
		free(err);
		free(text);
		return 0;
	}
	free(err);
	err = NULL;
	template_check_vars(t, template_builtin_vars, &err);
	free(err);
	err = NULL;
	memset(&out, 0, sizeof(out));
	if (template_render(t, vars, &out, &err) == 0) {
		if (out.subject == NULL || out.subject[0] == '\0' ||
		    strpbrk(out.subject, "\r\n") != NULL ||
		    (out.cc != NULL && strpbrk(out.cc, "\r\n") != NULL) ||
		    (out.reply_to != NULL &&
		    strpbrk(out.reply_to, "\r\n") != NULL) ||
		    out.body == NULL)
			abort();
		template_rendered_done(&out);
	}
	free(err);
	template_free(t);
	free(text);
	return 0;
}
