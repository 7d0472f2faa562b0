/*
 * classify_quote.c - the new text of a reply: quoted history (">" lines
 * and their attribution in any of a dozen languages, separators, Outlook
 * header blocks) and signatures (mobile footers, "-- ", "-Name", a
 * sign-off or a name/title/phone/URL block at the end) cut away. What is
 * written below or between quoted lines is kept: people answer inline.
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

/* ---- quoted history ------------------------------------------------------ */

#define LOW_MAX         512     /* bytes of a line looked at */
#define ATTR_LINES      3       /* an attribution wraps over at most 3 */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* A lower-cased line with '*' (Outlook's bold) dropped and full-width
 * colons made ASCII, for comparing with the tables below. */
static void
line_key(const struct ctext_line *l, char *out, size_t outlen)
{
	char raw[LOW_MAX];
	size_t i, o = 0;

	ctext_line_low(l, raw, sizeof(raw));
	for (i = 0; raw[i] != '\0' && o + 1 < outlen; i++) {
		if (raw[i] == '*')
			continue;
		if ((unsigned char)raw[i] == 0xef && (unsigned char)raw[i + 1] == 0xbc &&
		    (unsigned char)raw[i + 2] == 0x9a) {
			out[o++] = ':';
			i += 2;
			continue;
		}
		out[o++] = raw[i];
	}
	out[o] = '\0';
}

static bool
is_quoted(const struct ctext_line *l)
{
	const char *p = ctext_skip_ws(l->p);

	return (size_t)(p - l->p) < l->len && *p == '>';
}

static bool
is_blank(const struct ctext_line *l)
{
	return ctext_skip_ws(l->p) >= l->p + l->len;
}

/* Verbs of attribution lines ("On ... wrote:", "Am ... schrieb ...:",
 * "Le ... a écrit :", "El ... escribió:", "Em ... escreveu:", "Il ... ha
 * scritto:", "Op ... schreef:", "... написал:", "...のメッセージ:",
 * "... 写道："). */
static bool
has_attribution_verb(const char *low)
{
	static const char *const verbs[] = { "wrote", "schrieb", "a écrit",
	    "écrit", "escribió", "escribio", "escreveu", "ha scritto",
	    "scrisse", "schreef", "написал", "написала", "пишет", "napisał",
	    "skrev", "kirjoitti", "のメッセージ", "さんは書きました", "写道",
	    "寫道", NULL };
	size_t i;

	for (i = 0; verbs[i] != NULL; i++)
		if (strstr(low, verbs[i]) != NULL)
			return true;
	return false;
}

static bool
has_digit_or_at(const char *s)
{
	for (; *s != '\0'; s++)
		if (isdigit((unsigned char)*s) || *s == '@')
			return true;
	return false;
}

/* The next non-blank line at or after i, or n. */
static size_t
next_nonblank(const struct ctext_line *l, size_t i, size_t n)
{
	while (i < n && ctext_skip_ws(l[i].p) >= l[i].p + l[i].len)
		i++;
	return i;
}

/*
 * An attribution starting at line i, wrapped over up to ATTR_LINES lines:
 * its line count, or 0. It names a date or an address and ends with ':'
 * and either has a verb of writing or is followed by '>' lines (then any
 * language reads: "02.04.2012 14:20 пользователь ... написал:").
 */
static size_t
attribution_at(const struct ctext_line *l, size_t i, size_t n, bool *quoted)
{
	char joined[ATTR_LINES * LOW_MAX], one[LOW_MAX];
	size_t k, nx;

	joined[0] = '\0';
	for (k = 0; k < ATTR_LINES && i + k < n; k++) {
		if (is_blank(&l[i + k]) || is_quoted(&l[i + k]))
			break;
		line_key(&l[i + k], one, sizeof(one));
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined),
		    "%s%s", k > 0 ? " " : "", one);
		if (!ends_with(joined, ":") || strlen(joined) < 12 ||
		    strlen(joined) > 400 || !has_digit_or_at(joined))
			continue;
		nx = next_nonblank(l, i + k + 1, n);
		*quoted = nx < n && is_quoted(&l[nx]);
		if (*quoted || has_attribution_verb(joined))
			return k + 1;
	}
	return 0;
}

/* True when the attribution found at i over k lines is found as well
 * starting on a later line and ending on the same one: line i is text
 * written just above it ("Hi,\nOn ... wrote:"). */
static bool
attribution_later(const struct ctext_line *l, size_t i, size_t k, size_t n)
{
	char low[LOW_MAX];
	size_t j, k2;
	bool q;

	/* a line with a date or an address opens the attribution itself */
	line_key(&l[i], low, sizeof(low));
	if (has_digit_or_at(low))
		return false;
	for (j = i + 1; j < i + k; j++)
		if ((k2 = attribution_at(l, j, n, &q)) > 0 && j + k2 == i + k)
			return true;
	return false;
}

