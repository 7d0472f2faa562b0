/*
 * classify_quote.c - the new text of a reply: quoted history (">" lines,
 * attributions, separators, Outlook header blocks) and signatures (mobile
 * footers, "-- ", a sign-off followed by a short name block) cut away.
 * Pure: no I/O, no logging.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_text.h"
#include "util.h"

/* ---- quoted history and signature --------------------------------------- */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Attribution lines: "On ... wrote:", "Am ... schrieb ...:", ... */
static bool
is_attribution(const char *low)
{
	static const struct {
		const char *start, *verb;
	} forms[] = {
		{ "on ", "wrote" }, { "am ", "schrieb" }, { "le ", "crit" },
		{ "el ", "escribi" }, { "il ", "scritto" }, { "op ", "schreef" },
		{ "em ", "escreveu" }, { "", "wrote:" }, { "", "schrieb:" },
		{ "", "a écrit :" }, { "", "a écrit:" }, { "", "escribió:" },
	};
	size_t i;

	for (i = 0; i < nitems(forms); i++) {
		if (strncmp(low, forms[i].start, strlen(forms[i].start)) != 0)
			continue;
		if (forms[i].start[0] == '\0') {
			if (ends_with(low, forms[i].verb))
				return true;
			continue;
		}
		if (strstr(low, forms[i].verb) != NULL && ends_with(low, ":"))
			return true;
	}
	return false;
}

static bool
is_separator(const char *low)
{
	static const char *const seps[] = {
		"-----original message-----", "----- original message -----",
		"-------- original message --------", "-----ursprüngliche nachricht-----",
		"-----message d'origine-----", "-----mensaje original-----",
		"begin forwarded message:", "---------- forwarded message ---------",
		"-------- forwarded message --------", NULL,
	};
	size_t i, under = 0;

	for (i = 0; seps[i] != NULL; i++)
		if (strcmp(low, seps[i]) == 0)
			return true;
	for (i = 0; low[i] == '_'; i++)
		under++;
	return under >= 10 && low[i] == '\0';
}

/* Outlook's header block: "From: ..." then "Sent:"/"Date:" within 5 lines. */
static bool
is_header_block(const struct ctext_line *l, size_t i, size_t n)
{
	static const char *const from[] = { "from:", "*from:*", "de :", "de:",
	    "von:", "*von:*", "da:", NULL };
	static const char *const sent[] = { "sent:", "*sent:*", "date:",
	    "*date:*", "envoyé :", "envoyé:", "gesendet:", "*gesendet:*",
	    "datum:", "enviado el:", "enviado:", "fecha:", "inviato:", NULL };
	char low[256];
	size_t j, k;
	bool ok = false;

	ctext_line_low(&l[i], low, sizeof(low));
	for (k = 0; from[k] != NULL; k++)
		if (strncmp(low, from[k], strlen(from[k])) == 0)
			ok = true;
	if (!ok)
		return false;
	for (j = i + 1; j < n && j <= i + 5; j++) {
		ctext_line_low(&l[j], low, sizeof(low));
		for (k = 0; sent[k] != NULL; k++)
			if (strncmp(low, sent[k], strlen(sent[k])) == 0)
				return true;
	}
	return false;
}

/* Lines that start a quote; checks joined wrapped attributions too. */
static bool
starts_quote(const struct ctext_line *l, size_t i, size_t n)
{
	char low[512], two[1024];
	const char *p = ctext_skip_ws(l[i].p);

	if ((size_t)(p - l[i].p) < l[i].len && *p == '>')
		return true;
	ctext_line_low(&l[i], low, sizeof(low));
	if (low[0] == '\0')
		return false;
	if (is_attribution(low) || is_separator(low) || is_header_block(l, i, n))
		return true;
	/* Gmail wraps long attributions: "On ..., Name <\naddr> wrote:". */
	if ((ctext_starts_ci(low, "on ") || ctext_starts_ci(low, "am ") ||
	    ctext_starts_ci(low, "le ") || ctext_starts_ci(low, "el ")) && i + 1 < n) {
		char next[512];

		ctext_line_low(&l[i + 1], next, sizeof(next));
		snprintf(two, sizeof(two), "%s %s", low, next);
		if (strlen(low) > 12 && is_attribution(two))
			return true;
	}
	return false;
}

