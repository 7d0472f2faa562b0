/*
 * template.h - the Mustache subset of infoviewd.conf(5) TEMPLATES, pure (no I/O beyond
 * reading a template file in template_load, no logging).
 *
 *   {{var}}                 value; a bare {{var}} outside any section is
 *                           REQUIRED: rendering it empty fails (-ENODATA)
 *                           and names the variable, so "Hi ," is never sent
 *   {{#var}}...{{/var}}     when var is a non-empty scalar: once; when it is
 *                           a list: once per item, with the item's fields
 *                           in scope (and {{.}} the item's own value)
 *   {{^var}}...{{/var}}     when var is empty / an empty list
 *   {{! comment }}          dropped (may span lines)
 *
 * A line holding nothing but a section tag or a comment (and white space)
 * disappears entirely, as in Mustache, so sections can sit on lines of
 * their own. Tags other than a comment must end on the line they start.
 * Variable names: letters, digits, '_', '-', '.'; at most 64 characters.
 * No HTML escaping: the output is plain-text mail.
 *
 * A template file is a header block (Subject: required; Cc:, Reply-To:
 * allowed, each at most once, Cc a comma-separated list of bare addresses),
 * a blank line, the body. Headers may use variables too (sections must
 * close within the header line). Lines of the header block that hold only
 * a {{! comment }} are skipped, so a file may open with a comment.
 * CRLF in the file is read as LF.
 */
#ifndef IV_TEMPLATE_H
#define IV_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Bounds: template file size, section nesting, rendered output. */
#define TEMPLATE_MAX_FILE       (256u * 1024)
#define TEMPLATE_MAX_DEPTH      16
#define TEMPLATE_MAX_OUTPUT     (1024u * 1024)
#define TEMPLATE_MAX_NAME       64

/* A rendering context: named scalars and named lists of sub-contexts. */
struct tvars;
struct tvars *template_vars_new(void);
void template_vars_free(struct tvars *v);
/* Sets (copies) a scalar; value NULL is stored as "". Replaces a scalar or
 * list of the same name. */
void template_vars_set(struct tvars *v, const char *name, const char *value);
/* Appends an item to list `name` (creating the list); the item is owned by
 * v. Marks the list as present even before the first add. */
struct tvars *template_vars_list_add(struct tvars *v, const char *name);
/* Declares list `name` (possibly left empty). */
void template_vars_list_declare(struct tvars *v, const char *name);
/* Appends a plain string item to list `name` ({{.}} inside the section). */
void template_vars_list_add_str(struct tvars *v, const char *name,
    const char *value);
/* A scalar's value, NULL when unset (or a list). */
const char *template_vars_get(const struct tvars *v, const char *name);

struct template;

/* Parses text (file name used in errors). Syntax errors as
 * "FILE:LINE: message" lines (every header problem, the first body
 * problem). Returns 0 or -EINVAL. */
int template_parse(const char *filename, const char *text,
    struct template **ret, char **ret_err);
/* Loads name (e.g. "outreach.txt") from dir, else (dir NULL, "" or the file
 * absent there) from shipped_dir. Returns 0, -EINVAL (syntax, with
 * *ret_err), -ENOENT (in neither place) or another -errno. */
int template_load(const char *dir, const char *shipped_dir, const char *name,
    struct template **ret, char **ret_err);
void template_free(struct template *t);
/* The file the template came from. */
const char *template_filename(const struct template *t);

/* Every variable name used that is not in known[] (NULL-terminated),
 * as "FILE:LINE: unknown variable 'x'" lines. Returns 0 or -EINVAL.
 * Names inside a list section may also be fields of that list's items
 * (list_fields: "slots.n", "slots.when", "questions.category" ...);
 * {{.}} is accepted inside any section. */
int template_check_vars(const struct template *t, const char *const *known,
    char **ret_err);

struct rendered {
	char *subject;          /* trimmed, never empty */
	char *cc;               /* NULL when absent or rendered empty */
	char *reply_to;         /* NULL when absent or rendered empty */
	char *body;             /* LF line ends */
};
void template_rendered_done(struct rendered *r);

/* Renders. Returns 0; -ENODATA with *ret_err = "first_name, company" (the
 * required variables that were empty, each named once, in order of first
 * use); -EINVAL with *ret_err saying why for a header that renders with a
 * control character (CR/LF included), a variable in Cc:/Reply-To: whose
 * value is not one bare address (no ',', ';', '<', space ...: contact
 * data never adds recipients), or a Subject that renders empty;
 * -E2BIG when the output would pass TEMPLATE_MAX_OUTPUT. *ret is untouched
 * on failure. */
int template_render(const struct template *t, const struct tvars *v,
    struct rendered *ret, char **ret_err);

/*
 * The builtin variable names (NULL-terminated): those of infoviewd.conf(5) TEMPLATES
 *   first_name name email company role field referrer referrer_first_name
 *   note me_name me_first_name me_email me_signature resume_url
 *   slots (slots.n, slots.when) meeting_when meeting_date meeting_time
 *   meeting_tz meeting_duration meeting_location
 *   questions (questions.category, questions.items: strings, {{.}})
 * plus the few that messages about a contact or to the user need:
 *   slot_count      how many slots are offered, "" when none (set by
 *                   compose), so a template can introduce the list once
 * and, set by the caller through compose_req.extra where they apply:
 *   referrer_email  the referrer's address, when known
 *   contact_state   the contact's lifecycle state (lifecycle.c)
 *   reason          why the user is told (notice), or why a meeting is
 *                   cancelled (cancel)
 *   snippet         the start of the message that arrived (notice)
 *   thread          the conversation so far, oldest first (prep)
 *   referrals       people suggested in a reply, one per line (notice)
 *   tell_referrer   non-empty when a reminder is about telling the
 *                   referrer what came of the introduction (reminder)
 *   notes           the notes from the conversation (infoviewctl meeting
 *                   note), for messages about a meeting
 *   topics          the notes' lines as a list of strings ({{.}}), at
 *                   most five, list markers removed
 *   earlier_notes   notes from earlier meetings with this contact or
 *                   people of the same company or field (prep)
 * keeping in touch (keepintouch, update):
 *   since_date      when the contact was last thanked or written to
 *   referral_news   list: the people this contact referred and where
 *                   each stands; referral_count how many ("" if none)
 *   interviews_since list: conversations held since in the contact's
 *                   field; interview_count how many ("" if none)
 * the weekly digest (digest), each a list of strings, empty when nothing:
 *   meetings_ahead, meetings_past, waiting, followups_due, keep_due,
 *   fields (progress toward goal.interviews_per_field)
 */
extern const char *const template_builtin_vars[];

#endif
