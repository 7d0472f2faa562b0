/*
 * classify_referral.c - the people a reply suggests talking to: addresses
 * in the new text (with the name written beside them) and names after
 * phrases such as "talk to" or "reach out to". Pure: no I/O, no logging.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "classify_text.h"
#include "util.h"

#define MAX_REFERRALS   20

/* ---- referrals ----------------------------------------------------------- */

static bool
is_name_word(const char *orig, size_t a, size_t b)
{
	static const char *const stop[] = { "I", "I'm", "I'd", "I'll", "My",
	    "You", "Your", "Please", "Contact", "Email", "E-mail", "Ask", "Try",
	    "Talk", "Reach", "Also", "And", "Or", "Hi", "Hello", "Dear", "Cc",
	    "CC", "He", "She", "They", "We", "The", "Thanks", "Best", "Mr",
	    "Ms", "Mrs", "Dr", "Prof", "Let", "If", "She's", "He's", "Our",
	    "Happy", "Sure", "Tell", "Mention", "Say", "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "PS",
	    "But", "Maybe", "Perhaps", "Check", "Loop", "Looping", "Copying",
	    "Adding", "Both", "Either", "Great", "Good", "Not", NULL };
	unsigned char c = (unsigned char)orig[a];
	size_t k;

	if (b <= a || b - a > 30)
		return false;
	if (!(isupper(c) || c >= 0xc0))
		return false;
	for (k = 0; stop[k] != NULL; k++)
		if (strlen(stop[k]) == b - a && memcmp(orig + a, stop[k], b - a) == 0)
			return false;
	return true;
}

static size_t
name_word_end(const char *orig, size_t len, size_t a)
{
	size_t b = a;

	while (b < len && (ctext_is_alpha8((unsigned char)orig[b]) ||
	    ((orig[b] == '-' || orig[b] == '\'' || orig[b] == '.') && b + 1 < len &&
	    ctext_is_alpha8((unsigned char)orig[b + 1]))))
		b++;
	return b;
}

/* The capitalized words ending just before offset end (up to 4), or NULL. */
static char *
name_before(const struct ctext *t, size_t end)
{
	size_t p = end, words = 0, first = end, name_end = end, a, b;

	while (p > 0 && strchr(" (<:,-\"", t->orig[p - 1]) != NULL)
		p--;
	/* "Maria Chen at maria@...", "Dan via dan@..." */
	if (p >= 3 && (strncmp(t->low + p - 3, " at", 3) == 0 ||
	    (p >= 4 && strncmp(t->low + p - 4, " via", 4) == 0))) {
		p -= t->low[p - 1] == 't' ? 3 : 4;
		while (p > 0 && t->orig[p - 1] == ' ')
			p--;
	}
	while (p > 0 && words < 4) {
		b = p;
		a = b;
		while (a > 0 && (ctext_is_alpha8((unsigned char)t->orig[a - 1]) ||
		    t->orig[a - 1] == '-' || t->orig[a - 1] == '\''))
			a--;
		if (a == b || name_word_end(t->orig, t->len, a) != b ||
		    !is_name_word(t->orig, a, b))
			break;
		if (words == 0)
			name_end = b;
		first = a;
		words++;
		p = a;
		if (p == 0 || t->orig[p - 1] != ' ')
			break;
		p--;
	}
	if (words == 0)
		return NULL;
	return ctext_trim_dup(t->orig + first, name_end - first);
}

/* Name words starting at offset a (up to 3), their end in *ret_end. */
static size_t
name_words_at(const struct ctext *t, size_t a, size_t *ret_end)
{
	size_t words = 0, b, end = a;

	while (a < t->len && words < 3) {
		b = name_word_end(t->orig, t->len, a);
		if (!is_name_word(t->orig, a, b))
			break;
		words++;
		end = b;
		if (b >= t->len || t->orig[b] != ' ')
			break;
		a = b + 1;
	}
	*ret_end = end;
	return words;
}