/* Separator lines that start forwarded or quoted history. */
static bool
is_separator(const char *low)
{
	static const char *const seps[] = {
		"original message", "ursprüngliche nachricht", "message d'origine",
		"mensaje original", "mensagem original", "messaggio originale",
		"oorspronkelijk bericht", "исходное сообщение", "原始邮件",
		"元のメッセージ", "forwarded message", "weitergeleitete nachricht",
		"message transféré", "mensaje reenviado", "mensagem encaminhada",
		"messaggio inoltrato", "doorgestuurd bericht",
		"пересылаемое сообщение", "转发的邮件", NULL,
	};
	size_t i, dash = 0, under = 0, len = strlen(low);

	if (strcmp(low, "begin forwarded message:") == 0 ||
	    strcmp(low, "début du message réexpédié :") == 0)
		return true;
	/* "-----Original Message-----", "-------- Forwarded message ----" */
	if (len > 6 && low[0] == '-' && low[1] == '-' && low[len - 1] == '-') {
		for (i = 0; seps[i] != NULL; i++)
			if (strstr(low, seps[i]) != NULL)
				return true;
	}
	for (i = 0; low[i] == '_'; i++)
		under++;
	if (under >= 10 && low[i] == '\0')
		return true;
	for (i = 0; low[i] == '-'; i++)
		dash++;
	return dash >= 10 && low[i] == '\0';
}

/* Outlook's header block: "From: ..." then "Sent:"/"Date:" within 5
 * lines, in the languages Outlook writes them. */
static bool
is_header_block(const struct ctext_line *l, size_t i, size_t n)
{
	static const char *const from[] = { "from:", "de:", "de :", "von:",
	    "da:", "van:", "от:", "差出人:", "发件人:", "寄件者:", "从:", NULL };
	static const char *const sent[] = { "sent:", "date:", "envoyé :",
	    "envoyé:", "date :", "gesendet:", "datum:", "enviado el:",
	    "enviado:", "enviada em:", "enviada:", "fecha:", "data:",
	    "inviato:", "verzonden:", "verstuurd:", "отправлено:", "дата:",
	    "送信日時:", "日付:", "发送时间:", "时间:", "寄件日期:", "to:",
	    "an:", "à :", "para:", "a:", "aan:", "кому:", "宛先:", "收件人:",
	    NULL };
	char low[LOW_MAX];
	size_t j, k, hits = 0;
	bool ok = false;

	line_key(&l[i], low, sizeof(low));
	for (k = 0; from[k] != NULL; k++)
		if (strncmp(low, from[k], strlen(from[k])) == 0)
			ok = true;
	if (!ok)
		return false;
	for (j = i + 1; j < n && j <= i + 5; j++) {
		line_key(&l[j], low, sizeof(low));
		for (k = 0; sent[k] != NULL; k++)
			if (strncmp(low, sent[k], strlen(sent[k])) == 0) {
				hits++;
				break;
			}
	}
	return hits >= 1;
}

/* ---- signatures ----------------------------------------------------------- */

/* "Sent from my iPhone", "Get Outlook for iOS": a device footer, a whole
 * line of a few words - not "Sent from my desk, is much easier ...". */
static bool
is_mobile_signature(const char *low)
{
	static const char *const sigs[] = {
		"sent from my ", "get outlook for ", "sent from outlook",
		"sent from mail for windows", "sent from yahoo mail",
		"sent from samsung", "sent via ", "sent with ",
		"von meinem iphone gesendet", "von meinem ipad gesendet",
		"von meinem smartphone gesendet", "envoyé de mon ",
		"enviado desde mi ", "enviado do meu ", "inviato da ",
		"verzonden vanaf mijn ", "отправлено с ", "sent from proton",
		"iphoneから送信", "发自我的", "從我的 iphone 傳送", NULL,
	};
	size_t i, words = 1;
	const char *p;

	for (i = 0; sigs[i] != NULL; i++)
		if (strncmp(low, sigs[i], strlen(sigs[i])) == 0)
			break;
	if (sigs[i] == NULL)
		return false;
	for (p = low; *p != '\0'; p++) {
		if (*p == ' ')
			words++;
		if (*p == ',' || *p == ';' || *p == '!' || *p == '?')
			return false;
	}
	return words <= 8 && strlen(low) <= 80;
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
signoff_ends_content(const struct ctext_line *l, const size_t *keep, size_t i,
    size_t n)
{
	size_t j, lines = 0, total = 0;
	char low[512];

	for (j = i + 1; j < n; j++) {
		ctext_line_low(&l[keep[j]], low, sizeof(low));
		if (low[0] == '\0')
			continue;
		if (ctext_starts_ci(low, "p.s") || ctext_starts_ci(low, "ps:") ||
		    ctext_starts_ci(low, "ps "))
			return false;
		if (l[keep[j]].len > 80)
			return false;
		lines++;
		total += l[keep[j]].len;
		if (lines > 6 || total > 400)
			return false;
	}
	return true;
}

/* True for a line with a phone number, an address or a web address. */
static bool
is_contact_line(const char *low)
{
	size_t digits = 0, other = 0;
	const char *p;

	if (strchr(low, '@') != NULL || strstr(low, "http") != NULL ||
	    strstr(low, "www.") != NULL || strstr(low, "linkedin") != NULL)
		return true;
	for (p = low; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (isalpha((unsigned char)*p))
			other++;
	}
	return digits >= 7 && other <= 12;
}

static size_t
word_count(const char *s)
{
	size_t w = 0;
	bool in = false;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t')
			in = false;
		else if (!in) {
			in = true;
			w++;
		}
	}
	return w;
}

