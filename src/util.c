/*
 * util.c - allocation, buffers, durations, clock, zones, addresses.
 *
 * Time zones are handled by switching TZ and calling the C library's
 * tzset/mktime/localtime_r: glibc reads the system's IANA zoneinfo, which is
 * exactly the database we want, and the daemon is single-threaded, so no
 * extra library is needed for this.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatal("calloc");
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *q = reallocarray(p, nmemb ? nmemb : 1, size ? size : 1);

	if (q == NULL)
		fatal("reallocarray");
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		fatal("strndup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	return p;
}

void
util_freep(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		fatalx("buffer overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
	b->data = xreallocarray(b->data, b->cap, 1);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addch(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap) {     /* room: the common case, inline */
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return;
	}
	buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("vsnprintf");
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	buf_init(b);
	return p;
}

void
buf_done(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

int
util_parse_duration(const char *s, long *ret_secs)
{
	long total = 0;
	bool any = false;

	if (s == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	while (*s != '\0') {
		char *end;
		long n, mult;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		n = strtol(s, &end, 10);
		if (errno != 0 || n < 0)
			return -EINVAL;
		switch (*end) {
		case 's': mult = 1; end++; break;
		case 'm': mult = 60; end++; break;
		case 'h': mult = 3600; end++; break;
		case 'd': mult = 86400; end++; break;
		case 'w': mult = 7 * 86400; end++; break;
		case '\0': mult = 1; break;
		default: return -EINVAL;
		}
		if (n > (LONG_MAX - total) / mult)
			return -EINVAL;
		total += n * mult;
		any = true;
		while (isspace((unsigned char)*end))
			end++;
		s = end;
	}
	if (!any)
		return -EINVAL;
	*ret_secs = total;
	return 0;
}

const char *
util_format_duration(long secs)
{
	static char out[64];
	long d = secs / 86400, h = (secs % 86400) / 3600;
	long m = (secs % 3600) / 60, s = secs % 60;

	if (secs < 0)
		secs = 0;
	if (d > 0)
		snprintf(out, sizeof(out), h ? "%ldd %ldh" : "%ldd", d, h);
	else if (h > 0)
		snprintf(out, sizeof(out), m ? "%ldh %ldm" : "%ldh", h, m);
	else if (m > 0)
		snprintf(out, sizeof(out), "%ldm", m);
	else
		snprintf(out, sizeof(out), "%lds", s);
	return out;
}

int
util_parse_hhmm(const char *s, int *ret_min)
{
	int h, m, n = 0;

	if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || s[n] != '\0')
		return -EINVAL;
	if (h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0))
		return -EINVAL;
	*ret_min = h * 60 + m;
	return 0;
}

int
util_parse_wday(const char *s, size_t len)
{
	static const char *days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	size_t i;

	if (len < 3)
		return -EINVAL;
	for (i = 0; i < nitems(days); i++)
		if (strncasecmp(s, days[i], 3) == 0)
			return (int)i;
	return -EINVAL;
}

time_t
util_now(void)
{
	const char *off = getenv("INFOVIEWD_TIME_OFFSET");
	time_t now = time(NULL);

	if (off != NULL && *off != '\0') {
		char *end;
		long long v = strtoll(off, &end, 10);

		if (*end == '\0')
			now += (time_t)v;
	}
	return now;
}

