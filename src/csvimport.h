/*
 * csvimport.h - reading contact CSVs (the only module that includes
 * libcsv): LinkedIn's Connections.csv as exported (notes before the header
 * row) and plain CSVs whose columns are named like `contact add` options.
 * Also the checks every contact's data passes before it is stored, shared
 * by the importer and `contact add`.
 */
#ifndef IV_CSVIMPORT_H
#define IV_CSVIMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define CSV_MAX_FIELD   (64u * 1024)
#define CSV_MAX_ROWS    1000000
/* Past this a single field stops the import (memory bound). */
#define CSV_MAX_BUFFER  (16u * 1024 * 1024)
#define CONTACT_MAX_VAR_KEY 64

/* Called for each usable row; return <0 to stop. line: the row's first
 * line in the file. */
typedef int (*csv_row_fn)(const struct contact_in *row, size_t line, void *arg);
/* Called for each row that is skipped, with why ("no email address"). */
typedef void (*csv_skip_fn)(size_t line, const char *why, void *arg);

/* Reads the file. field: default field for rows without one (may be NULL).
 * Returns 0, or a negative errno with "FILE:LINE: message" in *ret_err. */
int csvimport_file(const char *path, const char *field, csv_row_fn row,
    csv_skip_fn skip, void *arg, char **ret_err);
/* Same on a buffer (for tests and fuzzing). */
int csvimport_buffer(const char *name, const char *data, size_t len,
    const char *field, csv_row_fn row, csv_skip_fn skip, void *arg,
    char **ret_err);

/* True when key is a usable custom variable name: [a-z][a-z0-9_]*, at
 * most CONTACT_MAX_VAR_KEY bytes, and not a built-in template variable. */
bool csvimport_var_key_valid(const char *key);
/*
 * Checks a contact before it is stored: util_email_valid, tz_valid, valid
 * UTF-8 of at most CSV_MAX_FIELD bytes, no control characters (note may
 * hold TAB and LF), variable keys. Returns 0, or -EINVAL with *ret_why
 * (allocated) naming the field and, where safe, the value.
 */
int csvimport_contact_in_check(const struct contact_in *in, char **ret_why);

#endif
