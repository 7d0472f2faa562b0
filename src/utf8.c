/*
 * utf8.c - UTF-8 validation, width and cutting (see utf8.h).
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

size_t
utf8_seq_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t need, i;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;       /* also stops at a NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

bool
utf8_valid(const char *s)
{
	size_t k;

	while (*s != '\0') {
		if ((k = utf8_seq_len(s, SIZE_MAX)) == 0)
			return false;
		s += k;
	}
	return true;
}

size_t
utf8_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	size_t n = 0;
	uint64_t w;

	if (p == NULL)
		return 0;
	end = p + strlen(s);
	/* ASCII, most of what is measured, a column a byte: eight bytes
	 * at a time while none has its high bit set. */
	while (end - p >= 8) {
		memcpy(&w, p, sizeof(w));
		if ((w & 0x8080808080808080ULL) != 0)
			break;
		p += 8;
		n += 8;
	}
	for (; p < end; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

size_t
utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
utf8_put(struct buf *b, uint32_t cp)
{
	if (cp < 0x80)
		buf_addch(b, (char)cp);
	else if (cp < 0x800) {
		buf_addch(b, (char)(0xc0 | (cp >> 6)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(b, (char)(0xe0 | (cp >> 12)));
		buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(b, (char)(0xf0 | (cp >> 18)));
		buf_addch(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	}
}