bool
tz_valid(const char *zone)
{
	char path[PATH_MAX];
	struct stat st;
	const char *p;

	if (str_empty(zone) || zone[0] == '/' || strlen(zone) > 64)
		return false;
	for (p = zone; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
			return false;
	if (strstr(zone, "..") != NULL)
		return false;
	if (strcmp(zone, "UTC") == 0)
		return true;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *
tz_system(void)
{
	static char zone[128];
	const char *env = getenv("TZ");
	char link[PATH_MAX];
	ssize_t n;
	const char *p;

	if (env != NULL && *env != '\0' && tz_valid(env[0] == ':' ? env + 1 : env))
		return env[0] == ':' ? env + 1 : env;
	n = readlink("/etc/localtime", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if ((p = strstr(link, "zoneinfo/")) != NULL) {
			snprintf(zone, sizeof(zone), "%s", p + strlen("zoneinfo/"));
			if (tz_valid(zone))
				return zone;
		}
	}
	return "UTC";
}

/* Runs with TZ=zone; restores the previous TZ afterwards. */
struct tz_saved {
	char *old;
	bool had;
};

static void
tz_enter(const char *zone, struct tz_saved *sv)
{
	const char *old = getenv("TZ");

	sv->had = old != NULL;
	sv->old = old ? xstrdup(old) : NULL;
	setenv("TZ", str_empty(zone) ? "UTC" : zone, 1);
	tzset();
}

static void
tz_leave(struct tz_saved *sv)
{
	if (sv->had)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(sv->old);
}

int
tz_local_to_utc(const char *zone, int year, int mon, int mday, int hour,
    int min, time_t *ret)
{
	struct tz_saved sv;
	struct tm tm = { 0 };
	time_t t;

	if (mon < 1 || mon > 12 || mday < 1 || mday > 31 || hour < 0 ||
	    hour > 24 || min < 0 || min > 59)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_isdst = -1;
	tz_enter(zone, &sv);
	t = mktime(&tm);
	tz_leave(&sv);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = t;
	return 0;
}

void
tz_utc_to_local(const char *zone, time_t t, struct tm *ret)
{
	struct tz_saved sv;

	tz_enter(zone, &sv);
	localtime_r(&t, ret);
	tz_leave(&sv);
}

char *
tz_format(const char *zone, time_t t, const char *fmt, char *out, size_t outlen)
{
	struct tz_saved sv;
	struct tm tm;

	tz_enter(zone, &sv);
	localtime_r(&t, &tm);
	/* fmt is checked at our callers by the format(strftime) attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (strftime(out, outlen, fmt, &tm) == 0 && outlen > 0)
		out[0] = '\0';
#pragma GCC diagnostic pop
	tz_leave(&sv);
	return out;
}

char *
tz_abbrev(const char *zone, time_t t, char *out, size_t outlen)
{
	return tz_format(zone, t, "%Z", out, outlen);
}

char *
util_format_rfc3339(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

int
util_parse_local_datetime(const char *s, int *y, int *mo, int *d, int *h,
    int *mi)
{
	int n = 0;
	char sep;

	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", y, mo, d, &sep, h, mi, &n) != 6 ||
	    (sep != ' ' && sep != 'T') || s[n] != '\0')
		return -EINVAL;
	if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h < 0 || *h > 23 ||
	    *mi < 0 || *mi > 59)
		return -EINVAL;
	return 0;
}

bool
util_email_valid(const char *addr)
{
	const char *at, *p;

	if (str_empty(addr) || strlen(addr) > 254)
		return false;
	if ((at = strchr(addr, '@')) == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || at - addr > 64)
		return false;
	for (p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\"\\", c) != NULL)
			return false;
	}
	if (at[1] == '.' || p[-1] == '.' || strstr(at, "..") != NULL ||
	    strchr(at, '.') == NULL)
		return false;
	return true;
}

char *
util_email_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (at == NULL || at[1] == '\0')
		return NULL;
	return str_lower(xstrdup(at + 1));
}

bool
str_has_ctl(const char *s, bool allow_tab)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
			return true;
	}
	return false;
}

char *
str_lower(char *s)
{
	char *p;

	for (p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *
str_trim(char *s)
{
	char *end;

	if (s == NULL)
		return s;
	while (isspace((unsigned char)*s))
		memmove(s, s + 1, strlen(s));
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

bool
str_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

char *
util_first_name_of(const char *name)
{
	size_t n;

	if (name == NULL)
		return xstrdup("");
	while (*name == ' ' || *name == '\t')
		name++;
	n = strcspn(name, " \t");
	return xstrndup(name, n);
}

void
util_random_bytes(void *p, size_t n)
{
	unsigned char *c = p;

	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		c += r;
		n -= (size_t)r;
	}
}

uint32_t
util_random_uniform(uint32_t bound)
{
	uint32_t r, min;

	if (bound < 2)
		return 0;
	min = -bound % bound;
	do
		util_random_bytes(&r, sizeof(r));
	while (r < min);
	return r % bound;
}

int
util_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct buf b;
	char chunk[65536];
	int fd;
	ssize_t n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	buf_init(&b);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			buf_done(&b);
			return (int)n;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			close(fd);
			buf_done(&b);
			return -EFBIG;
		}
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (ret_len)
		*ret_len = b.len;
	*ret = buf_steal(&b);
	return 0;
}

/* A value made safe to quote in a message: controls become \xNN (static). */
const char *
str_shown(const char *s)
{
	static char out[256];
	size_t o = 0;

	for (; *s != '\0' && o + 5 < sizeof(out); s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}
