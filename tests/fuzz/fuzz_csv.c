/*
 * fuzz_csv.c - libFuzzer target for contact CSV import: csvimport_buffer
 * (BOM, LinkedIn's preamble, header detection, libcsv, field bounds) with
 * callbacks that only read what they are given, so that a dangling or
 * unterminated string shows up under ASan.
 *
 *   fuzz_csv -max_total_time=600 tests/fuzz/corpus/csv
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvimport.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static volatile size_t sink;

static void
touch(const char *s)
{
	if (s != NULL)
		sink += strlen(s);
}

static int
on_row(const struct contact_in *row, size_t line, void *arg)
{
	size_t i;

	(void)arg;
	if (row->email == NULL)
		abort();
	touch(row->email);
	touch(row->name);
	touch(row->company);
	touch(row->role);
	touch(row->field);
	touch(row->referred_by);
	touch(row->note);
	touch(row->tz);
	for (i = 0; i < row->n_vars; i++) {
		touch(row->vars[i].key);
		touch(row->vars[i].value);
	}
	sink += line;
	return 0;
}

static void
on_skip(size_t line, const char *why, void *arg)
{
	(void)arg;
	touch(why);
	sink += line;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_csv", 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;

	csvimport_buffer("fuzz.csv", (const char *)data, size,
	    size > 0 && (data[0] & 1) ? "design" : NULL, on_row, on_skip, NULL,
	    &err);
	free(err);
	return 0;
}
