/*
 * classify_intent.c - what a person's reply says: accepts one offered
 * slot, proposes another time, declines, opts out, agrees without a time,
 * only refers to others - or is unclear, which goes to the user and is
 * never guessed. Pure: no I/O, no logging.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify_int.h"
#include "classify_text.h"
#include "classify_time.h"
#include "util.h"

/* ---- intent -------------------------------------------------------------- */

static const char *const optout_phrases[] = {
	"don't contact me", "do not contact me", "don't email me",
	"do not email me", "don't e-mail me", "do not e-mail me",
	"stop emailing me", "stop e-mailing me", "stop contacting me",
	"stop messaging me", "stop writing to me", "remove me from",
	"take me off", "unsubscribe me", "please unsubscribe",
	"want to unsubscribe", "like to unsubscribe", "unsubscribe, please",
	"no more emails", "no more e-mails",
	"not interested, please do not", "please do not contact",
	"please don't contact", "please do not email", "please don't email",
	"please do not write", "please don't write", "do not write to me",
	"don't write to me", "leave me alone", "opt out", "opt me out",
	"do not reach out", "don't reach out again", "never contact me",
	"kontaktieren sie mich nicht", "nicht mehr kontaktieren",
	"keine weiteren e-mails", "keine e-mails mehr", "ne me contactez plus",
	"ne plus me contacter", "ne me contactez pas", "no me contacte",
	"no me contactes", "dejar de enviarme", "darme de baja",
	"no vuelva a contactarme",
	/* polite and indirect */
	"please remove me", "remove my email", "remove my address",
	"remove my name", "delete my email", "delete my address",
	"off your list", "off your mailing list", "off this list",
	"would prefer not to be contacted", "prefer not to be contacted",
	"rather not be contacted", "do not wish to be contacted",
	"don't wish to be contacted", "don't want to be contacted",
	"do not want to be contacted", "not to be contacted",
	"no longer wish to receive", "don't want to receive",
	"do not want to receive", "stop sending", "don't send me",
	"do not send me", "no further contact", "no further emails",
	"no further e-mails", "never email me", "never e-mail me",
	"never write to me", "dont contact me", "dont email me",
	"please stop", "stop reaching out", "not contact me again",
	"don't contact me again", "do not contact me again",
	/* es */
	"no me escriba", "no me escribas", "no me envíe", "no me envíes",
	"no me envie", "elimíname", "eliminame", "elimine mi", "bórrame",
	"borrame", "quítame de", "quitame de", "sáquenme de", "no quiero recibir",
	"no deseo recibir", "no me contacten", "no volver a contactarme",
	"dar de baja", "no me vuelva a escribir", "no me vuelvas a escribir",
	"no me contacte más", "no me contactes más", "no quiero que me contacte",
	/* fr */
	"merci de ne plus", "ne m'écrivez plus", "ne plus m'écrire",
	"retirez-moi", "retirez moi", "désinscrivez-moi", "me désinscrire",
	"désinscription", "supprimez mon adresse", "je ne souhaite plus recevoir",
	"ne plus recevoir", "ne me contactez plus jamais", "cessez de m'écrire",
	"ne plus être contacté", "ne plus etre contacte",
	/* de */
	"bitte entfernen sie mich", "entfernen sie mich", "nicht mehr anschreiben",
	"schreiben sie mir nicht", "schreiben sie mir bitte nicht",
	"keine weiteren nachrichten", "abmelden", "austragen",
	"tragen sie mich aus", "kontaktieren sie mich bitte nicht",
	"bitte nicht mehr kontaktieren", "nicht mehr kontaktiert werden",
	"keine mails mehr", "keine e-mails mehr", NULL,
};

/* A whole reply of one of these words is an opt-out. */
static const char *const optout_words[] = { "stop", "unsubscribe", "remove",
	"remove me", "opt out", "optout", "baja", "stopp", "abmelden",
	"désabonner", "désinscrire", "no more", NULL };

