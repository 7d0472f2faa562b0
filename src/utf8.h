/*
 * utf8.h - the one UTF-8 validator and width function: what every module
 * that reads text from outside (CSV, mail, calendars) or writes it for
 * people (JSON, the CLI's columns) uses. Pure: no I/O.
 */
#ifndef IV_UTF8_H
#define IV_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* Length (1..4) of the well-formed UTF-8 sequence at s, of which at most
 * n bytes may be read; 0 when it is not one (overlong forms, surrogates,
 * code points past U+10FFFF, a sequence cut short). A NUL byte ends any
 * sequence, so n may be SIZE_MAX for a NUL-terminated string. */
size_t utf8_seq_len(const char *s, size_t n);
/* True when the NUL-terminated s is well-formed UTF-8. */
bool utf8_valid(const char *s);
/* Display width of s: one column per code point (NULL is 0). */
size_t utf8_width(const char *s);
/* The largest length <= n that does not cut a UTF-8 sequence of s. */
size_t utf8_cut(const char *s, size_t n);
/* Appends the UTF-8 encoding of code point cp (at most U+10FFFF) to b. */
void utf8_put(struct buf *b, uint32_t cp);

#endif
