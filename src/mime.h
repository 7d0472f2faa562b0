/*
 * mime.h - e-mail on the wire (the only module that includes libetpan's
 * mailmime/mailimf). mime_out.c builds outgoing RFC 5322 messages;
 * mime_in.c parses incoming ones into a neutral struct, bounded and
 * isolated (see mime_parse_isolated).
 */
#ifndef IV_MIME_H
#define IV_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* ---- outgoing (mime_out.c) ---------------------------------------------- */

struct outmsg {
	const char *from_name, *from_addr;
	const char *to_name, *to_addr;
	const char *cc;                 /* "a@x, b@y" or NULL */
	const char *reply_to;           /* address or NULL */
	const char *subject;            /* UTF-8, no line breaks */
	const char *message_id;         /* "<...@...>" */
	const char *in_reply_to;        /* "<id>" or NULL */
	const char *references;         /* "<a> <b>" or NULL */
	time_t date;                    /* 0: now */
	bool auto_submitted;            /* Auto-Submitted: auto-generated */
	const char *text;               /* UTF-8 body, LF or CRLF */
	/* iMIP: with ics set the message is multipart/mixed {
	 * multipart/alternative { text/plain, text/calendar; method=M },
	 * invite.ics (application/ics) } */
	const char *ics;
	const char *ics_method;         /* "REQUEST", "CANCEL", ... */
};

/*
 * Builds the complete message: CRLF line ends only, no line over 998
 * octets, UTF-8 text/plain quoted-printable, RFC 2047 for non-ASCII header
 * text, MIME-Version. Refuses (-EINVAL, *ret_err says which field) any
 * address that fails util_email_valid and any header text with CR, LF or other
 * controls. *ret is NUL-terminated; *ret_len (may be NULL) excludes the
 * NUL. cc and reply_to may hold "addr" or "Name <addr>" elements. A NULL
 * message_id gets a fresh one (mime_new_message_id), a NULL ics_method
 * is "REQUEST".
 */
int mime_build(const struct outmsg *m, char **ret, size_t *ret_len,
    char **ret_err);
/* A fresh globally unique "<random.time@domain>" (caller frees). */
char *mime_new_message_id(const char *from_addr);

/* ---- incoming (mime_in.c) ----------------------------------------------- */

/* Bounds on what a stranger's message may make us do. */
#define MIME_MAX_MESSAGE   (25u * 1024 * 1024)
#define MIME_MAX_PARTS     256
#define MIME_MAX_DEPTH     16
#define MIME_MAX_HEADERS   1000
#define MIME_MAX_LINE      (64u * 1024)
#define MIME_MAX_TEXT      (1024u * 1024)
#define MIME_MAX_HEADER_BLOCK (1024u * 1024)   /* one block of header fields */

struct inhdr {
	char *name;
	char *value;                    /* unfolded, RFC 2047 decoded, UTF-8,
	                                   controls replaced by spaces */
};

/* A calendar found anywhere in the tree (text/calendar, application/ics,
 * *.ics attachment of any type). */
struct incal {
	char *content_type;             /* lower-case "text/calendar" ... */
	char *method;                   /* the method= parameter or NULL */
	char *data;                     /* decoded, NUL-terminated */
	size_t len;
};

struct inmsg {
	struct inhdr *headers;          /* top-level headers, in order */
	size_t n_headers;
	char *message_id;               /* "<...>" or NULL */
	char *in_reply_to;              /* first "<id>" or NULL */
	char *references;               /* "<a> <b>" or NULL */
	char *subject;                  /* decoded */
	char *from_addr;                /* lower-cased addr-spec */
	char *from_name;
	time_t date;                    /* 0 when missing or unparsable */
	char *content_type;             /* top level, lower-case type/subtype */
	char *report_type;              /* multipart/report's report-type */
	char *text;                     /* best text/plain (or text/html made
	                                   plain), decoded to UTF-8 */
	char *delivery_status;          /* the report's machine-readable part:
	                                   message/delivery-status (or -global-)
	                                   or message/feedback-report (ARF) */
	char *returned_headers;         /* text/rfc822-headers or the headers of
	                                   the first embedded message/rfc822
	                                   part (a report's returned message) */
	struct incal *cals;
	size_t n_cals;
	size_t n_parts;
};

/* The value of header name (case-insensitive), first one, or NULL. */
const char *mime_inmsg_header(const struct inmsg *m, const char *name);

/* Parses in-process. Enforces the MIME_MAX_* bounds before and while
 * parsing (rejecting with -E2BIG / -EBADMSG and *ret_err), and rejects
 * malformed boundary parameters (-EBADMSG). NUL bytes are read as spaces.
 * Text, calendars and reports come back with LF line ends; a part in an
 * unknown charset keeps its bytes with invalid UTF-8 replaced (U+FFFD).
 * Nothing inside an embedded message/rfc822 counts as our text or as a
 * calendar; the header block of the first one is returned_headers. */
int mime_parse(const char *raw, size_t len, struct inmsg **ret, char **ret_err);
/* Same, in a short-lived child with CPU and memory rlimits: a crash or a
 * stall costs this message only (-ECHILD / -ETIMEDOUT). */
int mime_parse_isolated(const char *raw, size_t len, struct inmsg **ret,
    char **ret_err);
/* Only the header block (up to the first empty line, or all of raw, at
 * most MIME_MAX_HEADER_BLOCK octets), read as mime_parse reads a whole
 * message's: headers, message_id, in_reply_to, references, subject,
 * from_addr, from_name, date, content_type and, for a multipart/report,
 * report_type; text is "", no calendars. */
int mime_parse_headers(const char *raw, size_t len, struct inmsg **ret,
    char **ret_err);
/* mime_parse (or with headers_only mime_parse_headers) of n messages in
 * one isolated child: rets[i] is NULL for one that could not be read. A
 * negative errno (all rets NULL) when the child failed: which message
 * made it fail is not known. */
int mime_parse_many_isolated(const char *const *raws, const size_t *lens,
    size_t n, bool headers_only, struct inmsg **rets, char **ret_err);
void mime_inmsg_free(struct inmsg *m);

/* For tests only: called in the parse child before it parses (a test sets
 * it to abort() or to stall); and the parent's wall-clock limit on the
 * child, in milliseconds (default 10000; the child also has 5 s of CPU). */
extern void (*mime_isolated_child_hook)(void);
extern int mime_isolated_timeout_ms;

#endif
