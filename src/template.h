/*
 * template.h - the Mustache subset of SPEC section 5, pure (no I/O beyond
 * reading a template file in template_load, no logging).
 *
 *   {{var}}                 value; a bare {{var}} outside any section is
 *                           REQUIRED: rendering it empty fails (-ENODATA)
 *                           and names the variable, so "Hi ," is never sent
 *   {{#var}}...{{/var}}     when var is a non-empty scalar: once; when it is
 *                           a list: once per item, with the item's fields
 *                           in scope (and {{.}} the item's own value)
 *   {{^var}}...{{/var}}     when var is empty / an empty list
 *   {{! comment }}          dropped
 *
 * A template file is a header block (Subject: required; Cc:, Reply-To:
 * allowed), a blank line, the body. Headers may use variables too.
 */
#ifndef IV_TEMPLATE_H
#define IV_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* A rendering context: named scalars and named lists of sub-contexts. */
struct tvars;
struct tvars *tvars_new(void);
void tvars_free(struct tvars *v);
/* Sets (copies) a scalar; value NULL is stored as "". */
void tvars_set(struct tvars *v, const char *name, const char *value);
/* Appends an item to list `name` (creating the list); the item is owned by
 * v. Marks the list as present even before the first add. */
struct tvars *tvars_list_add(struct tvars *v, const char *name);
/* Declares list `name` (possibly left empty). */
void tvars_list_declare(struct tvars *v, const char *name);
/* Appends a plain string item to list `name` ({{.}} inside the section). */
void tvars_list_add_str(struct tvars *v, const char *name, const char *value);
/* A scalar's value, NULL when unset. */
const char *tvars_get(const struct tvars *v, const char *name);

struct template;

/* Parses text (file name used in errors). Syntax errors as
 * "FILE:LINE: message". Returns 0 or -EINVAL. */
int template_parse(const char *filename, const char *text,
    struct template **ret, char **ret_err);
/* Loads name (e.g. "outreach.txt") from dir, else from shipped_dir. */
int template_load(const char *dir, const char *shipped_dir, const char *name,
    struct template **ret, char **ret_err);
void template_free(struct template *t);
/* The file the template came from. */
const char *template_filename(const struct template *t);

/* Every variable name used that is not in known[] (NULL-terminated),
 * as "FILE:LINE: unknown variable 'x'" lines. Returns 0 or -EINVAL.
 * Names inside a list section may also be fields of that list's items
 * (list_fields: "slots.n", "slots.when", "questions.category" ...). */
int template_check_vars(const struct template *t, const char *const *known,
    char **ret_err);

struct rendered {
	char *subject;
	char *cc;               /* NULL when absent */
	char *reply_to;         /* NULL when absent */
	char *body;             /* LF line ends */
};
void rendered_done(struct rendered *r);

/* Renders. Returns 0, or -ENODATA with *ret_missing = "first_name, company"
 * (the required variables that were empty), or -EINVAL for a header that
 * is not allowed or renders with a line break. */
int template_render(const struct template *t, const struct tvars *v,
    struct rendered *ret, char **ret_missing);

/* The builtin variable names of SPEC section 5 (NULL-terminated). */
extern const char *const template_builtin_vars[];

#endif