static const char *const decline_phrases[] = {
	"i'm afraid i can't", "i am afraid i can't", "afraid i can't",
	"afraid i cannot", "afraid i won't", "not able to help",
	"unable to help", "can't help", "cannot help", "too busy",
	"have to pass", "i'll pass", "i will pass", "going to pass",
	"unfortunately i won't be able", "unfortunately i can't",
	"unfortunately i cannot", "unfortunately, i can't",
	"unfortunately, i cannot", "unfortunately, i won't",
	"unfortunately i'm not able", "unfortunately, i'm not able",
	"i must decline", "have to decline", "need to decline",
	"politely decline", "respectfully decline", "not a good time for me",
	"don't have time", "don't have the time", "do not have time",
	"no bandwidth", "not interested", "not the right person",
	"can't take on", "not taking", "won't be able to help",
	"won't be able to make time", "not in a position to",
	"keine zeit", "muss leider absagen", "leider keine", "leider nicht",
	"je ne peux pas", "pas le temps", "pas disponible", "je dois décliner",
	"no puedo", "no tengo tiempo", "lamentablemente no",
	/* declines that never say "decline" */
	"have to say no", "going to say no", "must say no", "i'll say no",
	"don't do informational", "do not do informational",
	"don't do these", "don't take these", "don't take calls",
	"not taking calls", "not taking meetings", "i'm not available",
	"i am not available", "won't be available", "can't make it",
	"cannot make it", "can't commit", "cannot commit", "not possible",
	"no thanks", "no, thanks", "no thank you", "no, thank you",
	"not at this time", "not right now", "maybe another time",
	"some other time", "another time perhaps", "swamped", "slammed",
	"schedule is full", "calendar is full", "schedule is packed",
	"not something i can", "i'm not able to", "i am not able to",
	"won't be able to", "will not be able to", "not going to be able",
	"don't think i can help",
	"do not think i can help", "i'd rather not", "i would rather not",
	"pass on this", "pass this time", "not for me", "no capacity",
	"at capacity", "can't do it", "cannot do it", "not be able to",
	/* es */
	"no puedo ayudar", "no estoy disponible", "no me es posible",
	"no tengo disponibilidad", "no será posible", "no sera posible",
	"no gracias", "no, gracias", "en otra ocasión", "esta vez no",
	"tendré que declinar", "debo declinar", "no podré",
	/* fr */
	"je ne suis pas disponible", "pas possible", "ce ne sera pas possible",
	"non merci", "non, merci", "je vais devoir refuser", "je dois refuser",
	"une autre fois", "pas pour moi", "je n'ai pas le temps",
	"je ne pourrai pas", "malheureusement",
	/* de */
	"leider nicht möglich", "nicht möglich", "keine kapazität",
	"muss leider passen", "muss leider ablehnen", "nein danke",
	"nein, danke", "ich kann leider nicht", "passt leider nicht",
	"ein andermal", "leider kann ich", "keine zeit", NULL,
};

static const char *const affirm_phrases[] = {
	"works", "work for me", "would work", "can work", "good", "perfect", "great", "fine",
	"yes", "yep", "yeah", "sure", "ok", "okay", "let's", "let's do",
	"i'll take", "i can do", "i can make", "book", "confirm", "confirmed",
	"see you", "looking forward", "go with", "prefer", "suits", "available",
	"free", "happy", "glad", "sounds", "best for me", "i'm in", "passt",
	"gerne", "ja", "oui", "parfait", "ça marche", "convient", "sí", "si",
	"perfecto", "me va bien", "funciona", "d'accord", "einverstanden",
	"i choose", "pick", "please", "i'd like", "would like", "let's say",
	"bitte", "s'il vous plaît", "por favor", "je confirme", "je peux",
	"ça me va", "ca me va", "c'est bon", "ok pour", "me convient",
	"passt mir", "klappt", "geht bei mir", "ich kann", "puedo", "vale",
	"de acuerdo", "me viene bien", "posso", "va bene", "kan ik", "prima",
	NULL,
};

static const char *const positive_phrases[] = {
	"happy to", "glad to", "would love to", "i'd love to", "love to",
	"would be happy", "i'd be happy", "i'd be glad", "be happy to",
	"sure", "of course", "absolutely", "sounds good", "sounds great",
	"count me in", "yes", "let's chat", "let's talk", "let's find a time",
	"i'm in", "definitely", "with pleasure", "my pleasure", "gerne",
	"sehr gerne", "avec plaisir", "volontiers", "con gusto", "encantado",
	"encantada", "claro", "pleased to", "delighted", "i can help",
	"i could help", "feel free to", "i'm open to", "open to a chat",
	"open to chatting", "what works for you", "send me an invite",
	"send an invite", "send me a calendar", NULL,
};