/* A line of 2 to 4 capitalized words, the way a name is written. */
static bool
is_name_line(const struct ctext_line *l)
{
	const char *p = ctext_skip_ws(l->p), *end = l->p + l->len;
	size_t words = 0;
	bool start = true;

	if (end - p > 40)
		return false;
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ') {
			start = true;
			continue;
		}
		if (start) {
			if (!(isupper(c) || c >= 0xc0))
				return false;
			words++;
			start = false;
		} else if (isdigit(c) || strchr("!?:;,", c) != NULL)
			return false;
	}
	return words >= 2 && words <= 4;
}

/* Words before a block that introduce people, so the block is a referral,
 * not the writer's signature. */
static bool
introduces(const char *low)
{
	static const char *const intro[] = { "talk to", "speak to", "speak with",
	    "reach out", "contact", "introduce", "colleague", "cc", "write to",
	    "email", "e-mail", "ask", "try", "connect", "recommend", NULL };

	return ends_with(low, ":") || ends_with(low, " to") ||
	    ctext_has_any(low, strlen(low), intro);
}

/*
 * A block at the end of the kept lines, after an empty line, that is the
 * writer's card: 2 to 7 short lines with a phone, address or URL among
 * them ("Gina Xxxx / gina@example.com / (555) 346-9947 / www..."), or a
 * name with a line or two under it ("Stavros Xxxx / via mobile"). Returns
 * the index of its first line, or n.
 */
static size_t
card_at_end(const struct ctext_line *l, const size_t *keep, size_t n)
{
	char low[LOW_MAX];
	size_t e = n, b, i, lines, contact = 0, prev;

	while (e > 0 && is_blank(&l[keep[e - 1]]))
		e--;
	b = e;
	while (b > 0 && !is_blank(&l[keep[b - 1]]))
		b--;
	lines = e - b;
	if (b == 0 || lines == 0 || lines > 7)
		return n;
	prev = b;
	while (prev > 0 && is_blank(&l[keep[prev - 1]]))
		prev--;
	if (prev == 0)
		return n;               /* nothing before it: it is the text */
	ctext_line_low(&l[keep[prev - 1]], low, sizeof(low));
	if (introduces(low))
		return n;
	for (i = b; i < e; i++) {
		ctext_line_low(&l[keep[i]], low, sizeof(low));
		if (strlen(low) > 60 || word_count(low) > 8)
			return n;
		if (is_contact_line(low))
			contact++;
	}
	if (contact > 0 && lines >= 2)
		return b;
	if (lines <= 3 && is_name_line(&l[keep[b]])) {
		for (i = b + 1; i < e; i++) {
			ctext_line_low(&l[keep[i]], low, sizeof(low));
			if (strlen(low) > 30 || strpbrk(low, ".!?") != NULL)
				return n;
		}
		return lines >= 2 ? b : n;
	}
	return n;
}

/* "-Abhishek Kona": a dash and a name, the old way to sign. */
static bool
is_dash_name(const struct ctext_line *l)
{
	const char *p = ctext_skip_ws(l->p);
	size_t len = l->len - (size_t)(p - l->p);

	return len >= 3 && len <= 40 && p[0] == '-' &&
	    (isalpha((unsigned char)p[1]) || (unsigned char)p[1] >= 0xc0);
}

/* The first line of a legal notice: "This email and any attachments are
 * confidential...", "CONFIDENTIALITY NOTICE:", "Diese E-Mail enthält
 * vertrauliche...". Its addresses are nobody's suggestion. */
