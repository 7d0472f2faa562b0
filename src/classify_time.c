/*
 * classify_time.c - dates and times in the text of a reply: weekdays,
 * dates in several orders and languages, times of day ("2pm", "14:00",
 * "15 Uhr", a bare "at 2"), negation around a mention, and matching them
 * to the offered slots in the contact's zone. Pure: no I/O, no logging.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify_time.h"
#include "util.h"

/* ---- calendar arithmetic ------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* ---- dates and times in text -------------------------------------------- */

int
ctime_month_of(const struct ctext_toks *tk, size_t i)
{
	static const struct {
		const char *name;
		int m;
	} months[] = {
		{ "jan", 1 }, { "january", 1 }, { "januar", 1 }, { "janvier", 1 },
		{ "enero", 1 }, { "feb", 2 }, { "february", 2 }, { "februar", 2 },
		{ "février", 2 }, { "fevrier", 2 }, { "febrero", 2 }, { "mar", 3 },
		{ "march", 3 }, { "märz", 3 }, { "mars", 3 }, { "marzo", 3 },
		{ "apr", 4 }, { "april", 4 }, { "avril", 4 }, { "abril", 4 },
		{ "may", 5 }, { "mai", 5 }, { "mayo", 5 }, { "jun", 6 },
		{ "june", 6 }, { "juni", 6 }, { "juin", 6 }, { "junio", 6 },
		{ "jul", 7 }, { "july", 7 }, { "juli", 7 }, { "juillet", 7 },
		{ "julio", 7 }, { "aug", 8 }, { "august", 8 }, { "août", 8 },
		{ "aout", 8 }, { "agosto", 8 }, { "sep", 9 }, { "sept", 9 },
		{ "september", 9 }, { "septembre", 9 }, { "septiembre", 9 },
		{ "oct", 10 }, { "october", 10 }, { "oktober", 10 },
		{ "octobre", 10 }, { "octubre", 10 }, { "nov", 11 },
		{ "november", 11 }, { "novembre", 11 }, { "noviembre", 11 },
		{ "dec", 12 }, { "december", 12 }, { "dezember", 12 },
		{ "décembre", 12 }, { "decembre", 12 }, { "diciembre", 12 },
	};
	size_t k;

	if (i >= tk->n || tk->v[i].kind != CT_WORD)
		return 0;
	for (k = 0; k < nitems(months); k++)
		if (ctext_tok_is(tk, i, months[k].name))
			return months[k].m;
	return 0;
}

static int
wday_of(const struct ctext_toks *tk, size_t i)
{
	static const struct {
		const char *name;
		int wd;
	} days[] = {
		{ "sunday", 0 }, { "sonntag", 0 }, { "dimanche", 0 }, { "domingo", 0 },
		{ "monday", 1 }, { "mon", 1 }, { "montag", 1 }, { "lundi", 1 },
		{ "lunes", 1 }, { "tuesday", 2 }, { "tue", 2 }, { "tues", 2 },
		{ "dienstag", 2 }, { "mardi", 2 }, { "martes", 2 },
		{ "wednesday", 3 }, { "wed", 3 }, { "mittwoch", 3 },
		{ "mercredi", 3 }, { "miércoles", 3 }, { "miercoles", 3 },
		{ "thursday", 4 }, { "thu", 4 }, { "thur", 4 }, { "thurs", 4 },
		{ "donnerstag", 4 }, { "jeudi", 4 }, { "jueves", 4 },
		{ "friday", 5 }, { "fri", 5 }, { "freitag", 5 }, { "vendredi", 5 },
		{ "viernes", 5 }, { "saturday", 6 }, { "samstag", 6 },
		{ "samedi", 6 }, { "sábado", 6 }, { "sabado", 6 },
	};
	size_t k;

	if (i >= tk->n || tk->v[i].kind != CT_WORD)
		return -1;
	for (k = 0; k < nitems(days); k++)
		if (ctext_tok_is(tk, i, days[k].name))
			return days[k].wd;
	return -1;
}