struct ordinal_word {
	const char *w;
	int n;                  /* 0 = the last offered */
};

/* Slot references by position: "the second one", "option 2", "#2", "2nd works". */
static int
ordinal_at(const struct ctext_toks *tk, size_t i, size_t *used)
{
	static const struct ordinal_word words[] = {
		{ "first", 1 }, { "second", 2 }, { "third", 3 }, { "fourth", 4 },
		{ "fifth", 5 }, { "last", 0 }, { "erste", 1 }, { "ersten", 1 },
		{ "zweite", 2 }, { "zweiten", 2 }, { "dritte", 3 }, { "dritten", 3 },
		{ "premier", 1 }, { "première", 1 }, { "deuxième", 2 },
		{ "seconde", 2 }, { "troisième", 3 }, { "primera", 1 },
		{ "primero", 1 }, { "segunda", 2 }, { "segundo", 2 },
		{ "tercera", 3 }, { "tercero", 3 },
	};
	static const char *const follow[] = { "one", "option", "slot", "choice",
	    "proposal", "suggestion", "works", "is", "sounds", "suits", "would",
	    "please", "looks", "termin", "vorschlag", "créneau", "opción",
	    "horario", "propuesta", "fits", NULL };
	static const char *const time_follow[] = { "slot", "works", "is",
	    "would", "suits", NULL };
	static const char *const articles[] = { "the", "die", "le", "la", "el",
	    NULL };
	static const char *const label[] = { "option", "slot", "choice",
	    "number", "nr", "no", "opción", "termin", "créneau", "vorschlag", NULL };
	size_t k, j;
	int n = -1;

	/* "option 2", "slot #2", "#2" */
	if (ctext_tok_in(tk, i, label) || ctext_tok_punct(tk, i, '#')) {
		j = i + 1;
		if (ctext_tok_punct(tk, j, '.') || ctext_tok_punct(tk, j, '#'))
			j++;
		if (ctext_tok_num(tk, j, 1, 9) && tk->v[j].digits == 1 &&
		    !ctext_tok_punct(tk, j + 1, ':') && !ctext_tok_is(tk, j + 1, "pm") &&
		    !ctext_tok_is(tk, j + 1, "am")) {
			*used = j + 1 - i;
			return tk->v[j].num;
		}
		return -1;
	}
	/* "2 works", "2.", "3 please": a lone number opening a short reply
	 * (not "1. First, ..." opening a numbered list) */
	if (i == 0 && tk->n <= 6 && ctext_tok_num(tk, i, 1, 9) &&
	    tk->v[i].digits == 1 &&
	    (tk->n == 1 || ctext_tok_in(tk, 1, follow) ||
	    ((ctext_tok_punct(tk, 1, '.') || ctext_tok_punct(tk, 1, '!') ||
	    ctext_tok_punct(tk, 1, ',')) && !ctext_tok_num(tk, 2, 0, 99)))) {
		*used = 1;
		return tk->v[i].num;
	}
	if (ctext_tok_num(tk, i, 1, 9) && tk->v[i].digits == 1 &&
	    ctime_skip_ordinal(tk, i + 1) == i + 2 && !ctext_tok_is(tk, i + 1, "e") &&
	    !ctext_tok_is(tk, i + 1, "er")) {
		if (i > 0 && ctime_month_of(tk, i - 1) != 0)
			return -1;
		n = tk->v[i].num;
		j = i + 2;
	} else {
		for (k = 0; k < nitems(words); k++)
			if (ctext_tok_is(tk, i, words[k].w)) {
				n = words[k].n;
				break;
			}
		if (n < 0)
			return -1;
		j = i + 1;
	}
	if (ctime_month_of(tk, j) != 0 || ctext_tok_is(tk, j, "of"))
		return -1;
	/* "the second time slot", "the first one", "2nd works", "the last." */
	if (ctext_tok_is(tk, j, "time")) {
		if (!ctext_tok_in(tk, j + 1, time_follow))
			return -1;
	} else if (!ctext_tok_in(tk, j, follow) && !(i > 0 &&
	    ctext_tok_in(tk, i - 1, articles) && (j >= tk->n ||
	    tk->v[j].kind == CT_PUNCT)))
		return -1;
	*used = j - i;
	return n;
}

