/*
 * unit.h - what every unit test includes: cmocka (which prints TAP when
 * CMOCKA_MESSAGE_OUTPUT=TAP, as `make check` sets) and the project headers.
 */
#ifndef IV_UNIT_H
#define IV_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file under tests/data (top_srcdir from the test environment). */
#include <stdio.h>
#include <stdlib.h>
static inline const char *
unit_data_path(const char *name)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", name);
	return path;
}

#endif
