/*
 * folders.c - finding the Sent and Drafts folders (see folders.h) and the
 * modified UTF-7 of IMAP mailbox names. No I/O: the LIST result comes in.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "folders.h"
#include "utf8.h"
#include "util.h"

/* Tried in this order when no mailbox carries the attribute. Servers
 * with an "INBOX." namespace (Courier, older Cyrus) are covered by the
 * INBOX-prefixed match in find_name. */
static const char *const sent_names[] = {
	"Sent", "Sent Items", "Sent Messages", "Sent Mail",
	"[Gmail]/Sent Mail", "[Google Mail]/Sent Mail", "Sent Mail",
	"Gesendet", "Gesendete Objekte", "Gesendete Elemente",
	"Envoy&AOk-s", "&AMk-l&AOk-ments envoy&AOk-s", "Enviados",
	"Elementos enviados", "Posta inviata", "Verzonden items", NULL,
};
static const char *const drafts_names[] = {
	"Drafts", "Draft", "[Gmail]/Drafts", "[Google Mail]/Drafts",
	"Entw&APw-rfe", "Brouillons", "Borradores", "Bozze", "Concepten", NULL,
};

/* ---- modified UTF-7 --------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decodes one UTF-8 sequence at *p into *cp; false on a bad one. */
static bool
utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	uint32_t c;
	int n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		*p = s + 1;
		return true;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		c = s[0] & 0x1f;
		n = 1;
	} else if ((s[0] & 0xf0) == 0xe0) {
		c = s[0] & 0x0f;
		n = 2;
	} else if ((s[0] & 0xf8) == 0xf0) {
		c = s[0] & 0x07;
		n = 3;
	} else
		return false;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return false;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
	    (n == 3 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return false;
	*cp = c;
	*p = s + n + 1;
	return true;
}

/* Appends UTF-16 units in base64 (no padding) to b. */
static void
flush_b64(struct buf *b, const uint16_t *u, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	buf_addch(b, '&');
	for (i = 0; i < n; i++) {
		acc = (acc << 16) | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			buf_addch(b, b64[(acc >> bits) & 0x3f]);
		}
	}
	if (bits > 0)
		buf_addch(b, b64[(acc << (6 - bits)) & 0x3f]);
	buf_addch(b, '-');
}

char *
folders_mutf7_encode(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint16_t u[512];
	size_t nu = 0;
	struct buf b;
	uint32_t cp;

	buf_init(&b);
	while (*p != '\0') {
		if (!utf8_next(&p, &cp)) {
			buf_done(&b);
			return NULL;
		}
		if (cp >= 0x20 && cp <= 0x7e) {
			if (nu > 0) {
				flush_b64(&b, u, nu);
				nu = 0;
			}
			if (cp == '&')
				buf_addstr(&b, "&-");
			else
				buf_addch(&b, (char)cp);
			continue;
		}
		if (nu + 2 > nitems(u)) {
			flush_b64(&b, u, nu);
			nu = 0;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u[nu++] = (uint16_t)(0xd800 | (cp >> 10));
			u[nu++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
		} else
			u[nu++] = (uint16_t)cp;
	}
	if (nu > 0)
		flush_b64(&b, u, nu);
	return buf_steal(&b);
}

/* Decodes one &...- run starting after '&'; false when malformed. */
static bool
decode_run(struct buf *b, const char **pp)
{
	const char *p = *pp;
	uint32_t acc = 0, hi = 0;
	int bits = 0;
	const char *q;

	for (; *p != '-'; p++) {
		if (*p == '\0' || (q = strchr(b64, *p)) == NULL)
			return false;
		acc = (acc << 6) | (uint32_t)(q - b64);
		bits += 6;
		if (bits >= 16) {
			uint32_t unit = (acc >> (bits - 16)) & 0xffff;

			bits -= 16;
			if (unit >= 0xd800 && unit <= 0xdbff) {
				if (hi != 0)
					return false;
				hi = unit;
			} else if (unit >= 0xdc00 && unit <= 0xdfff) {
				if (hi == 0)
					return false;
				utf8_put(b, 0x10000 + ((hi - 0xd800) << 10) +
				    (unit - 0xdc00));
				hi = 0;
			} else {
				if (hi != 0 || (unit >= 0x20 && unit <= 0x7e))
					return false;
				utf8_put(b, unit);
			}
		}
	}
	if (hi != 0 || (acc & ((1u << bits) - 1)) != 0)
		return false;
	*pp = p + 1;
	return true;
}

char *
folders_mutf7_decode(const char *s)
{
	const char *p = s;
	struct buf b;

	buf_init(&b);
	while (*p != '\0') {
		if (*p != '&') {
			buf_addch(&b, *p++);
			continue;
		}
		p++;
		if (*p == '-') {
			buf_addch(&b, '&');
			p++;
			continue;
		}
		if (!decode_run(&b, &p)) {
			buf_done(&b);
			return xstrdup(s);
		}
	}
	return buf_steal(&b);
}

/* ---- picking ---------------------------------------------------------- */

/* The selectable mailbox called name (wire form, case-insensitive, also
 * under an INBOX. or INBOX/ prefix), or NULL. */
static const struct imap_mailbox *
find_name(const struct imap_mailbox *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(v[i].flags & IMAP_MB_NOSELECT) &&
		    strcasecmp(v[i].name, name) == 0)
			return &v[i];
	for (i = 0; i < n; i++)
		if (!(v[i].flags & IMAP_MB_NOSELECT) &&
		    strncasecmp(v[i].name, "INBOX", 5) == 0 &&
		    (v[i].name[5] == '.' || v[i].name[5] == '/') &&
		    strcasecmp(v[i].name + 6, name) == 0)
			return &v[i];
	return NULL;
}

int
folders_pick(const struct imap_mailbox *v, size_t n, const char *configured,
    unsigned use, char **ret_name, const char **ret_how)
{
	const char *const *names = use == IMAP_MB_SENT ? sent_names :
	    drafts_names;
	const struct imap_mailbox *m;
	char *wire;
	size_t i;

	if (!str_empty(configured) &&
	    strcmp(configured, CONFIG_FOLDER_AUTO) != 0) {
		if ((wire = folders_mutf7_encode(configured)) == NULL)
			return -EINVAL;
		/* as given: the exact name first, then any case */
		for (i = 0; i < n; i++)
			if (strcmp(v[i].name, wire) == 0)
				break;
		m = i < n ? &v[i] : find_name(v, n, wire);
		free(wire);
		if (m == NULL)
			return -ENOENT;
		*ret_name = xstrdup(m->name);
		*ret_how = "configured";
		return 0;
	}
	for (i = 0; i < n; i++)
		if ((v[i].flags & use) && !(v[i].flags & IMAP_MB_NOSELECT)) {
			*ret_name = xstrdup(v[i].name);
			*ret_how = "special-use";
			return 0;
		}
	for (; *names != NULL; names++)
		if ((m = find_name(v, n, *names)) != NULL) {
			*ret_name = xstrdup(m->name);
			*ret_how = "well-known name";
			return 0;
		}
	return -ENOENT;
}