/* Skips "st", "nd", "rd", "th", "er", "º" after a day number. */
size_t
ctime_skip_ordinal(const struct ctext_toks *tk, size_t i)
{
	static const char *const suf[] = { "st", "nd", "rd", "th", "er", "e", NULL };

	if (ctext_tok_nosp(tk, i) && ctext_tok_in(tk, i, suf))
		return i + 1;
	return i;
}

static bool
valid_md(int y, int m, int d)
{
	if (m < 1 || m > 12 || d < 1)
		return false;
	return d <= days_in_month(y ? y : 2024, m);
}

/* An optional year after a date: ", 2026" or " 2026". */
static size_t
opt_year(const struct ctext_toks *tk, size_t i, int *y)
{
	size_t j = i;

	if (ctext_tok_punct(tk, j, ','))
		j++;
	if (ctext_tok_is(tk, j, "de"))
		j++;
	if (ctext_tok_num(tk, j, 1970, 2100) && tk->v[j].digits == 4 &&
	    !ctext_tok_punct(tk, j + 1, ':')) {
		*y = tk->v[j].num;
		return j + 1;
	}
	return i;
}

/* "Dec 3", "December 3rd, 2026", "3 décembre", "2. Dezember", "3 de diciembre". */
static size_t
parse_monthday(const struct ctext_toks *tk, size_t i, bool dmy, struct ctime_day *d)
{
	size_t j;
	int m, y = 0, a, b, c;

	if ((m = ctime_month_of(tk, i)) != 0) {
		j = i + 1;
		if (ctext_tok_punct(tk, j, '.'))
			j++;
		if (ctext_tok_num(tk, j, 1, 31) && tk->v[j].digits <= 2 &&
		    !ctext_tok_punct(tk, j + 1, ':') && !ctext_tok_is(tk, j + 1, "am") &&
		    !ctext_tok_is(tk, j + 1, "pm")) {
			d->d = tk->v[j].num;
			j = ctime_skip_ordinal(tk, j + 1);
			j = opt_year(tk, j, &y);
			if (!valid_md(y, m, d->d))
				return 0;
			d->m = m;
			d->y = y;
			return j - i;
		}
		return 0;
	}
	if (ctext_tok_num(tk, i, 1, 31) && tk->v[i].digits <= 2) {
		j = ctime_skip_ordinal(tk, i + 1);
		if (ctext_tok_punct(tk, j, '.'))
			j++;
		if (ctext_tok_is(tk, j, "de") || ctext_tok_is(tk, j, "of"))
			j++;
		if ((m = ctime_month_of(tk, j)) != 0) {
			a = tk->v[i].num;
			j++;
			if (ctext_tok_punct(tk, j, '.') && ctext_tok_nosp(tk, j))
				j++;
			j = opt_year(tk, j, &y);
			if (!valid_md(y, m, a))
				return 0;
			d->m = m;
			d->d = a;
			d->y = y;
			return j - i;
		}
	}
	/* 2026-12-03 */
	if (ctext_tok_num(tk, i, 1970, 2100) && tk->v[i].digits == 4 &&
	    ctext_tok_punct(tk, i + 1, '-') && ctext_tok_nosp(tk, i + 1) &&
	    ctext_tok_num(tk, i + 2, 1, 12) && ctext_tok_nosp(tk, i + 2) &&
	    ctext_tok_punct(tk, i + 3, '-') && ctext_tok_nosp(tk, i + 3) &&
	    ctext_tok_num(tk, i + 4, 1, 31) && ctext_tok_nosp(tk, i + 4)) {
		if (!valid_md(tk->v[i].num, tk->v[i + 2].num, tk->v[i + 4].num))
			return 0;
		d->y = tk->v[i].num;
		d->m = tk->v[i + 2].num;
		d->d = tk->v[i + 4].num;
		return 5;
	}
	/* 12/03, 12/03/2026, 3.12.2026, 3.12. */
	if (ctext_tok_num(tk, i, 1, 31) && tk->v[i].digits <= 2 &&
	    (ctext_tok_punct(tk, i + 1, '/') || ctext_tok_punct(tk, i + 1, '.')) &&
	    ctext_tok_nosp(tk, i + 1) && ctext_tok_num(tk, i + 2, 1, 31) &&
	    tk->v[i + 2].digits <= 2 && ctext_tok_nosp(tk, i + 2)) {
		char sep = tk->low[tk->v[i + 1].off];

		a = tk->v[i].num;
		b = tk->v[i + 2].num;
		j = i + 3;
		if (ctext_tok_punct(tk, j, sep) && ctext_tok_nosp(tk, j) &&
		    ctext_tok_num(tk, j + 1, 0, 2100) && ctext_tok_nosp(tk, j + 1) &&
		    (tk->v[j + 1].digits == 2 || tk->v[j + 1].digits == 4)) {
			c = tk->v[j + 1].num;
			y = c < 100 ? 2000 + c : c;
			j += 2;
		} else if (sep == '.') {
			/* "15.00" is a time; a German date ends in "." or a year. */
			if (!(ctext_tok_punct(tk, j, '.') && ctext_tok_nosp(tk, j)))
				return 0;
			j++;
		}
		if (sep == '.' || dmy || a > 12) {
			c = a;
			a = b;
			b = c;
		}
		if (!valid_md(y, a, b))
			return 0;
		d->m = a;
		d->d = b;
		d->y = y;
		return j - i;
	}
	return 0;
}