static bool
is_disclaimer(const char *low)
{
	static const char *const opens[] = { "this email", "this e-mail",
	    "this message", "the information contained", "the information in",
	    "confidential", "disclaimer", "notice:", "caution:", "privileged",
	    "important:", "diese e-mail", "diese nachricht", "ce message",
	    "ce courriel", "este mensaje", "este correo", "aviso legal",
	    "avis de confidentialité", "questo messaggio", "esta mensagem",
	    "dit bericht", "***", "you received this", "you are receiving this",
	    "to unsubscribe", "to stop receiving", NULL };
	static const char *const words[] = { "confidential", "intended recipient",
	    "intended solely", "privileged", "disclaimer",
	    "vertraulich", "confidentiel", "confidencial", "riservat",
	    "destinataire", "destinatario", "empfänger", "unauthorized",
	    "prohibited", "subscribed", "unsubscribe", "receiving emails",
	    NULL };
	size_t i;

	for (i = 0; opens[i] != NULL; i++)
		if (strncmp(low, opens[i], strlen(opens[i])) == 0)
			break;
	return opens[i] != NULL && ctext_has_any(low, strlen(low), words);
}

/* The index (in keep[]) where the signature starts, or n. */
static size_t
signature_at(const struct ctext_line *l, const size_t *keep, size_t n)
{
	char low[LOW_MAX];
	size_t i, rest, j;
	bool content = false;

	for (i = 0; i < n; i++) {
		const struct ctext_line *x = &l[keep[i]];

		ctext_line_low(x, low, sizeof(low));
		if (strcmp(low, "--") == 0 || strcmp(low, "__") == 0 ||
		    (x->len == 3 && memcmp(x->p, "-- ", 3) == 0) ||
		    is_mobile_signature(low))
			return i;
		if (content && is_dash_name(x)) {
			for (rest = 0, j = i + 1; j < n; j++)
				if (!is_blank(&l[keep[j]]))
					rest++;
			if (rest <= 3)
				return i;
		}
		if (content && is_signoff(low) && signoff_ends_content(l, keep,
		    i, n))
			return i;
		if (content && is_disclaimer(low))
			return i;
		if (low[0] != '\0' && !ctext_starts_ci(low, "hi") &&
		    !ctext_starts_ci(low, "hello") && !ctext_starts_ci(low, "dear") &&
		    !ctext_starts_ci(low, "hallo") && !ctext_starts_ci(low, "bonjour") &&
		    !ctext_starts_ci(low, "hola"))
			content = true;
	}
	return card_at_end(l, keep, n);
}

/*
 * The new text of a reply. Lines quoted with '>' and their attribution
 * are dropped wherever they are, so an answer written below or between
 * quoted lines stays; a separator, an Outlook header block or an
 * attribution without '>' under it ends the new text (everything after
 * it is history); then the signature is cut.
 */
char *
classify_strip_quotes(const char *text)
{
	struct ctext_line *l = NULL;
	size_t *keep = NULL;
	struct buf b;
	size_t n, i, k, nk = 0, end, first, last, sig;
	char low[LOW_MAX];
	bool quoted;

	buf_init(&b);
	if (text == NULL)
		return buf_steal(&b);
	n = ctext_split_lines(text, &l);
	keep = xcalloc(n ? n : 1, sizeof(*keep));
	for (i = 0; i < n; i++) {
		if (is_quoted(&l[i]))
			continue;
		line_key(&l[i], low, sizeof(low));
		if (low[0] != '\0' && (is_separator(low) ||
		    is_header_block(l, i, n)))
			break;
		if (low[0] != '\0' && (k = attribution_at(l, i, n, &quoted)) > 0 &&
		    !attribution_later(l, i, k, n)) {
			if (!quoted)
				break;
			i += k - 1;
			continue;
		}
		keep[nk++] = i;
	}
	sig = signature_at(l, keep, nk);
	end = sig < nk ? sig : nk;
	first = 0;
	while (first < end && is_blank(&l[keep[first]]))
		first++;
	last = end;
	while (last > first && is_blank(&l[keep[last - 1]]))
		last--;
	for (i = first; i < last; i++) {
		const struct ctext_line *x = &l[keep[i]];
		size_t len = x->len;

		/* one empty line where a quote left several */
		if (i > first && is_blank(x) && is_blank(&l[keep[i - 1]]))
			continue;
		while (len > 0 && (x->p[len - 1] == ' ' || x->p[len - 1] == '\t'))
			len--;
		buf_add(&b, x->p, len);
		buf_addch(&b, '\n');
	}
	free(keep);
	free(l);
	return buf_steal(&b);
}