static bool
referral_known(const struct classification *c, const char *email,
    const char *name)
{
	size_t k;

	for (k = 0; k < c->n_referrals; k++) {
		if (!str_empty(email) && ctext_addr_eq(c->referrals[k].email, email))
			return true;
		if (!str_empty(name) && strcasecmp(c->referrals[k].name, name) == 0)
			return true;
	}
	return false;
}

static void
add_referral(struct classification *c, char *name, char *email)
{
	if (c->n_referrals >= MAX_REFERRALS || referral_known(c, email, name)) {
		free(name);
		free(email);
		return;
	}
	c->referrals = xreallocarray(c->referrals, c->n_referrals + 1,
	    sizeof(*c->referrals));
	c->referrals[c->n_referrals].name = name ? name : xstrdup("");
	c->referrals[c->n_referrals].email = email ? email : xstrdup("");
	c->n_referrals++;
}

/* Strips a trailing sentence or possessive end from a name, in place. */
static char *
clean_name(char *name)
{
	size_t n;

	if (name == NULL)
		return NULL;
	n = strlen(name);
	while (n > 0 && strchr(".,;:'", name[n - 1]) != NULL)
		name[--n] = '\0';
	if (n > 2 && strcmp(name + n - 2, "'s") == 0)
		name[n - 2] = '\0';
	return name;
}

/* True when the text names this person: the whole name, the first name
 * as a capitalized word, or the address's local part. */
static bool
text_names(const struct ctext *t, const char *name, const char *email)
{
	char *low = ctext_lower_dup(name), *first, *sp, *local;
	const char *at = strchr(email, '@');
	bool r = false;
	long p;

	if (low[0] != '\0' && ctext_find_phrase(t->low, t->len, low, 0) >= 0)
		r = true;
	first = low;
	while (*first == ' ' || *first == '"')
		first++;
	if (!r && (sp = strchr(first, ' ')) != NULL) {
		*sp = '\0';
		/* the first name, written with a capital in the text */
		for (p = 0; strlen(first) >= 2 &&
		    (p = ctext_find_phrase(t->low, t->len, first, (size_t)p)) >= 0;
		    p++)
			if (isupper((unsigned char)t->orig[p]) ||
			    (unsigned char)t->orig[p] >= 0xc0) {
				r = true;
				break;
			}
	}
	if (!r && at != NULL && at - email >= 3) {
		local = str_lower(xstrndup(email, (size_t)(at - email)));
		r = ctext_find_phrase(t->low, t->len, local, 0) >= 0;
		free(local);
	}
	free(low);
	return r;
}

/*
 * People the writer copied (Cc) and points to in the text ("I've cc'd my
 * colleague Dan", "looping in Priya"): a referral with the address from
 * the Cc header. Someone only copied, never mentioned, is not one - unless
 * the text says it copied someone and only one person is copied.
 */
static void
cc_referrals(const struct ctext *t, const struct inmsg *m,
    const struct classify_ctx *ctx, struct classification *ret)
{
	static const char *const cc_words[] = { "cc", "cc'd", "cc'ing",
	    "cc-ing", "ccd", "copied", "copying", "in copy", "looping in",
	    "looped in", "loop in", "added", "adding", "en copie", "in kopie",
	    "en copia", "con copia", NULL };
	const char *v = ctext_header(m, "Cc");
	char *email[MAX_REFERRALS], *name[MAX_REFERRALS];
	size_t n = 0, a, b, from = 0, s, i;
	bool told;

	if (v == NULL)
		return;
	while (n < MAX_REFERRALS && ctext_next_address(v, strlen(v), from, &a, &b)) {
		char *e = ctext_address_dup(v, a, b);

		s = a;
		while (s > from && v[s - 1] != ',')
			s--;
		from = b;
		if (e == NULL)
			continue;
		if (ctext_addr_eq(e, ctx->own_addr) || ctext_addr_eq(e,
		    ctx->contact_addr) || ctext_addr_eq(e, m->from_addr) ||
		    ctext_is_robot_addr(e)) {
			free(e);
			continue;
		}
		email[n] = e;
		name[n] = ctext_trim_dup(v + s, a - s);
		/* "Dan Okafor <dan@...>", "\"Okafor, Dan\" <...>" */
		for (i = 0; name[n][i] != '\0'; i++)
			if (strchr("<>\"'()", name[n][i]) != NULL)
				name[n][i] = ' ';
		str_trim(name[n]);
		n++;
	}
	told = ctext_has_any(t->low, t->len, cc_words);
	for (i = 0; i < n; i++) {
		if (text_names(t, name[i], email[i]) || (told && n == 1)) {
			add_referral(ret, name[i], email[i]);
			continue;
		}
		free(name[i]);
		free(email[i]);
	}
}