/* Parses a day at token i; returns the tokens used (0: none). */
static size_t
parse_day(const struct ctext_toks *tk, size_t i, bool dmy, struct ctime_day *d)
{
	static const char *const next[] = { "next", "this", "coming", "nächsten",
	    "nächster", "kommenden", "prochain", "el", "le", "am", NULL };
	static const char *const abbrev[] = { "mon", "tue", "tues", "wed",
	    "thu", "thur", "thurs", "fri", NULL };
	static const char *const context[] = { "at", "noon", "morning",
	    "afternoon", "the", "next", "works", "is", "would", "or", "and",
	    "between", "from", "around", NULL };
	size_t j = i, n;
	int wd;

	d->y = d->m = d->d = 0;
	d->wday = -1;
	d->rel = -1;
	if (ctext_tok_is(tk, i, "tomorrow") || ctext_tok_is(tk, i, "demain")) {
		d->rel = 1;
		return 1;
	}
	if (ctext_tok_is(tk, i, "today") || ctext_tok_is(tk, i, "heute")) {
		d->rel = 0;
		return 1;
	}
	if (ctext_tok_in(tk, j, next) && wday_of(tk, j + 1) >= 0)
		j++;
	if ((wd = wday_of(tk, j)) >= 0) {
		/* "mon collègue", "wed" in prose: abbreviations need a date
		 * or time context after them. */
		if (ctext_tok_in(tk, j, abbrev) && j + 1 < tk->n &&
		    tk->v[j + 1].kind == CT_WORD && ctime_month_of(tk, j + 1) == 0 &&
		    !ctext_tok_in(tk, j + 1, context))
			return 0;
		d->wday = wd;
		j++;
		if (ctext_tok_punct(tk, j, '.') && ctext_tok_nosp(tk, j))
			j++;
		/* "prochain" after the weekday in French: "lundi prochain". */
		if (ctext_tok_is(tk, j, "prochain") || ctext_tok_is(tk, j, "next"))
			j++;
		n = j;
		if (ctext_tok_punct(tk, n, ','))
			n++;
		if (ctext_tok_is(tk, n, "the") || ctext_tok_is(tk, n, "le") ||
		    ctext_tok_is(tk, n, "den"))
			n++;
		if ((wd = (int)parse_monthday(tk, n, dmy, d)) > 0)
			return n + (size_t)wd - i;
		/* "Thursday the 3rd" / "Donnerstag, den 3." */
		if (n > j && ctext_tok_num(tk, n, 1, 31) && tk->v[n].digits <= 2 &&
		    (ctime_skip_ordinal(tk, n + 1) > n + 1 ||
		    ctext_tok_punct(tk, n + 1, '.'))) {
			d->d = tk->v[n].num;
			d->m = -1;      /* day of month only */
			return ctime_skip_ordinal(tk, n + 1) - i;
		}
		return j - i;
	}
	return parse_monthday(tk, i, dmy, d);
}