static bool
is_mobile_signature(const char *low)
{
	static const char *const sigs[] = {
		"sent from my ", "get outlook for ", "sent from outlook",
		"sent from mail for windows", "sent from yahoo mail",
		"sent from samsung", "sent via ", "von meinem iphone gesendet",
		"von meinem ipad gesendet", "envoyé de mon ", "enviado desde mi ",
		"inviato da ", "sent from proton", NULL,
	};
	size_t i;

	for (i = 0; sigs[i] != NULL; i++)
		if (strncmp(low, sigs[i], strlen(sigs[i])) == 0)
			return true;
	return false;
}

static bool
is_signoff(const char *low)
{
	static const char *const offs[] = {
		"best", "best,", "best regards", "kind regards", "regards",
		"warm regards", "warmly", "thanks", "thanks!", "thank you",
		"thank you!", "many thanks", "cheers", "sincerely", "all the best",
		"best wishes", "talk soon", "take care", "yours", "thx", "ciao",
		"viele grüße", "beste grüße", "liebe grüße", "mit freundlichen grüßen",
		"gruß", "grüße", "cordialement", "bien à vous", "bien cordialement",
		"amitiés", "merci", "saludos", "un saludo", "atentamente",
		"un abrazo", "gracias", NULL,
	};
	char w[64];
	size_t n = strlen(low), i;

	if (n == 0 || n >= sizeof(w))
		return false;
	memcpy(w, low, n + 1);
	while (n > 0 && strchr(",.!-", w[n - 1]) != NULL)
		w[--n] = '\0';
	for (i = 0; offs[i] != NULL; i++)
		if (strcmp(w, offs[i]) == 0)
			return true;
	return false;
}

/*
 * A sign-off at line i ends the content when what follows is a short name
 * block: at most 6 short lines and no postscript.
 */
static bool
signoff_ends_content(const struct ctext_line *l, size_t i, size_t n)
{
	size_t j, lines = 0, total = 0;
	char low[512];

	for (j = i + 1; j < n; j++) {
		ctext_line_low(&l[j], low, sizeof(low));
		if (low[0] == '\0')
			continue;
		if (ctext_starts_ci(low, "p.s") || ctext_starts_ci(low, "ps:") ||
		    ctext_starts_ci(low, "ps "))
			return false;
		if (l[j].len > 80)
			return false;
		lines++;
		total += l[j].len;
		if (lines > 6 || total > 400)
			return false;
	}
	return true;
}

char *
classify_strip_quotes(const char *text)
{
	struct ctext_line *l = NULL;
	struct buf b;
	size_t n, i, end, first, last;
	bool content = false;
	char low[512];

	buf_init(&b);
	if (text == NULL)
		return buf_steal(&b);
	n = ctext_split_lines(text, &l);
	end = n;
	for (i = 0; i < n; i++) {
		ctext_line_low(&l[i], low, sizeof(low));
		if (starts_quote(l, i, n) || strcmp(low, "--") == 0 ||
		    (l[i].len == 3 && memcmp(l[i].p, "-- ", 3) == 0) ||
		    is_mobile_signature(low)) {
			end = i;
			break;
		}
	}
	/* A sign-off with a short name block after real content. */
	for (i = 0; i < end; i++) {
		ctext_line_low(&l[i], low, sizeof(low));
		if (content && is_signoff(low) && signoff_ends_content(l, i, end)) {
			end = i;
			break;
		}
		if (low[0] != '\0' && !ctext_starts_ci(low, "hi") &&
		    !ctext_starts_ci(low, "hello") && !ctext_starts_ci(low, "dear") &&
		    !ctext_starts_ci(low, "hallo") && !ctext_starts_ci(low, "bonjour") &&
		    !ctext_starts_ci(low, "hola"))
			content = true;
	}
	first = 0;
	while (first < end && l[first].len == 0)
		first++;
	last = end;
	while (last > first) {
		ctext_line_low(&l[last - 1], low, sizeof(low));
		if (low[0] != '\0')
			break;
		last--;
	}
	for (i = first; i < last; i++) {
		size_t len = l[i].len;

		while (len > 0 && (l[i].p[len - 1] == ' ' || l[i].p[len - 1] == '\t'))
			len--;
		buf_add(&b, l[i].p, len);
		buf_addch(&b, '\n');
	}
	free(l);
	return buf_steal(&b);
}