/* Finds people suggested in the new text: addresses first, then names. */
void
creferral_find(const char *new_text, const struct inmsg *m,
    const struct classify_ctx *ctx, struct classification *ret)
{
	static const char *const triggers[] = { "talk to", "talk with",
	    "speak to", "speak with", "reach out to", "get in touch with",
	    "connect with", "contact", "ask", "introduce you to",
	    "put you in touch with", "cc'ing", "cc'd", "cc-ing", "copying",
	    "looping in", "loop in", "colleague", "friend", "try", "ping",
	    "write to", "chat with", "recommend", "suggest", "email", "e-mail",
	    "sprechen sie mit", "wenden sie sich an", "kontaktieren sie",
	    "parler à", "contacter", "contactez", "hablar con", "contactar a",
	    "escribir a", NULL };
	static const char *const filler[] = { "my", "our", "colleague",
	    "colleagues", "friend", "former", "manager", "boss", "teammate",
	    "coworker", "co-worker", "mentor", "the", "to", "at", "with",
	    "mon", "ma", "mi", "meinen", "meine", "meinem", "kollegen",
	    "kollegin", "collègue", "colega", "amigo", "amiga", "ami", "amie",
	    "old", "good", "great", "director", "recruiter", "lead", NULL };
	struct ctext t;
	size_t a, b, from = 0, k, i, end;
	char *email, *name;
	long p;

	ctext_init(&t, new_text, CTEXT_ANALYZE_MAX);
	while (ctext_next_address(t.orig, t.len, from, &a, &b)) {
		from = b;
		if ((email = ctext_address_dup(t.orig, a, b)) == NULL)
			continue;
		if (ctext_addr_eq(email, ctx->own_addr) || ctext_addr_eq(email, ctx->contact_addr) ||
		    ctext_addr_eq(email, m->from_addr) || ctext_is_robot_addr(email) ||
		    (a >= 7 && strncmp(t.low + a - 7, "mailto:", 7) == 0)) {
			free(email);
			continue;
		}
		name = clean_name(name_before(&t, a));
		if (name == NULL) {
			/* "dan@x.test (Dan Wu)" */
			i = b;
			while (i < t.len && strchr(" (<>-", t.orig[i]) != NULL)
				i++;
			if (name_words_at(&t, i, &end) > 0)
				name = clean_name(ctext_trim_dup(t.orig + i, end - i));
		}
		add_referral(ret, name, email);
	}
	cc_referrals(&t, m, ctx, ret);
	/* Names without an address: "reach out to Priya Patel at Initech". */
	for (k = 0; triggers[k] != NULL; k++) {
		from = 0;
		while ((p = ctext_find_phrase(t.low, t.len, triggers[k], from)) >= 0) {
			i = (size_t)p + strlen(triggers[k]);
			from = i;
			while (i < t.len && t.orig[i] == ' ') {
				size_t w = i + 1, we;

				we = name_word_end(t.orig, t.len, w);
				if (we == w)
					break;
				for (a = 0; filler[a] != NULL; a++)
					if (strlen(filler[a]) == we - w &&
					    memcmp(t.low + w, filler[a], we - w) == 0)
						break;
				if (filler[a] == NULL)
					break;
				i = we;
			}
			while (i < t.len && strchr(" ,:", t.orig[i]) != NULL)
				i++;
			if (name_words_at(&t, i, &end) < 2)
				continue;
			name = clean_name(ctext_trim_dup(t.orig + i, end - i));
			if (ctext_addr_eq(name, m->from_name)) {
				free(name);
				continue;
			}
			add_referral(ret, name, NULL);
		}
	}
	ctext_done(&t);
}