static bool
tok_ampm(const struct ctext_toks *tk, size_t i, bool *pm, size_t *used)
{
	if (ctext_tok_is(tk, i, "am") || ctext_tok_is(tk, i, "pm")) {
		*pm = tk->low[tk->v[i].off] == 'p';
		*used = 1;
		return true;
	}
	/* "a.m." / "p.m." */
	if ((ctext_tok_is(tk, i, "a") || ctext_tok_is(tk, i, "p")) && ctext_tok_punct(tk, i + 1, '.') &&
	    ctext_tok_is(tk, i + 2, "m")) {
		*pm = tk->low[tk->v[i].off] == 'p';
		*used = ctext_tok_punct(tk, i + 3, '.') ? 4 : 3;
		return true;
	}
	return false;
}

/*
 * Parses a time of day at token i: "2pm", "2 pm", "14:00", "2:30pm",
 * "noon", "14h30", "15 Uhr"; a bare "2" only when bare is set (after "at").
 * Returns the tokens used (0: none).
 */
static size_t
parse_time(const struct ctext_toks *tk, size_t i, bool bare, int *hh, int *mm)
{
	size_t j, used;
	int h, m = 0;
	bool pm, ampm = false, clock = false;

	if (ctext_tok_is(tk, i, "noon") || ctext_tok_is(tk, i, "midday") ||
	    ctext_tok_is(tk, i, "mittag") || ctext_tok_is(tk, i, "midi")) {
		*hh = 12;
		*mm = 0;
		return 1;
	}
	if (!ctext_tok_num(tk, i, 0, 24) || tk->v[i].digits > 2)
		return 0;
	if (i > 0 && (ctext_tok_punct(tk, i - 1, '#') || ctext_tok_punct(tk, i - 1, '/') ||
	    ctext_tok_punct(tk, i - 1, '$')) && !tk->v[i].sp)
		return 0;
	h = tk->v[i].num;
	j = i + 1;
	if (ctext_tok_punct(tk, j, ':') && ctext_tok_nosp(tk, j) && ctext_tok_num(tk, j + 1, 0, 59) &&
	    tk->v[j + 1].digits == 2 && ctext_tok_nosp(tk, j + 1)) {
		m = tk->v[j + 1].num;
		j += 2;
		clock = true;
	} else if (ctext_tok_is(tk, j, "h") && ctext_tok_nosp(tk, j)) {
		j++;
		if (ctext_tok_num(tk, j, 0, 59) && tk->v[j].digits == 2 && ctext_tok_nosp(tk, j)) {
			m = tk->v[j].num;
			j++;
		}
		clock = true;
	}
	if (tok_ampm(tk, j, &pm, &used)) {
		if (h < 1 || h > 12)
			return 0;
		ampm = true;
		h = h % 12 + (pm ? 12 : 0);
		j += used;
	} else if (ctext_tok_is(tk, j, "uhr")) {
		clock = true;
		j++;
	} else if (ctext_tok_is(tk, j, "o") && ctext_tok_punct(tk, j + 1, '\'') &&
	    ctext_tok_is(tk, j + 2, "clock")) {
		clock = true;
		j += 3;
	}
	if (!ampm && !clock && !bare)
		return 0;
	if (!ampm && (ctext_tok_punct(tk, j, '/') || ctext_tok_punct(tk, j, '.')) &&
	    ctext_tok_nosp(tk, j) && ctext_tok_num(tk, j + 1, 0, 9999))
		return 0;
	if (!ampm && (ctext_tok_is(tk, j, "minutes") || ctext_tok_is(tk, j, "min") ||
	    ctext_tok_is(tk, j, "mins") || ctext_tok_is(tk, j, "hours") ||
	    ctext_tok_is(tk, j, "minute") || ctext_tok_is(tk, j, "hour") ||
	    ctext_tok_is(tk, j, "hrs") || ctext_tok_is(tk, j, "days") ||
	    ctext_tok_is(tk, j, "weeks") || ctext_tok_is(tk, j, "years") ||
	    ctext_tok_is(tk, j, "people") || ctext_tok_punct(tk, j, '%')))
		return 0;
	if (!ampm && h >= 1 && h <= 7)
		h += 12;                /* a bare 1-7 is business-hours pm */
	if (h == 24)
		h = 0;
	*hh = h;
	*mm = m;
	return j - i;
}

