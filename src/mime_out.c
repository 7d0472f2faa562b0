/*
 * mime_out.c - builds the outgoing RFC 5322 / MIME messages: plain text,
 * or the iMIP (RFC 6047) layout with a calendar.
 *
 * The message shapes are fixed (one text part, or mixed{alternative{text,
 * calendar}, invite.ics}), so the structure is written here directly
 * rather than assembled as a libetpan mailmime tree: what matters is what
 * libetpan's writer does not give us. It has no RFC 2047 encoder, its
 * header writer folds but does not encode, and its quoted-printable writer
 * (1.9.4) repeats a space that ends a line ("a \n" comes out "a =20").
 * So the RFC 2047 encoder, the header folding and the quoted-printable
 * encoder are ours; base64 bodies use libetpan's mailmime_base64_write_mem.
 *
 * Every line ends in CRLF; no line is longer than 78 octets in the headers
 * (encoded words are at most 66) or 76 in encoded bodies; contact data is
 * checked before it can become header structure.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "mime.h"
#include "util.h"

#define HDR_FOLD_COL    78      /* fold header lines before this column */
#define EW_MAX_LEN      66      /* an encoded word, "=?UTF-8?B?...?=" */
#define EW_OVERHEAD     12      /* strlen("=?UTF-8?B?") + strlen("?=") */
#define WORD_MAX_PLAIN  70      /* longer ASCII runs are encoded instead */
#define QP_MAX_COL      76      /* RFC 2045 6.7 (5) */
#define MSGID_MAX       250

/* ---- small checks -------------------------------------------------------- */

static bool
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* True when some run of non-space characters is longer than max. */
static bool
has_long_word(const char *s, size_t max)
{
	size_t run = 0;

	for (; *s; s++) {
		run = *s == ' ' ? 0 : run + 1;
		if (run > max)
			return true;
	}
	return false;
}

/* True for "<left@right>": no spaces, controls, or extra angle brackets. */
static bool
msgid_valid(const char *s, size_t len)
{
	size_t i;
	bool at = false;

	if (len < 3 || len > MSGID_MAX || s[0] != '<' || s[len - 1] != '>')
		return false;
	for (i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
			return false;
		if (c == '@')
			at = true;
	}
	return at;
}

/* True when s is one or more msg-ids separated by white space. */
static bool
msgid_list_valid(const char *s)
{
	size_t n, count = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		n = strcspn(s, " \t");
		if (!msgid_valid(s, n))
			return false;
		count++;
		s += n;
	}
	return count > 0;
}

