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
	vars = tvars_new();
	tvars_set(vars, "first_name", "Ana");
	tvars_set(vars, "name", "Ana Perez");
	tvars_set(vars, "email", "ana@example.com");
	tvars_set(vars, "company", "ACME");
	tvars_set(vars, "role", "");
	tvars_set(vars, "field", "design");
	tvars_set(vars, "referrer", "Bo Lee");
	tvars_set(vars, "referrer_first_name", "Bo");
	tvars_set(vars, "referrer_email", "bo@example.org");
	tvars_set(vars, "note", "met at a meetup\nlikes sailing");
	tvars_set(vars, "me_name", "Sam Doe");
	tvars_set(vars, "me_first_name", "Sam");
	tvars_set(vars, "me_email", "sam@example.net");
	tvars_set(vars, "me_signature", "-- \nSam");
	tvars_set(vars, "resume_url", NULL);
	tvars_set(vars, "meeting_when", "Tuesday 24 November, 10:00");
	tvars_set(vars, "slot_count", "2");
	tvars_set(vars, "hobby", "sailing, rowing");
	it = tvars_list_add(vars, "slots");
	tvars_set(it, "n", "1");
	tvars_set(it, "when", "Tue 10:00");
	it = tvars_list_add(vars, "slots");
	tvars_set(it, "n", "2");
	tvars_set(it, "when", "Wed 14:00");
	it = tvars_list_add(vars, "questions");
	tvars_set(it, "category", "Daily work");
	tvars_list_add_str(it, "items", "What is a typical day?");
	tvars_list_add_str(it, "items", "What do you like most?");
	it = tvars_list_add(vars, "questions");
	tvars_set(it, "category", "Closing");
	tvars_list_declare(it, "items");
	tvars_list_declare(vars, "referrals");
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
		rendered_done(&out);
	}
	free(err);
	template_free(t);
	free(text);
	return 0;
}