static bool
bare_time_marker(const struct ctext_toks *tk, size_t i)
{
	static const char *const at[] = { "at", "um", "à", "las", "around",
	    "about", "by", "after", "before", "ab", "vers", "hacia", "from", NULL };

	return ctext_tok_in(tk, i, at) || ctext_tok_punct(tk, i, '@');
}

/* Negation in the clause around a mention ("can't do Tuesday"). */
bool
ctime_negated(const struct ctext_toks *tk, size_t start, size_t end)
{
	static const char *const before[] = { "can't", "cannot", "can not",
	    "not", "won't", "unable", "isn't", "except", "instead of",
	    "rather than", "no longer", "nicht", "ne peux pas", "no puedo",
	    "don't", "couldn't", "wouldn't", "other than", "anything but",
	    "anytime but", "not on", "not at", "apart from", "besides", NULL };
	static const char *const after[] = { "doesn't", "does not", "won't",
	    "isn't", "is not", "not", "no good", "is bad", "is out", "don't",
	    "geht nicht", "passt nicht", "ne marche pas", "ne me convient pas",
	    "no me va", "no puedo", "is taken", "is booked", "too early",
	    "too late", "is difficult", "is tricky", "is hard", "won't work",
	    "wont work", "doesn't suit", "does not suit", "is a problem",
	    "is not possible", "isn't possible", "is impossible", "geht leider nicht",
	    "ne me va pas", "no me viene bien", NULL };
	const char *low = tk->low;
	size_t a = start > 48 ? start - 48 : 0, b = end + 32, k;
	long p;

	if (b > tk->len)
		b = tk->len;
	for (k = start; k > a; k--)
		if (strchr(".;!?,", low[k - 1]) != NULL) {
			a = k;
			break;
		}
	for (k = end; k < b; k++)
		if (strchr(".;!?,", low[k]) != NULL) {
			b = k;
			break;
		}
	/* "..., but Wednesday at 2": only after "but". */
	while ((p = ctext_find_phrase(low, start, "but", a)) >= 0)
		a = (size_t)p + 3;
	if ((p = ctext_find_phrase(low, b, "but", end)) >= 0)
		b = (size_t)p;
	if (a < start && ctext_has_any(low + a, start - a, before))
		return true;
	return end < b && ctext_has_any(low + end, b - end, after);
}

/*
 * An explicit zone after a time at token i: "PT", "(ET)", "CET", "Pacific
 * time", "UTC+2", "GMT-5", "my time", "your time". Fills e; returns the
 * tokens used (0: none).
 */