static void
add_slot_match(int *matched, size_t *n, int slot)
{
	size_t k;

	for (k = 0; k < *n; k++)
		if (matched[k] == slot)
			return;
	if (*n < CTIME_MAX_SLOTS)
		matched[(*n)++] = slot;
}

struct intent_facts {
	int matched[CTIME_MAX_SLOTS];         /* slot numbers named */
	size_t n_matched;
	time_t proposals[CTIME_MAX_EXPRS];
	size_t n_proposals;
	bool day_without_time;          /* a day we did not offer, no time */
	bool negated_slot;              /* "can't do Tuesday" */
	int negated[CTIME_MAX_SLOTS];   /* which slots were ruled out */
	size_t n_negated;
	bool other_time;                /* an hour that is none of ours */
	bool ambiguous_number;          /* "2 works" with a slot at 2pm */
};

static bool
slot_in(const int *v, size_t n, int slot)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (v[k] == slot)
			return true;
	return false;
}

static void
add_proposal(struct intent_facts *f, time_t t)
{
	size_t k;

	for (k = 0; k < f->n_proposals; k++)
		if (f->proposals[k] == t)
			return;
	if (f->n_proposals < CTIME_MAX_EXPRS)
		f->proposals[f->n_proposals++] = t;
}
static void
gather_times(const struct ctext *t, const struct classify_ctx *ctx,
    struct intent_facts *f)
{
	struct ctime_slot ls[CTIME_MAX_SLOTS];
	struct ctime_expr ex[CTIME_MAX_EXPRS];
	struct ctime_today td;
	struct ctext_toks tk;
	size_t n_ls, n_ex, i, k, used, hits;
	int y, m, d, n, last = 0;
	time_t when;

	memset(f, 0, sizeof(*f));
	ctime_today_init(ctx, &td);
	ctime_slots_local(ctx, ls, &n_ls);
	for (k = 0; k < n_ls; k++)
		if (ls[k].n > last)
			last = ls[k].n;
	ctext_tokenize(t, &tk);
	/* Positions: "the second one", "option 2". */
	for (i = 0; i < tk.n; i++) {
		used = 0;
		if ((n = ordinal_at(&tk, i, &used)) < 0)
			continue;
		if (n == 0)
			n = last;
		if (ctime_negated(&tk, tk.v[i].off, tk.v[i + used - 1].off +
		    tk.v[i + used - 1].len)) {
			f->negated_slot = true;
			add_slot_match(f->negated, &f->n_negated, n);
			continue;
		}
		for (k = 0; k < n_ls; k++)
			if (ls[k].n == n)
				add_slot_match(f->matched, &f->n_matched, n);
		/* a lone "2" is also an hour: ambiguous when a slot is at 2 */
		if (i == 0 && used == 1 && tk.v[0].kind == CT_NUM)
			for (k = 0; k < n_ls; k++)
				if (ls[k].n != n && ls[k].hh % 12 == n % 12 &&
				    ls[k].mm == 0)
					f->ambiguous_number = true;
		i += used - 1;
	}
	n_ex = ctime_find_exprs(&tk, ctime_text_is_dmy(t->low, t->len), ex, CTIME_MAX_EXPRS);
	for (i = 0; i < n_ex; i++) {
		hits = 0;
		for (k = 0; k < n_ls; k++) {
			struct ctime_slot zs;

			/* "2pm PT": the slot as the contact sees it there */
			ctime_slot_in_zone(&ex[i], ctx->own_tz, &ls[k], &zs);
			if (!ctime_matches(&ex[i], &zs, &td))
				continue;
			hits++;
			if (ex[i].negated) {
				f->negated_slot = true;
				add_slot_match(f->negated, &f->n_negated,
				    ls[k].n);
			} else
				add_slot_match(f->matched, &f->n_matched, ls[k].n);
		}
		if (hits > 0 || ex[i].negated)
			continue;
		if (!ex[i].has_day) {
			/* "until 3pm": no day, not a proposal, but an hour
			 * none of ours next to a named slot makes it unclear */
			f->other_time = true;
			continue;
		}
		if (!ex[i].has_time) {
			f->day_without_time = true;
			continue;
		}
		if (!ctime_resolve_day(&ex[i].day, &td, &y, &m, &d) ||
		    ctime_to_utc(&ex[i], ctx->contact_tz, ctx->own_tz, y, m, d,
		    &when) != 0)
			continue;
		if (when <= ctx->now)
			continue;
		add_proposal(f, when);
	}
	free(tk.v);
}