/* True for an iTIP method name: letters, digits and '-'. */
static bool
token_valid(const char *s)
{
	if (str_empty(s) || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!(*s >= 'A' && *s <= 'Z') && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-')
			return false;
	return true;
}

/* Sets *ret_err and returns -EINVAL. */
static int
refuse(char **ret_err, const char *field, const char *what, const char *val)
{
	if (ret_err != NULL) {
		struct buf b;
		const char *p;

		/* The value is shown with C escapes so the refusal itself
		 * cannot carry a line break into a log or a reply. */
		buf_init(&b);
		buf_printf(&b, "%s: %s", field, what);
		if (val != NULL) {
			buf_addstr(&b, " \"");
			for (p = val; *p && b.len < 300; p++) {
				unsigned char c = (unsigned char)*p;

				if (c == '\r')
					buf_addstr(&b, "\\r");
				else if (c == '\n')
					buf_addstr(&b, "\\n");
				else if (c == '"' || c == '\\')
					buf_printf(&b, "\\%c", c);
				else if (c < 0x20 || c == 0x7f)
					buf_printf(&b, "\\x%02x", c);
				else
					buf_addch(&b, (char)c);
			}
			buf_addch(&b, '"');
		}
		*ret_err = buf_steal(&b);
	}
	return -EINVAL;
}

/* ---- header text ---------------------------------------------------------- */

/* Length of the UTF-8 sequence starting with byte c (1 for invalid bytes,
 * so malformed input is still cut somewhere). */
static size_t
utf8_seqlen(unsigned char c)
{
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	if (c >= 0xe0)
		return c <= 0xef ? 3 : 1;
	if (c >= 0xc2)
		return 2;
	return 1;
}

/*
 * Appends s as RFC 2047 "B" encoded words separated by single spaces
 * (which decoders drop between adjacent encoded words). Each word holds
 * whole UTF-8 characters and is at most EW_MAX_LEN octets. Hand-written:
 * libetpan decodes encoded words but cannot produce them.
 */
static void
add_encoded_words(struct buf *b, const char *s)
{
	const size_t maxbytes = (EW_MAX_LEN - EW_OVERHEAD) / 4 * 3;
	size_t len = strlen(s), off = 0;

	while (off < len) {
		size_t n = 0, k;
		MMAPString *enc;
		int col = 0;

		while (off + n < len) {
			k = utf8_seqlen((unsigned char)s[off + n]);
			if (off + n + k > len)
				k = len - off - n;
			if (n + k > maxbytes)
				break;
			n += k;
		}
		if (n == 0)     /* cannot happen: maxbytes >= 4 */
			n = 1;
		if ((enc = mmap_string_new("")) == NULL)
			fatalx("mmap_string_new");
		if (mailmime_base64_write_mem(enc, &col, s + off, n) !=
		    MAILIMF_NO_ERROR)
			fatalx("mailmime_base64_write_mem");
		/* the writer ends with CRLF; the text fits on one line */
		while (enc->len > 0 && (enc->str[enc->len - 1] == '\n' ||
		    enc->str[enc->len - 1] == '\r'))
			enc->len--;
		if (off > 0)
			buf_addch(b, ' ');
		buf_addstr(b, "=?UTF-8?B?");
		buf_add(b, enc->str, enc->len);
		buf_addstr(b, "?=");
		mmap_string_free(enc);
		off += n;
	}
}

/* Appends unstructured text (a subject): as is when it is short-worded
 * ASCII that cannot be mistaken for an encoded word, else encoded. */
static void
add_unstructured(struct buf *b, const char *s)
{
	if (is_ascii(s) && !has_long_word(s, WORD_MAX_PLAIN) &&
	    strstr(s, "=?") == NULL)
		buf_addstr(b, s);
	else
		add_encoded_words(b, s);
}

/* Appends a display name as an RFC 5322 phrase: atoms as they are, a
 * quoted string when it has specials, encoded words when not ASCII. */
static void
add_phrase(struct buf *b, const char *name)
{
	const char *p;
	bool quote = false;

	if (!is_ascii(name) || has_long_word(name, WORD_MAX_PLAIN) ||
	    strstr(name, "=?") != NULL) {
		add_encoded_words(b, name);
		return;
	}
	for (p = name; *p; p++)
		if (strchr("()<>[]:;@\\,.\"", *p) != NULL)
			quote = true;
	if (name[0] == ' ' || (*name && name[strlen(name) - 1] == ' ') ||
	    strstr(name, "  ") != NULL)
		quote = true;
	if (!quote) {
		buf_addstr(b, name);
		return;
	}
	buf_addch(b, '"');
	for (p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *p);
	}
	buf_addch(b, '"');
}

/*
 * Appends "name: value" CRLF, folding at spaces so lines stay within
 * HDR_FOLD_COL where the words allow. Callers guarantee that no word is
 * longer than an encoded word or an address, so no line nears 998.
 */
static void
add_header(struct buf *b, const char *name, const char *value)
{
	size_t col, n;
	const char *p = value;
	bool first = true;

	buf_printf(b, "%s:", name);
	col = strlen(name) + 1;
	for (;;) {
		n = strcspn(p, " ");
		if (!first && n > 0 && col + 1 + n > HDR_FOLD_COL) {
			buf_addstr(b, "\r\n");
			col = 0;
		}
		buf_addch(b, ' ');
		buf_add(b, p, n);
		col += 1 + n;
		first = false;
		p += n;
		if (*p == '\0')
			break;
		p++;                    /* the space we split at */
	}
	buf_addstr(b, "\r\n");
}

/* ---- addresses ------------------------------------------------------------ */

/* Appends "Name <addr>" or "addr" after checking both. */
static int
add_mailbox(struct buf *b, const char *field, const char *name,
    const char *addr, char **ret_err)
{
	if (!util_email_valid(addr))
		return refuse(ret_err, field, "invalid address", addr ? addr : "");
	if (name != NULL && str_has_ctl(name, false))
		return refuse(ret_err, field, "display name with control characters",
		    name);
	if (str_empty(name)) {
		buf_addstr(b, addr);
		return 0;
	}
	add_phrase(b, name);
	buf_printf(b, " <%s>", addr);
	return 0;
}