static size_t
parse_zone(const struct ctext_toks *tk, size_t i, bool dmy,
    struct ctime_expr *e)
{
	static const struct {
		const char *w, *zone;
	} zones[] = {
		{ "pt", "America/Los_Angeles" }, { "pst", "America/Los_Angeles" },
		{ "pdt", "America/Los_Angeles" }, { "pacific", "America/Los_Angeles" },
		{ "et", "America/New_York" }, { "est", "America/New_York" },
		{ "edt", "America/New_York" }, { "eastern", "America/New_York" },
		{ "ct", "America/Chicago" }, { "cst", "America/Chicago" },
		{ "cdt", "America/Chicago" }, { "central", "America/Chicago" },
		{ "mt", "America/Denver" }, { "mst", "America/Denver" },
		{ "mdt", "America/Denver" }, { "mountain", "America/Denver" },
		{ "cet", "Europe/Berlin" }, { "cest", "Europe/Berlin" },
		{ "mez", "Europe/Berlin" }, { "mesz", "Europe/Berlin" },
		{ "bst", "Europe/London" }, { "uk", "Europe/London" },
		{ "jst", "Asia/Tokyo" }, { "aest", "Australia/Sydney" },
		{ "aedt", "Australia/Sydney" },
	};
	size_t j = i, k;
	int sign, h, m = 0;

	if (ctext_tok_punct(tk, j, '('))
		j++;
	if (ctext_tok_is(tk, j, "my") && (ctext_tok_is(tk, j + 1, "time") ||
	    ctext_tok_is(tk, j + 1, "timezone") || ctext_tok_is(tk, j + 1, "local"))) {
		j += ctext_tok_is(tk, j + 2, "time") ? 3 : 2;
		goto close;
	}
	if (ctext_tok_is(tk, j, "your") && (ctext_tok_is(tk, j + 1, "time") ||
	    ctext_tok_is(tk, j + 1, "timezone"))) {
		e->zone_yours = true;
		j += 2;
		goto close;
	}
	if (ctext_tok_is(tk, j, "utc") || ctext_tok_is(tk, j, "gmt")) {
		j++;
		if ((ctext_tok_punct(tk, j, '+') || ctext_tok_punct(tk, j, '-')) &&
		    ctext_tok_nosp(tk, j + 1) && ctext_tok_num(tk, j + 1, 0, 1400)) {
			sign = tk->low[tk->v[j].off] == '-' ? -1 : 1;
			h = tk->v[j + 1].num;
			if (tk->v[j + 1].digits >= 3) {         /* +0530 */
				m = h % 100;
				h /= 100;
			}
			j += 2;
			if (ctext_tok_punct(tk, j, ':') && ctext_tok_num(tk, j + 1, 0, 59)) {
				m = tk->v[j + 1].num;
				j += 2;
			}
			if (h > 14 || m > 59)
				return 0;
			e->has_offset = true;
			e->utc_offset = sign * (h * 60 + m);
		} else
			e->zone = "UTC";
		goto close;
	}
	for (k = 0; k < nitems(zones); k++)
		if (ctext_tok_is(tk, j, zones[k].w))
			break;
	if (k == nitems(zones))
		return 0;
	/* "et" is "and" in French: the two-letter forms only in text that
	 * does not read as French, German or Spanish */
	if (dmy && tk->v[j].len == 2)
		return 0;
	e->zone = zones[k].zone;
	j++;
	if (ctext_tok_is(tk, j, "time"))
		j++;
close:
	if (ctext_tok_punct(tk, j, ')'))
		j++;
	return j - i;
}

bool
ctime_has_zone(const struct ctime_expr *e)
{
	return e->zone != NULL || e->has_offset || e->zone_yours;
}

