/*
 * fuzz_mime.c - libFuzzer target for incoming mail: mime_parse (the bounds
 * scan, libetpan's mailmime_parse and our walk of its tree) in-process, so
 * that a crash shows up here rather than as a lost parse child in the
 * daemon, then classify_message on the result with a fixed context (three
 * offered slots, a contact time zone, a fixed "now").
 *
 * The input is passed with its exact length and no terminating NUL, as
 * mime_parse's contract allows.
 *
 *   fuzz_mime -max_total_time=600 -timeout=10 tests/fuzz/corpus/mime
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "log.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* 2026-11-24 10:00, 2026-11-25 14:00, 2026-11-26 09:00 Europe/Berlin */
static const struct offered_slot slots[] = {
	{ 1, 1795510800 }, { 2, 1795611600 }, { 3, 1795680000 },
};
static const struct classify_ctx ctx = {
	.slots = slots,
	.n_slots = 3,
	.contact_tz = "Europe/Berlin",
	.now = 1794999600,                      /* 2026-11-18 12:00 */
	.own_addr = "sam@example.net",
	.contact_addr = "ana.perez@example.com",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_mime", 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inmsg *m = NULL;
	struct classification c;
	char *err = NULL;
	size_t i;

	if (mime_parse((const char *)data, size, &m, &err) != 0) {
		free(err);
		return 0;
	}
	free(err);
	if (m == NULL || m->text == NULL)
		abort();                /* text is never NULL on success */
	for (i = 0; i < m->n_cals; i++)
		if (m->cals[i].data == NULL ||
		    strlen(m->cals[i].data) > m->cals[i].len)
			abort();
	(void)mime_inmsg_header(m, "Subject");
	memset(&c, 0, sizeof(c));
	if (classify_message(m, &ctx, &c) == 0)
		classify_done(&c);
	mime_inmsg_free(m);
	return 0;
}