/* Appends one element of an address list: "addr" or "Name <addr>". */
static int
add_list_element(struct buf *b, const char *field, const char *elem,
    char **ret_err)
{
	char *copy = str_trim(xstrdup(elem)), *lt, *name = NULL;
	size_t len = strlen(copy);
	int r;

	lt = strrchr(copy, '<');
	if (lt != NULL && len > 0 && copy[len - 1] == '>') {
		copy[len - 1] = '\0';
		*lt = '\0';
		name = str_trim(copy);
		if (len >= 2 && name[0] == '"' && name[strlen(name) - 1] == '"' &&
		    strlen(name) >= 2) {
			name[strlen(name) - 1] = '\0';
			name++;
		}
		r = add_mailbox(b, field, name, lt + 1, ret_err);
	} else
		r = add_mailbox(b, field, NULL, copy, ret_err);
	free(copy);
	return r;
}

/* The ',' ending the list element at p (or its NUL), outside quotes. */
static const char *
list_element_end(const char *p)
{
	bool quoted = false;

	for (; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			break;
	}
	return p;
}

/* Builds a comma-separated list from "a@x, Name <b@y>" into *ret. */
static int
format_address_list(const char *field, const char *list, char **ret,
    char **ret_err)
{
	struct buf b;
	const char *p = list, *end;
	size_t count = 0;
	int r = 0;

	if (str_has_ctl(list, false))
		return refuse(ret_err, field, "invalid address", list);
	buf_init(&b);
	while (*p != '\0') {
		char *elem;

		end = list_element_end(p);
		elem = xstrndup(p, (size_t)(end - p));
		if (!str_empty(str_trim(elem))) {
			if (count++ > 0)
				buf_addstr(&b, ", ");
			r = add_list_element(&b, field, elem, ret_err);
		}
		free(elem);
		if (r < 0)
			goto out;
		p = *end ? end + 1 : end;
	}
	if (count == 0) {
		r = refuse(ret_err, field, "empty address list", NULL);
		goto out;
	}
	*ret = buf_steal(&b);
out:
	buf_done(&b);
	return r;
}

/* ---- bodies ---------------------------------------------------------------- */

/* Copy of text with every line ending made CRLF and a final CRLF. */
static char *
normalise_crlf(const char *text, size_t *ret_len)
{
	struct buf b;
	const char *p;

	buf_init(&b);
	for (p = text; *p; p++) {
		if (*p == '\r') {
			if (p[1] == '\n')
				p++;
			buf_addstr(&b, "\r\n");
		} else if (*p == '\n')
			buf_addstr(&b, "\r\n");
		else
			buf_addch(&b, *p);
	}
	if (b.len < 2 || b.data[b.len - 1] != '\n')
		buf_addstr(&b, "\r\n");
	*ret_len = b.len;
	return buf_steal(&b);
}

/* True when CRLF text may go out as 7bit: ASCII printable and TAB only,
 * lines of at most 76 octets, none starting with "." or "From ", no
 * white space before a line end, no "=_" (our boundary prefix). */
static bool
fits_7bit(const char *s, size_t len)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			i++;
			col = 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return false;
		if (col == 0 && (c == '.' || (len - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0)))
			return false;
		if ((c == ' ' || c == '\t') && i + 1 < len && s[i + 1] == '\r')
			return false;
		if (++col > QP_MAX_COL)
			return false;
		if (c == '=' && i + 1 < len && s[i + 1] == '_')
			return false;
	}
	return true;
}

/*
 * Appends CRLF text as quoted-printable (RFC 2045 6.7): soft breaks keep
 * lines within 76, white space before a line end is encoded, '=' and
 * non-printables are encoded, and so are an 'F' or a '.' starting a line
 * (so "From " never starts a line in an mbox, and no line is a lone "."
 * even for a transport that forgets to dot-stuff). Hand-written; see the
 * top of the file.
 */