void
ctime_slot_in_zone(const struct ctime_expr *e, const char *own_tz,
    const struct ctime_slot *s, struct ctime_slot *out)
{
	struct tm tm;
	time_t t;

	*out = *s;
	if (!ctime_has_zone(e) || (e->zone_yours && own_tz == NULL))
		return;
	if (e->has_offset) {
		t = s->start + (time_t)e->utc_offset * 60;
		gmtime_r(&t, &tm);
	} else
		tz_utc_to_local(e->zone_yours ? own_tz : e->zone, s->start, &tm);
	out->y = tm.tm_year + 1900;
	out->m = tm.tm_mon + 1;
	out->d = tm.tm_mday;
	out->wday = tm.tm_wday;
	out->hh = tm.tm_hour;
	out->mm = tm.tm_min;
}

int
ctime_to_utc(const struct ctime_expr *e, const char *contact_tz,
    const char *own_tz, int y, int m, int d, time_t *ret)
{
	time_t t;

	if (e->has_offset) {
		if (tz_local_to_utc("UTC", y, m, d, e->hh, e->mm, &t) != 0)
			return -EINVAL;
		*ret = t - (time_t)e->utc_offset * 60;
		return 0;
	}
	if (e->zone_yours)
		return tz_local_to_utc(own_tz ? own_tz : contact_tz, y, m, d,
		    e->hh, e->mm, ret) == 0 ? 0 : -EINVAL;
	return tz_local_to_utc(e->zone ? e->zone : contact_tz, y, m, d, e->hh,
	    e->mm, ret) == 0 ? 0 : -EINVAL;
}

/* Collects the date/time mentions of the text; returns their count. */
size_t
ctime_find_exprs(const struct ctext_toks *tk, bool dmy, struct ctime_expr *ex, size_t max)
{
	static const char *const conn[] = { "at", "um", "à", "las", "around",
	    "about", "from", "on", "the", "de", "le", "am", "el", "la", NULL };
	size_t i = 0, n = 0, used, j, k;
	struct ctime_expr e;

	while (i < tk->n && n < max) {
		memset(&e, 0, sizeof(e));
		e.start = tk->v[i].off;
		if ((used = parse_day(tk, i, dmy, &e.day)) > 0) {
			e.has_day = true;
			j = i + used;
			k = j;
			/* "Wednesday at 2", "Nov 24 at 10am", "Wed, 2pm". */
			while (k < tk->n && k < j + 3 && (ctext_tok_in(tk, k, conn) ||
			    ctext_tok_punct(tk, k, ',') || ctext_tok_punct(tk, k, '@')))
				k++;
			if (k > j && (used = parse_time(tk, k,
			    bare_time_marker(tk, k - 1), &e.hh, &e.mm)) > 0) {
				e.has_time = true;
				j = k + used;
			} else if ((used = parse_time(tk, j, false, &e.hh,
			    &e.mm)) > 0) {
				e.has_time = true;
				j += used;
			}
			if (e.has_time)
				j += parse_zone(tk, j, dmy, &e);
			i = j;
		} else if ((used = parse_time(tk, i, i > 0 &&
		    bare_time_marker(tk, i - 1), &e.hh, &e.mm)) > 0) {
			e.has_time = true;
			j = i + used;
			j += parse_zone(tk, j, dmy, &e);
			k = j;
			/* "2pm on Wednesday", "10am Tuesday". */
			while (k < tk->n && k < j + 2 && (ctext_tok_in(tk, k, conn) ||
			    ctext_tok_punct(tk, k, ',')))
				k++;
			if ((used = parse_day(tk, k, dmy, &e.day)) > 0) {
				e.has_day = true;
				j = k + used;
				if (!ctime_has_zone(&e))
					j += parse_zone(tk, j, dmy, &e);
			}
			i = j;
		} else {
			i++;
			continue;
		}
		e.end = tk->v[i - 1].off + tk->v[i - 1].len;
		e.negated = ctime_negated(tk, e.start, e.end);
		ex[n++] = e;
	}
	return n;
}

