/*
 * fuzz_invite.c - libFuzzer target for received calendars: invite_parse
 * (our prescan, libical's parser, and the defensive read of METHOD, UID,
 * times, ORGANIZER/ATTENDEE, COMMENT) on an exact-length buffer, with a
 * fixed sender address as the mail's From.
 *
 *   fuzz_invite -max_total_time=600 -timeout=10 tests/fuzz/corpus/invite
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invite.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_invite", 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ical_in c;
	char *err = NULL;

	memset(&c, 0, sizeof(c));
	if (invite_parse((const char *)data, size, "Ana.Perez@Example.com", &c,
	    &err) == 0) {
		/* what the header promises on success */
		if (c.method == NULL || c.uid == NULL ||
		    (c.attendee == NULL) != (c.partstat == NULL))
			abort();
		invite_ical_in_done(&c);
	}
	free(err);
	return 0;
}
