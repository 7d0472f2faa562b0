/*
 * classify_text.h - the text helpers under every classify_* module (pure:
 * no I/O, no logging): phrases at word boundaries, addresses in free text,
 * lines, the normalized text intents are read from, and its tokens.
 * Prefix ctext_. Nothing here knows about replies, bounces or slots.
 */
#ifndef IV_CLASSIFY_TEXT_H
#define IV_CLASSIFY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "mime.h"

#define CTEXT_ANALYZE_MAX  (64u * 1024)  /* new text read for intent */

/* ---- strings and phrases ------------------------------------------------- */

/* Letters for word boundaries: ASCII letters, digits and any UTF-8 byte. */
bool ctext_is_wordch(unsigned char c);
bool ctext_is_alpha8(unsigned char c);
/* The offset of phrase in low[from..len) at word boundaries, or -1. */
long ctext_find_phrase(const char *low, size_t len, const char *phrase,
    size_t from);
/* True when any of the NULL-terminated phrases occurs in low. */
bool ctext_has_any(const char *low, size_t len, const char *const *phrases);
/* The first of phrases (in list order) that occurs in low, or NULL. */
const char *ctext_which_any(const char *low, size_t len,
    const char *const *phrases);
/* A lower-cased copy (ASCII only; UTF-8 bytes kept); NULL gives "". */
char *ctext_lower_dup(const char *s);
const char *ctext_skip_ws(const char *p);
bool ctext_starts_ci(const char *s, const char *prefix);
/* A copy of s[0..n) trimmed of white space at both ends. */
char *ctext_trim_dup(const char *s, size_t n);
/* The first top-level header called name, or NULL. */
const char *ctext_header(const struct inmsg *m, const char *name);
/* Case-insensitive equality of two non-empty addresses. */
bool ctext_addr_eq(const char *a, const char *b);

/* ---- addresses in free text ---------------------------------------------- */

/* Finds the next address in s[from..len): true and its span, or false. */
bool ctext_next_address(const char *s, size_t len, size_t from,
    size_t *ret_start, size_t *ret_end);
/* A lower-cased copy of the address at s[a..b), or NULL when invalid. */
char *ctext_address_dup(const char *s, size_t a, size_t b);
/* mailer-daemon@, postmaster@, noreply@ and the like. */
bool ctext_is_robot_addr(const char *addr);

/* ---- lines --------------------------------------------------------------- */

struct ctext_line {
	const char *p;
	size_t len;             /* without the line end */
};

/* Splits text into lines (LF or CRLF); returns the count, *ret the array
 * (caller frees; it points into text). */
size_t ctext_split_lines(const char *text, struct ctext_line **ret);
/* A NUL-terminated, lower-cased and trimmed copy of a line (bounded). */
void ctext_line_low(const struct ctext_line *l, char *out, size_t outlen);

/* ---- normalized text and tokens ------------------------------------------ */

/*
 * The text an intent is read from: typographic quotes made ASCII, white
 * space collapsed. orig keeps case (for names), low is lower-cased; both
 * have the same offsets.
 */
struct ctext {
	char *orig;
	char *low;
	size_t len;
};

void ctext_init(struct ctext *t, const char *s, size_t max);
void ctext_done(struct ctext *t);

enum ctext_tok_kind {
	CT_WORD,
	CT_NUM,
	CT_PUNCT,
};

struct ctext_tok {
	enum ctext_tok_kind kind;
	size_t off, len;
	bool sp;                /* white space before */
	int num;                /* CT_NUM value, capped */
	int digits;
};

struct ctext_toks {
	struct ctext_tok *v;    /* caller frees v */
	size_t n;
	const char *low;
	size_t len;
};

void ctext_tokenize(const struct ctext *t, struct ctext_toks *tk);
/* Token i is the word w / one of words / a number in [lo, hi] (at most 4
 * digits) / the punctuation c / not preceded by white space. */
bool ctext_tok_is(const struct ctext_toks *tk, size_t i, const char *w);
bool ctext_tok_in(const struct ctext_toks *tk, size_t i,
    const char *const *words);
bool ctext_tok_num(const struct ctext_toks *tk, size_t i, int lo, int hi);
bool ctext_tok_punct(const struct ctext_toks *tk, size_t i, char c);
bool ctext_tok_nosp(const struct ctext_toks *tk, size_t i);

#endif