static void
add_qp(struct buf *b, const char *s, size_t len)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool eol = i + 1 >= len || (s[i + 1] == '\r' && i + 2 < len &&
		    s[i + 2] == '\n');
		char tok[4];
		size_t n;

		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			buf_addstr(b, "\r\n");
			i++;
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=' &&
		    !((c == 'F' || c == '.') && col == 0)) ||
		    ((c == ' ' || c == '\t') && !eol)) {
			tok[0] = (char)c;
			n = 1;
		} else {
			snprintf(tok, sizeof(tok), "=%02X", c);
			n = 3;
		}
		/* keep room for the soft break '=' unless this ends the line */
		if (col + n > (eol ? QP_MAX_COL : QP_MAX_COL - 1)) {
			buf_addstr(b, "=\r\n");
			col = 0;
		}
		buf_add(b, tok, n);
		col += n;
	}
	if (col > 0)
		buf_addstr(b, "\r\n");
}

/* Appends data as base64 lines of 76 (libetpan's encoder), ending in CRLF. */
static void
add_base64(struct buf *b, const char *s, size_t len)
{
	MMAPString *enc;
	int col = 0;

	if ((enc = mmap_string_new("")) == NULL)
		fatalx("mmap_string_new");
	if (mailmime_base64_write_mem(enc, &col, s, len) != MAILIMF_NO_ERROR)
		fatalx("mailmime_base64_write_mem");
	buf_add(b, enc->str, enc->len);
	mmap_string_free(enc);
}

/* Appends the text/plain part: headers, blank line, encoded body. */
static void
add_text_part(struct buf *b, const char *text, size_t len)
{
	bool plain = fits_7bit(text, len);

	buf_addstr(b, "Content-Type: text/plain; charset=UTF-8\r\n");
	buf_printf(b, "Content-Transfer-Encoding: %s\r\n\r\n",
	    plain ? "7bit" : "quoted-printable");
	if (plain)
		buf_add(b, text, len);
	else
		add_qp(b, text, len);
}

/* A fresh boundary; "=_" cannot occur in quoted-printable or base64. */
static char *
new_boundary(const char *tag)
{
	unsigned char r[12];
	char hex[sizeof(r) * 2 + 1];
	size_t i;

	util_random_bytes(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(hex + i * 2, 3, "%02x", r[i]);
	return xasprintf("=_%s%s", tag, hex);
}

/* Appends the iMIP body: mixed { alternative { text, calendar }, .ics }. */
static void
add_imip_body(struct buf *b, const char *text, size_t text_len,
    const char *ics, const char *method)
{
	char *mixed = new_boundary("m"), *alt = new_boundary("a");
	size_t ics_len = strlen(ics);

	buf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n",
	    mixed);
	buf_addstr(b, "This is a multi-part message in MIME format.\r\n");
	buf_printf(b, "\r\n--%s\r\n", mixed);
	buf_printf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n",
	    alt);
	buf_printf(b, "\r\n--%s\r\n", alt);
	add_text_part(b, text, text_len);
	buf_printf(b, "\r\n--%s\r\n", alt);
	buf_printf(b, "Content-Type: text/calendar; charset=UTF-8; method=%s\r\n",
	    method);
	buf_addstr(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	add_qp(b, ics, ics_len);
	buf_printf(b, "\r\n--%s--\r\n", alt);
	buf_printf(b, "\r\n--%s\r\n", mixed);
	buf_addstr(b, "Content-Type: application/ics; name=\"invite.ics\"\r\n");
	buf_addstr(b, "Content-Disposition: attachment; filename=\"invite.ics\"\r\n");
	buf_addstr(b, "Content-Transfer-Encoding: base64\r\n\r\n");
	add_base64(b, ics, ics_len);
	buf_printf(b, "\r\n--%s--\r\n", mixed);
	free(mixed);
	free(alt);
}

/* ---- the message ------------------------------------------------------------ */

/* RFC 5322 date-time in UTC, independent of the locale. */
static void
format_date(time_t t, char *out, size_t outlen)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%s, %d %s %d %02d:%02d:%02d +0000",
	    wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Appends the header "field: mailbox"; 0 or -EINVAL. */
static int
header_mailbox(struct buf *b, const char *field, const char *name,
    const char *addr, char **ret_err)
{
	struct buf v;
	int r;

	buf_init(&v);
	if ((r = add_mailbox(&v, field, name, addr, ret_err)) == 0)
		add_header(b, field, v.data);
	buf_done(&v);
	return r;
}