/* Calendar facts about now in the contact's zone. */
void
ctime_today_init(const struct classify_ctx *ctx, struct ctime_today *td)
{
	struct tm tm;

	tz_utc_to_local(ctx->contact_tz, ctx->now, &tm);
	td->y = tm.tm_year + 1900;
	td->m = tm.tm_mon + 1;
	td->d = tm.tm_mday;
	td->wday = tm.tm_wday;
	td->days = days_from_civil(td->y, td->m, td->d);
}

/*
 * Resolves a stated day to a calendar date relative to today: a date
 * without a year is the next such date (today included); a weekday alone
 * is the next such weekday after today. Returns false when it has no date.
 */
bool
ctime_resolve_day(const struct ctime_day *d, const struct ctime_today *td, int *y, int *m,
    int *dd)
{
	long days;
	int yy;

	if (d->rel >= 0) {
		civil_from_days(td->days + d->rel, y, m, dd);
		return true;
	}
	if (d->m > 0) {
		yy = d->y;
		if (yy == 0) {
			yy = td->y;
			if (d->m < td->m || (d->m == td->m && d->d < td->d))
				yy++;
		}
		if (!valid_md(yy, d->m, d->d))
			return false;
		*y = yy;
		*m = d->m;
		*dd = d->d;
		return true;
	}
	if (d->m == -1) {               /* "the 3rd": this month or next */
		int cy = td->y, cm = td->m;

		if (d->d < td->d && ++cm > 12) {
			cm = 1;
			cy++;
		}
		if (!valid_md(cy, cm, d->d))
			return false;
		*y = cy;
		*m = cm;
		*dd = d->d;
		return true;
	}
	if (d->wday >= 0) {
		days = td->days + ((d->wday - td->wday + 7) % 7 ? (d->wday -
		    td->wday + 7) % 7 : 7);
		civil_from_days(days, y, m, dd);
		return true;
	}
	return false;
}

/* True when the mention e names slot s. */
bool
ctime_matches(const struct ctime_expr *e, const struct ctime_slot *s,
    const struct ctime_today *td)
{
	int y, m, d;

	if (!e->has_day && !e->has_time)
		return false;
	if (e->has_time && (e->hh != s->hh || e->mm != s->mm))
		return false;
	if (!e->has_day)
		return true;
	if (e->day.m > 0) {
		if (e->day.m != s->m || e->day.d != s->d ||
		    (e->day.y != 0 && e->day.y != s->y))
			return false;
		return e->day.wday < 0 || e->day.wday == s->wday;
	}
	if (e->day.m == -1)
		return e->day.d == s->d;
	if (e->day.rel >= 0) {
		if (!ctime_resolve_day(&e->day, td, &y, &m, &d))
			return false;
		return y == s->y && m == s->m && d == s->d;
	}
	return e->day.wday == s->wday;
}

/* Guesses day-month order from the language of the text. */
bool
ctime_text_is_dmy(const char *low, size_t len)
{
	static const char *const words[] = { "ich", "und", "nicht", "bitte",
	    "je", "vous", "merci", "pour", "nous", "el", "usted", "gracias",
	    "para", "por", "zurück", "retour", "regreso", NULL };

	return ctext_has_any(low, len, words);
}

void
ctime_slots_local(const struct classify_ctx *ctx, struct ctime_slot *ls, size_t *n)
{
	struct tm tm;
	size_t i;

	*n = 0;
	for (i = 0; i < ctx->n_slots && i < CTIME_MAX_SLOTS; i++) {
		tz_utc_to_local(ctx->contact_tz, ctx->slots[i].start, &tm);
		ls[*n].n = ctx->slots[i].n;
		ls[*n].y = tm.tm_year + 1900;
		ls[*n].m = tm.tm_mon + 1;
		ls[*n].d = tm.tm_mday;
		ls[*n].wday = tm.tm_wday;
		ls[*n].hh = tm.tm_hour;
		ls[*n].mm = tm.tm_min;
		ls[*n].start = ctx->slots[i].start;
		(*n)++;
	}
}

/* Fills f with the slots named and the other times proposed in t. */