/* True when the whole text, without punctuation and greeting-free, is one
 * of words ("STOP", "Unsubscribe."). */
static bool
only_words(const struct ctext *t, const char *const *words)
{
	size_t a = 0, b = t->len;

	while (a < b && !ctext_is_wordch((unsigned char)t->low[a]))
		a++;
	while (b > a && !ctext_is_wordch((unsigned char)t->low[b - 1]))
		b--;
	for (; *words != NULL; words++)
		if (strlen(*words) == b - a && memcmp(t->low + a, *words, b - a) == 0)
			return true;
	return false;
}

/* Sets the intent and reason of a human reply from its new text. */
void
cintent_read(const char *new_text, const struct classify_ctx *ctx,
    struct classification *ret)
{
	struct intent_facts f;
	struct ctext t;
	bool decline, affirm, positive;

	ctext_init(&t, new_text, CTEXT_ANALYZE_MAX);
	if (t.len == 0) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("the reply has no new text");
		goto out;
	}
	if (ctext_has_any(t.low, t.len, optout_phrases) || only_words(&t,
	    optout_words)) {
		ret->intent = INTENT_OPTOUT;
		ret->reason = xstrdup("asks not to be contacted again");
		goto out;
	}
	gather_times(&t, ctx, &f);
	decline = ctext_has_any(t.low, t.len, decline_phrases);
	affirm = ctext_has_any(t.low, t.len, affirm_phrases);
	positive = ctext_has_any(t.low, t.len, positive_phrases);

	if (f.n_matched > 1) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("names more than one of the offered times");
	} else if (f.n_matched == 1 && decline) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("names offered time %d but also declines",
		    f.matched[0]);
	} else if (f.n_matched == 1 && f.n_proposals > 0) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("names offered time %d and proposes "
		    "another", f.matched[0]);
	} else if (f.n_matched == 1 && slot_in(f.negated, f.n_negated,
	    f.matched[0])) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("names offered time %d but also rules "
		    "one out", f.matched[0]);
	} else if (f.n_matched == 1 && (f.other_time || f.day_without_time)) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("names offered time %d and mentions "
		    "another time", f.matched[0]);
	} else if (f.n_matched == 1 && f.ambiguous_number) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("\"%d\" may be offered time %d or an "
		    "hour", f.matched[0], f.matched[0]);
	} else if (f.n_matched == 1 && !affirm) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("mentions offered time %d without "
		    "clearly accepting it", f.matched[0]);
	} else if (f.n_matched == 1) {
		ret->intent = INTENT_ACCEPT_SLOT;
		ret->slot_n = f.matched[0];
		ret->reason = xasprintf("accepts offered time %d", f.matched[0]);
	} else if (f.n_proposals > 1) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("proposes several other times");
	} else if (f.n_proposals == 1) {
		ret->intent = INTENT_PROPOSE_TIME;
		ret->proposed = f.proposals[0];
		ret->reason = xstrdup("proposes another time");
	} else if (decline) {
		ret->intent = INTENT_DECLINE;
		ret->reason = xstrdup("declines");
	} else if (f.negated_slot) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("rules out an offered time without "
		    "choosing another");
	} else if (f.day_without_time) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("mentions a day but no time");
	} else if (positive) {
		ret->intent = INTENT_POSITIVE;
		ret->reason = xstrdup("agrees to talk but picks no time");
	} else if (ret->n_referrals > 0) {
		ret->intent = INTENT_REFERRAL;
		ret->reason = xstrdup("suggests other people to talk to");
	} else {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("no clear answer found");
	}
out:
	ctext_done(&t);
}