/* Appends the header "field: a, b, ..."; 0 or -EINVAL. */
static int
header_list(struct buf *b, const char *field, const char *list, char **ret_err)
{
	char *v = NULL;
	int r;

	if ((r = format_address_list(field, list, &v, ret_err)) == 0)
		add_header(b, field, v);
	free(v);
	return r;
}

/* Checks and appends the Message-ID, In-Reply-To and References fields. */
static int
add_id_headers(struct buf *b, const struct outmsg *m, char **ret_err)
{
	char *generated = NULL;
	const char *id = m->message_id;

	if (id == NULL)
		id = generated = mime_new_message_id(m->from_addr);
	if (!msgid_valid(id, strlen(id))) {
		free(generated);
		return refuse(ret_err, "Message-ID", "invalid message id", id);
	}
	add_header(b, "Message-ID", id);
	free(generated);
	if (m->in_reply_to != NULL) {
		if (!msgid_list_valid(m->in_reply_to))
			return refuse(ret_err, "In-Reply-To", "invalid message id",
			    m->in_reply_to);
		add_header(b, "In-Reply-To", m->in_reply_to);
	}
	if (m->references != NULL) {
		if (!msgid_list_valid(m->references))
			return refuse(ret_err, "References", "invalid message id",
			    m->references);
		add_header(b, "References", m->references);
	}
	return 0;
}

/* Checks and appends every header up to (not including) Content-Type. */
static int
add_headers(struct buf *b, const struct outmsg *m, char **ret_err)
{
	struct buf v;
	char date[64];
	const char *subject = m->subject ? m->subject : "";
	int r;

	format_date(m->date != 0 ? m->date : util_now(), date, sizeof(date));
	add_header(b, "Date", date);
	if ((r = header_mailbox(b, "From", m->from_name, m->from_addr,
	    ret_err)) < 0)
		return r;
	if ((r = header_mailbox(b, "To", m->to_name, m->to_addr, ret_err)) < 0)
		return r;
	if (m->cc != NULL && (r = header_list(b, "Cc", m->cc, ret_err)) < 0)
		return r;
	if (m->reply_to != NULL &&
	    (r = header_list(b, "Reply-To", m->reply_to, ret_err)) < 0)
		return r;
	if (str_has_ctl(subject, false))
		return refuse(ret_err, "Subject", "control characters in", subject);
	buf_init(&v);
	add_unstructured(&v, subject);
	add_header(b, "Subject", v.data ? v.data : "");
	buf_done(&v);
	if ((r = add_id_headers(b, m, ret_err)) < 0)
		return r;
	add_header(b, "MIME-Version", "1.0");
	if (m->auto_submitted)
		add_header(b, "Auto-Submitted", "auto-generated");
	return 0;
}

int
mime_build(const struct outmsg *m, char **ret, size_t *ret_len, char **ret_err)
{
	struct buf b;
	char *text = NULL;
	const char *method = m->ics_method ? m->ics_method : "REQUEST";
	size_t text_len;
	int r;

	buf_init(&b);
	if ((r = add_headers(&b, m, ret_err)) < 0)
		goto out;
	if (m->ics != NULL && !token_valid(method)) {
		r = refuse(ret_err, "Content-Type", "invalid calendar method",
		    method);
		goto out;
	}
	text = normalise_crlf(m->text ? m->text : "", &text_len);
	if (m->ics != NULL)
		add_imip_body(&b, text, text_len, m->ics, method);
	else
		add_text_part(&b, text, text_len);
	if (ret_len != NULL)
		*ret_len = b.len;
	*ret = buf_steal(&b);
out:
	free(text);
	buf_done(&b);
	return r;
}

char *
mime_new_message_id(const char *from_addr)
{
	unsigned char r[16];
	char hex[sizeof(r) * 2 + 1], *domain = NULL, *id;
	size_t i;

	util_random_bytes(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(hex + i * 2, 3, "%02x", r[i]);
	if (util_email_valid(from_addr))
		domain = util_email_domain(from_addr);
	id = xasprintf("<%s.%lld@%s>", hex, (long long)time(NULL),
	    domain ? domain : "infoviewd.invalid");
	free(domain);
	return id;
}
