/*
 * test_classify.c - what incoming mail means: quote stripping, intents,
 * slots and proposed times, referrals, auto-replies and bounces; first on
 * messages built by hand, then on a table of real-looking .eml files in
 * tests/data/mail/ read through mime_parse.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "classify.h"
#include "classify_text.h"
#include "mime.h"
#include "util.h"

#define ZONE "America/New_York"

static struct offered_slot slots[3];
static struct classify_ctx ctx;

static int
setup(void **state)
{
	(void)state;
	/* Friday 2026-11-20 12:00 in New York; three slots next week. */
	assert_int_equal(tz_local_to_utc(ZONE, 2026, 11, 20, 12, 0, &ctx.now), 0);
	assert_int_equal(tz_local_to_utc(ZONE, 2026, 11, 24, 10, 0, &slots[0].start), 0);
	assert_int_equal(tz_local_to_utc(ZONE, 2026, 11, 25, 14, 0, &slots[1].start), 0);
	assert_int_equal(tz_local_to_utc(ZONE, 2026, 11, 26, 9, 0, &slots[2].start), 0);
	slots[0].n = 1;
	slots[1].n = 2;
	slots[2].n = 3;
	ctx.slots = slots;
	ctx.n_slots = 3;
	ctx.contact_tz = ZONE;
	ctx.own_addr = "sophia@example.org";
	ctx.contact_addr = "james.walker@acme.test";
	return 0;
}

/* "YYYY-MM-DD HH:MM" of t in the contact's zone, "" for 0. */
static const char *
local(time_t t)
{
	static char out[32];

	if (t == 0)
		return "";
	return tz_format(ZONE, t, "%Y-%m-%d %H:%M", out, sizeof(out));
}

/* The referral addresses (or names when there is no address), ", "-joined. */
static char *
referral_list(const struct classification *c)
{
	struct buf b;
	size_t k;

	buf_init(&b);
	for (k = 0; k < c->n_referrals; k++) {
		if (k > 0)
			buf_addstr(&b, ", ");
		buf_addstr(&b, *c->referrals[k].email ? c->referrals[k].email :
		    c->referrals[k].name);
	}
	return buf_steal(&b);
}

/* A reply built by hand, as mime_parse would hand it over. */
static void
classify_text(const char *subject, const char *text, struct classification *c)
{
	struct inmsg m;

	memset(&m, 0, sizeof(m));
	m.subject = (char *)subject;
	m.from_addr = (char *)"james.walker@acme.test";
	m.from_name = (char *)"James Walker";
	m.content_type = (char *)"text/plain";
	m.text = (char *)text;
	assert_int_equal(classify_message(&m, &ctx, c), 0);
}

/* The phrase search as first written, one phrase at a time over every
 * offset: what the faster search must agree with. */
static long
naive_find(const char *low, size_t len, const char *phrase, size_t from)
{
	size_t pl = strlen(phrase), i;

	if (pl == 0 || pl > len)
		return -1;
	for (i = from; i + pl <= len; i++) {
		if (memcmp(low + i, phrase, pl) != 0)
			continue;
		if (ctext_is_wordch((unsigned char)phrase[0]) && i > 0 &&
		    ctext_is_wordch((unsigned char)low[i - 1]))
			continue;
		if (ctext_is_wordch((unsigned char)phrase[pl - 1]) &&
		    i + pl < len && ctext_is_wordch((unsigned char)low[i + pl]))
			continue;
		return (long)i;
	}
	return -1;
}

static const char *
naive_which(const char *low, size_t len, const char *const *phrases)
{
	for (; *phrases != NULL; phrases++)
		if (naive_find(low, len, *phrases, 0) >= 0)
			return *phrases;
	return NULL;
}

static void
check_phrases(const char *text, const char *const *phrases, const char *want)
{
	size_t len = strlen(text), k, from;
	const char *got = ctext_which_any(text, len, phrases);

	if (want != NULL || got != NULL) {
		if (want == NULL || got == NULL || strcmp(want, got) != 0)
			fail_msg("\"%s\": found \"%s\", expected \"%s\"", text,
			    got ? got : "(none)", want ? want : "(none)");
	}
	assert_int_equal(ctext_has_any(text, len, phrases), want != NULL);
	for (k = 0; phrases[k] != NULL; k++)
		for (from = 0; from <= len; from++)
			assert_int_equal(ctext_find_phrase(text, len, phrases[k],
			    from), naive_find(text, len, phrases[k], from));
}

static void
test_phrase_search(void **state)
{
	static const char *const list[] = { "works", "work for me", "ok",
	    "ça marche", "let's", "'s", "no, thanks", "不達", "be", "", NULL };
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "that works", "works" },
		{ "works", "works" },
		{ "reworks", NULL },                    /* inside a word */
		{ "workshop", NULL },
		{ "tuesday work for me.", "work for me" },
		{ "ok, works", "works" },               /* list order wins */
		{ "okay", NULL },
		{ "oui, ça marche!", "ça marche" },
		{ "garçon", NULL },
		{ "let's talk", "let's" },
		{ "it's fine", "'s" },                  /* no start boundary */
		{ "no, thanks.", "no, thanks" },
		{ "メール不達", NULL },                 /* inside a UTF-8 word */
		{ "不達: x", "不達" },
		{ "b", NULL },                          /* shorter than most */
		{ "to be", "be" },
		{ "", NULL },
	};
	static const char alphabet[] = "ab ,'\xc3\xa7ok";
	const char *rnd[8];
	char text[64], phrases[7][8];
	unsigned seed = 20261202;
	size_t i, k, n, j;

	for (i = 0; i < nitems(cases); i++)
		check_phrases(cases[i].text, list, cases[i].want);
	/* Random texts and lists over a small alphabet, against the first
	 * search: repeated first bytes, phrases at either end, overlaps. */
	for (i = 0; i < 3000; i++) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 40;
		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			text[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		text[n] = '\0';
		for (j = 0; j < 7; j++) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 4;
			for (k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				phrases[j][k] = alphabet[(seed >> 16) %
				    (sizeof(alphabet) - 1)];
			}
			phrases[j][n] = '\0';
			rnd[j] = phrases[j];
		}
		rnd[7] = NULL;
		check_phrases(text, rnd, naive_which(text, strlen(text), rnd));
	}
}

static void
test_strip_quotes(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Wednesday at 2 works.\n\nOn Tue, Nov 24, 2026 at 9:12 AM Sophia Lopez <sophia@example.org> wrote:\n> Hi James,\n> would any of these work?\n",
		  "Wednesday at 2 works.\n" },
		{ "Sounds good!\r\n\r\nOn Tue, Nov 24, 2026 at 9:12 AM Sophia Lopez <\r\nsophia@example.org> wrote:\r\n\r\n> Hi\r\n",
		  "Sounds good!\n" },
		{ "Hi Sophia,\n\nTuesday works.\n\nBest,\nJames\n\n________________________________\nFrom: Sophia Lopez <sophia@example.org>\nSent: Friday, November 20, 2026 9:00 AM\n",
		  "Hi Sophia,\n\nTuesday works.\n" },
		{ "Happy to help.\n\n-----Original Message-----\nFrom: Sophia\n",
		  "Happy to help.\n" },
		{ "Yes.\n\nFrom: Sophia Lopez <sophia@example.org>\nDate: Friday, November 20, 2026\nTo: James\n",
		  "Yes.\n" },
		{ "Klingt gut.\n\nAm 20.11.2026 um 09:12 schrieb Sophia Lopez <sophia@example.org>:\n> Hallo\n",
		  "Klingt gut.\n" },
		{ "Avec plaisir.\n\nLe ven. 20 nov. 2026 à 09:12, Sophia Lopez <sophia@example.org> a écrit :\n> Bonjour\n",
		  "Avec plaisir.\n" },
		{ "Claro.\n\nEl vie, 20 nov 2026 a las 9:12, Sophia Lopez (<sophia@example.org>) escribió:\n",
		  "Claro.\n" },
		{ "Sure thing.\n\nSent from my iPhone\n\n> On Nov 20, 2026, at 9:12 AM, Sophia Lopez <sophia@example.org> wrote:\n",
		  "Sure thing.\n" },
		{ "Sure.\n-- \nJames Walker\nAcme\n", "Sure.\n" },
		{ "Let's do Tuesday.\n\nThanks,\nJames Walker\nDirector, Acme Corp\n+1 555 0100\n",
		  "Let's do Tuesday.\n" },
		/* A sign-off followed by real content is not a signature. */
		{ "Tuesday works.\n\nThanks,\nalso, you should really talk to Maria Chen at Initech; she ran the analytics team for years and knows everybody in the field, she would be a great person to ask about the transition from consulting.\n",
		  "Tuesday works.\n\nThanks,\nalso, you should really talk to Maria Chen at Initech; she ran the analytics team for years and knows everybody in the field, she would be a great person to ask about the transition from consulting.\n" },
		{ "Best,\nJames\n", "Best,\nJames\n" },
		/* answers below and between quoted lines stay */
		{ "On Tue, Nov 24, 2026 at 9:12 AM Sophia Lopez <sophia@example.org> wrote:\n> Would Tuesday work?\n\nTuesday works for me.\n",
		  "Tuesday works for me.\n" },
		{ "Hi,\nOn Tue, Nov 24, 2026 at 9:12 AM Sophia Lopez <sophia@example.org> wrote:\n> Q1?\n\nA1.\n\n> Q2?\n\nA2.\n\n--\nJames\n",
		  "Hi,\n\nA1.\n\nA2.\n" },
		/* attributions over several lines and in other languages */
		{ "Gladly.\n\nOn Tue, Nov 24, 2026 at 9:12 AM,\nSophia Lopez <sophia@example.org>\nwrote:\n\n> Hi\n",
		  "Gladly.\n" },
		{ "Sim.\n\nEm ter., 24 de nov. de 2026 às 09:12, Sophia Lopez <\nsophia@example.org> escreveu:\n\n> Olá\n", "Sim.\n" },
		{ "Va bene.\n\nIl giorno mar 24 nov 2026 alle ore 09:12 Sophia Lopez <sophia@example.org> ha scritto:\n\n> Ciao\n", "Va bene.\n" },
		{ "Prima.\n\nOp di 24 nov. 2026 om 09:12 schreef Sophia Lopez <sophia@example.org>:\n\n> Hoi\n", "Prima.\n" },
		{ "Да.\n\n24.11.2026 09:12 пользователь Sophia Lopez <\nsophia@example.org> написал:\n\n> Привет\n", "Да.\n" },
		{ "はい。\n\n2026年11月24日(火) 9:12 Sophia Lopez <sophia@example.org>:\n\n> こんにちは\n", "はい。\n" },
		{ "好的。\n\n在 2026年11月24日 09:12，Sophia Lopez <sophia@example.org> 写道：\n> 你好\n", "好的。\n" },
		/* Outlook header blocks in other languages, with no '>' */
		{ "Claro.\n\nDe: Sophia Lopez <sophia@example.org>\nEnviado el: martes, 24 de noviembre de 2026 9:12\nPara: James\n", "Claro.\n" },
		{ "Sim.\n\nDe: Sophia Lopez\nEnviada em: terça-feira, 24 de novembro de 2026 09:12\n", "Sim.\n" },
		{ "Ok.\n\nVan: Sophia Lopez\nVerzonden: dinsdag 24 november 2026 09:12\n", "Ok.\n" },
		{ "Ok.\n\nDa: Sophia Lopez\nInviato: martedì 24 novembre 2026 09:12\n", "Ok.\n" },
		{ "Да.\n\nОт: Sophia Lopez\nОтправлено: 24 ноября 2026 г. 9:12\n", "Да.\n" },
		{ "はい。\n\n差出人: Sophia Lopez\n送信日時: 2026年11月24日 9:12\n", "はい。\n" },
		{ "好的。\n\n发件人: Sophia Lopez\n发送时间: 2026年11月24日 9:12\n", "好的。\n" },
		{ "Yes.\n\n ------------------------------\n\n*From:* Sophia Lopez\n*Sent:* Tuesday\n", "Yes.\n" },
		/* signatures: "-Name", a card, a name and a line; not a sentence */
		{ "Tuesday works.\n\n-James\n", "Tuesday works.\n" },
		{ "Tuesday works.\n\nJames Walker\nDirector of Analytics\n+1 (555) 010-0100\nwww.acme.test\n",
		  "Tuesday works.\n" },
		{ "Tuesday works.\n\nJames Walker\nvia mobile\n", "Tuesday works.\n" },
		{ "Here is my answer.\n\nSent from my desk, is much easier than my phone.\n",
		  "Here is my answer.\n\nSent from my desk, is much easier than my phone.\n" },
		/* a person introduced at the end is not a signature */
		{ "I am not the right person, but talk to:\n\nMaria Chen\nmaria.chen@initech.test\n",
		  "I am not the right person, but talk to:\n\nMaria Chen\nmaria.chen@initech.test\n" },
		{ "", "" },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		s = classify_strip_quotes(cases[i].in);
		if (strcmp(s, cases[i].out) != 0)
			print_error("case %zu: got [%s]\n", i, s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
	s = classify_strip_quotes(NULL);
	assert_string_equal(s, "");
	free(s);
}

struct text_case {
	const char *text;
	enum reply_intent intent;
	int slot;
	const char *when;       /* proposed, in the contact's zone */
	const char *refs;
};

static void
test_intents(void **state)
{
	static const struct text_case cases[] = {
		{ "Yes, Tuesday works.", INTENT_ACCEPT_SLOT, 1, "", "" },
		{ "The second one is perfect.", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Wednesday at 2 works for me!", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Wed 2pm is good.", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Tuesday 10:00 works.", INTENT_ACCEPT_SLOT, 1, "", "" },
		{ "Nov 24 at 10am works great.", INTENT_ACCEPT_SLOT, 1, "", "" },
		{ "Option 3 please.", INTENT_ACCEPT_SLOT, 3, "", "" },
		{ "#2 works", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "2nd works for me", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Let's go with slot 1.", INTENT_ACCEPT_SLOT, 1, "", "" },
		{ "I'll take the last one.", INTENT_ACCEPT_SLOT, 3, "", "" },
		{ "Thursday at 9 is fine.", INTENT_ACCEPT_SLOT, 3, "", "" },
		{ "I can't do Tuesday, but Wednesday at 2 works.", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Tuesday doesn't work for me, Thursday is better.", INTENT_ACCEPT_SLOT, 3, "", "" },
		{ "How about Thursday Dec 3 at 3pm?", INTENT_PROPOSE_TIME, 0, "2026-12-03 15:00", "" },
		{ "Could we do next Monday at 11?", INTENT_PROPOSE_TIME, 0, "2026-11-23 11:00", "" },
		{ "None of those work, 12/03 at 15:00?", INTENT_PROPOSE_TIME, 0, "2026-12-03 15:00", "" },
		{ "Wednesday at 3 would be better.", INTENT_PROPOSE_TIME, 0, "2026-11-25 15:00", "" },
		{ "Maybe tomorrow at 2:30pm?", INTENT_PROPOSE_TIME, 0, "2026-11-21 14:30", "" },
		{ "I'm afraid I can't make those; could we do 2026-12-01 at noon?", INTENT_PROPOSE_TIME, 0, "2026-12-01 12:00", "" },
		{ "I'm afraid I can't help right now.", INTENT_DECLINE, 0, "", "" },
		{ "Too busy right now, sorry.", INTENT_DECLINE, 0, "", "" },
		{ "Thanks for reaching out, but I'll have to pass.", INTENT_DECLINE, 0, "", "" },
		{ "Please don't contact me again.", INTENT_OPTOUT, 0, "", "" },
		{ "Remove me from your list.", INTENT_OPTOUT, 0, "", "" },
		{ "Not interested, please do not email me again. Tuesday works? No.", INTENT_OPTOUT, 0, "", "" },
		{ "Sure, happy to chat!", INTENT_POSITIVE, 0, "", "" },
		/* zones: the contact is in New York; slots Tue 10, Wed 14, Thu 9 */
		{ "Tuesday 7am PST works.", INTENT_ACCEPT_SLOT, 1, "", "" },
		{ "2pm ET on Wednesday is good.", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Thursday at 14:00 UTC works.", INTENT_ACCEPT_SLOT, 3, "", "" },
		{ "Wednesday 20:00 CET works.", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Wednesday at 2pm PT would work.", INTENT_PROPOSE_TIME, 0, "2026-11-25 17:00", "" },
		{ "Je peux mardi à 10h et je confirme.", INTENT_ACCEPT_SLOT, 1, "", "" },
		/* a slot named with a rejection or another time: never accepted */
		{ "Wednesday works but not at 2, how about 4pm?", INTENT_UNCLEAR, 0, "", "" },
		{ "Thursday is good, though 9 is too early; 11am?", INTENT_UNCLEAR, 0, "", "" },
		{ "Tuesday at 10 works, or else Wednesday at 4pm.", INTENT_UNCLEAR, 0, "", "" },
		{ "The first one works, unfortunately I'm not available then.", INTENT_UNCLEAR, 0, "", "" },
		/* a numbered list is not a slot number */
		{ "2. I'd like to know more about your role first. 1. What does a typical week look like?", INTENT_UNCLEAR, 0, "", "" },
		{ "3 please", INTENT_ACCEPT_SLOT, 3, "", "" },
		/* a list footer below the quote is no opt-out */
		{ "Tuesday works.\n\n> Would one of these work?\n\nTo unsubscribe from this group and stop receiving emails from it, send an email to team+unsubscribe@googlegroups.com.", INTENT_ACCEPT_SLOT, 1, "", "" },
		/* opt-outs and declines in other words and languages */
		{ "Unsubscribe.", INTENT_OPTOUT, 0, "", "" },
		{ "Please stop emailing me.", INTENT_OPTOUT, 0, "", "" },
		{ "No me contacte más, por favor.", INTENT_OPTOUT, 0, "", "" },
		{ "Merci de ne plus me contacter.", INTENT_OPTOUT, 0, "", "" },
		{ "Bitte entfernen Sie mich aus Ihrem Verteiler.", INTENT_OPTOUT, 0, "", "" },
		{ "Thanks, but I'm going to have to say no.", INTENT_DECLINE, 0, "", "" },
		{ "No thanks.", INTENT_DECLINE, 0, "", "" },
		{ "My schedule is full until next year, sorry.", INTENT_DECLINE, 0, "", "" },
		{ "Lo siento, no estoy disponible.", INTENT_DECLINE, 0, "", "" },
		{ "Nein danke, kein Interesse.", INTENT_DECLINE, 0, "", "" },
		{ "Sure, I\xe2\x80\x99" "d be glad to help.", INTENT_POSITIVE, 0, "", "" },
		{ "Tuesday or Wednesday both work.", INTENT_UNCLEAR, 0, "", "" },
		{ "Wednesday at 2 works, but I'm afraid I can't commit yet.", INTENT_UNCLEAR, 0, "", "" },
		{ "Could we do Monday at 11 or Friday at 3?", INTENT_UNCLEAR, 0, "", "" },
		{ "I can't do Tuesday.", INTENT_UNCLEAR, 0, "", "" },
		{ "What is this about?", INTENT_UNCLEAR, 0, "", "" },
		{ "You should talk to Maria Chen (maria.chen@initech.test).", INTENT_REFERRAL, 0, "", "maria.chen@initech.test" },
		{ "cc'ing my colleague Dan <dan@x.test>, he knows more.", INTENT_REFERRAL, 0, "", "dan@x.test" },
		{ "Reach out to Priya Patel at Initech.", INTENT_REFERRAL, 0, "", "Priya Patel" },
		{ "Too busy right now, but try Omar Haddad (omar@globex.test).", INTENT_DECLINE, 0, "", "omar@globex.test" },
		{ "Wednesday at 2 works. Also talk to Lena Fischer, lena.fischer@umbrella.test.", INTENT_ACCEPT_SLOT, 2, "", "lena.fischer@umbrella.test" },
		{ "Write to me at james.walker@acme.test or sophia@example.org.", INTENT_UNCLEAR, 0, "", "" },
		{ "Mittwoch um 14 Uhr passt.", INTENT_ACCEPT_SLOT, 2, "", "" },
		{ "Mardi à 10h me convient.", INTENT_ACCEPT_SLOT, 1, "", "" },
		{ "", INTENT_UNCLEAR, 0, "", "" },
	};
	struct classification c;
	size_t i, failed = 0;
	char *refs;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		classify_text("Re: Informational interview", cases[i].text, &c);
		refs = referral_list(&c);
		if (c.cls != MSG_HUMAN || c.intent != cases[i].intent ||
		    c.slot_n != cases[i].slot ||
		    strcmp(local(c.proposed), cases[i].when) != 0 ||
		    strcmp(refs, cases[i].refs) != 0) {
			print_error("case %zu [%s]: %s slot %d at [%s] refs [%s] "
			    "(%s)\n", i, cases[i].text, classify_intent_name(c.intent),
			    c.slot_n, local(c.proposed), refs, c.reason);
			failed++;
		}
		assert_non_null(c.reason);
		assert_true(strlen(c.reason) > 0);
		free(refs);
		classify_done(&c);
	}
	assert_int_equal(failed, 0);
}

static void
test_referral_names(void **state)
{
	struct classification c;

	(void)state;
	classify_text("Re: hello", "I can't help, but you should talk to Maria "
	    "Chen (maria.chen@acme.test) and reach out to Priya Patel at "
	    "Initech. James Walker <james.walker@acme.test>", &c);
	assert_int_equal(c.intent, INTENT_DECLINE);
	assert_int_equal(c.n_referrals, 2);
	assert_string_equal(c.referrals[0].name, "Maria Chen");
	assert_string_equal(c.referrals[0].email, "maria.chen@acme.test");
	assert_string_equal(c.referrals[1].name, "Priya Patel");
	assert_string_equal(c.referrals[1].email, "");
	classify_done(&c);
}

static void
test_headers(void **state)
{
	static struct inhdr auto_replied[] = { { (char *)"Auto-Submitted", (char *)"auto-replied (vacation)" } };
	static struct inhdr auto_no[] = { { (char *)"Auto-Submitted", (char *)"no" } };
	static struct inhdr suppress[] = { { (char *)"X-Auto-Response-Suppress", (char *)"All" } };
	static struct inhdr bulk[] = { { (char *)"Precedence", (char *)"bulk" } };
	struct classification c;
	struct inmsg m;
	struct incal cal = { (char *)"text/calendar", (char *)"REPLY", (char *)"BEGIN:VCALENDAR", 15 };

	(void)state;
	memset(&m, 0, sizeof(m));
	m.subject = (char *)"Re: coffee";
	m.from_addr = (char *)"james.walker@acme.test";
	m.text = (char *)"I'm back on December 2 and will answer then.";
	m.headers = auto_replied;
	m.n_headers = 1;
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_AUTOREPLY);
	assert_string_equal(local(c.return_date), "2026-12-02 00:00");
	classify_done(&c);

	m.headers = auto_no;
	m.text = (char *)"Tuesday works.";
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_HUMAN);
	assert_int_equal(c.intent, INTENT_ACCEPT_SLOT);
	classify_done(&c);

	/* X-Auto-Response-Suppress alone is not an auto-reply. */
	m.headers = suppress;
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_HUMAN);
	classify_done(&c);

	m.headers = bulk;
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_AUTOREPLY);
	assert_int_equal(c.return_date, 0);
	classify_done(&c);

	m.headers = NULL;
	m.n_headers = 0;
	m.cals = &cal;
	m.n_cals = 1;
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_CALENDAR);
	assert_non_null(strstr(c.reason, "REPLY"));
	classify_done(&c);
	classify_done(NULL);
}

/* A person's answer whose subject has delivery words is a reply. */
static void
test_reply_subjects(void **state)
{
	struct classification c;

	(void)state;
	classify_text("Re: Delivery status notification for the team", "Tuesday works.", &c);
	assert_int_equal(c.cls, MSG_HUMAN);
	assert_int_equal(c.intent, INTENT_ACCEPT_SLOT);
	classify_done(&c);
	classify_text("AW: Undeliverable: our spam complaint process", "Gerne, Dienstag passt.", &c);
	assert_int_equal(c.cls, MSG_HUMAN);
	classify_done(&c);
}

static void
test_return_dates(void **state)
{
	static const struct {
		const char *subject, *text, *when;
	} cases[] = {
		{ "Out of Office", "I am out of the office and back on December 2.", "2026-12-02 00:00" },
		{ "Out of Office: Re: coffee", "Returning 12/02/2026.", "2026-12-02 00:00" },
		{ "Automatic reply: coffee", "I'm away until Monday, Nov 30 with limited access to email.", "2026-11-30 00:00" },
		{ "Abwesenheitsnotiz", "Ich bin zurück am 2. Dezember.", "2026-12-02 00:00" },
		{ "Réponse automatique", "Je serai de retour le 2 décembre.", "2026-12-02 00:00" },
		{ "Respuesta automática", "Estaré fuera de la oficina hasta el 3 de diciembre.", "2026-12-03 00:00" },
		{ "Out of office", "Back on Jan 5.", "2027-01-05 00:00" },
		{ "Auto-Reply", "I'm travelling with limited access to email.", "" },
	};
	struct classification c;
	struct inmsg m;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		memset(&m, 0, sizeof(m));
		m.subject = (char *)cases[i].subject;
		m.from_addr = (char *)"james.walker@acme.test";
		m.text = (char *)cases[i].text;
		classify_message(&m, &ctx, &c);
		if (c.cls != MSG_AUTOREPLY || strcmp(local(c.return_date), cases[i].when) != 0)
			print_error("case %zu: %s [%s] (%s)\n", i, classify_class_name(c.cls),
			    local(c.return_date), c.reason);
		assert_int_equal(c.cls, MSG_AUTOREPLY);
		assert_string_equal(local(c.return_date), cases[i].when);
		classify_done(&c);
	}
}

static void
test_bounce_shapes(void **state)
{
	struct classification c;
	struct inmsg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.subject = (char *)"Undelivered Mail Returned to Sender";
	m.from_addr = (char *)"mailer-daemon@mail.example.org";
	m.content_type = (char *)"multipart/report";
	m.report_type = (char *)"delivery-status";
	m.text = (char *)"This is the mail system at host mail.example.org.\n";
	m.delivery_status = (char *)"Reporting-MTA: dns; mail.example.org\n\n"
	    "Final-Recipient: rfc822; james.walker@acme.test\n"
	    "Original-Recipient: rfc822;james.walker@acme.test\nAction: failed\n"
	    "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <james.walker@acme.test>:\n"
	    "    Recipient address rejected: User unknown\n";
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_BOUNCE);
	assert_string_equal(c.bounced_rcpt, "james.walker@acme.test");
	assert_string_equal(c.bounce_reason, "550 5.1.1 <james.walker@acme.test>: "
	    "Recipient address rejected: User unknown");
	classify_done(&c);

	/* A delay notice is not a bounce. */
	m.delivery_status = (char *)"Final-Recipient: rfc822; james.walker@acme.test\n"
	    "Action: delayed\nStatus: 4.4.1\n";
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_REPORT);
	classify_done(&c);

	memset(&m, 0, sizeof(m));
	m.subject = (char *)"failure notice";
	m.from_addr = (char *)"mailer-daemon@mx.example.org";
	m.text = (char *)"Hi. This is the qmail-send program at mx.example.org.\n"
	    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
	    "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
	    "<james.walker@acme.test>:\n"
	    "192.0.2.7 does not like recipient.\n"
	    "Remote host said: 550 5.1.1 No such user\n";
	classify_message(&m, &ctx, &c);
	assert_int_equal(c.cls, MSG_BOUNCE);
	assert_string_equal(c.bounced_rcpt, "james.walker@acme.test");
	assert_string_equal(c.bounce_reason, "Remote host said: 550 5.1.1 No such user");
	classify_done(&c);
}

/* A report is tied to a contact we wrote to: the DSN recipient when it is
 * one of ours, else one of ours named anywhere in it; never the user, the
 * report's addressee or the returned message's sender. */
static void
test_report_attribution(void **state)
{
	static const char *const known[] = { "lee.wong@hooli.test",
	    "ana.silva@initech.test" };
	struct classify_ctx kx = ctx;
	struct classification c;
	struct inmsg m;

	(void)state;
	kx.known_rcpts = known;
	kx.n_known = nitems(known);
	memset(&m, 0, sizeof(m));
	m.subject = (char *)"Undelivered Mail Returned to Sender";
	m.from_addr = (char *)"mailer-daemon@mx.hooli.test";
	m.content_type = (char *)"multipart/report";
	m.report_type = (char *)"delivery-status";
	m.text = (char *)"<lee@wong.example> (expanded from <lee.wong@hooli.test>): "
	    "user unknown\n";
	/* forwarded: the DSN names only the new address */
	m.delivery_status = (char *)"Reporting-MTA: dns; mx.hooli.test\n\n"
	    "Final-Recipient: rfc822; lee@wong.example\nAction: failed\n"
	    "Status: 5.1.1\n";
	m.returned_headers = (char *)"From: Sophia Lopez <sophia@example.org>\n"
	    "To: lee.wong@hooli.test\nMessage-ID: <outreach.9@example.org>\n";
	classify_message(&m, &kx, &c);
	assert_int_equal(c.cls, MSG_BOUNCE);
	assert_string_equal(c.bounced_rcpt, "lee.wong@hooli.test");
	assert_string_equal(c.bounce_status, "5.1.1");
	assert_string_equal(c.returned_msgid, "<outreach.9@example.org>");
	classify_done(&c);

	/* Action before Final-Recipient, a temporary status that failed */
	m.delivery_status = (char *)"Reporting-MTA: dns; mx.hooli.test\n\n"
	    "Action: failed\nFinal-Recipient: rfc822; ana.silva@initech.test\n"
	    "Status: 4.3.0\n";
	classify_message(&m, &kx, &c);
	assert_int_equal(c.cls, MSG_BOUNCE);
	assert_string_equal(c.bounced_rcpt, "ana.silva@initech.test");
	classify_done(&c);

	/* one failed recipient among delivered ones is a bounce for it */
	m.delivery_status = (char *)"Final-Recipient: rfc822; a@hooli.test\n"
	    "Action: delivered\nStatus: 2.0.0\n\n"
	    "Final-Recipient: rfc822; ana.silva@initech.test\nAction: failed\n"
	    "Status: 5.2.2\n";
	classify_message(&m, &kx, &c);
	assert_int_equal(c.cls, MSG_BOUNCE);
	assert_string_equal(c.bounced_rcpt, "ana.silva@initech.test");
	classify_done(&c);

	/* no DSN: the addressee and the sender of the returned mail are ours */
	memset(&m, 0, sizeof(m));
	m.subject = (char *)"failure notice";
	m.from_addr = (char *)"mailer-daemon@mx.example.org";
	m.headers = (struct inhdr[]){ { (char *)"To", (char *)"ana.silva@initech.test" } };
	m.n_headers = 1;
	m.text = (char *)"Sorry, we were unable to deliver your message.\n"
	    "From: ana.silva@initech.test\nTo: lee.wong@hooli.test\n";
	classify_message(&m, &kx, &c);
	assert_int_equal(c.cls, MSG_BOUNCE);
	assert_string_equal(c.bounced_rcpt, "lee.wong@hooli.test");
	classify_done(&c);
}

/* ---- the .eml table ------------------------------------------------------ */

struct mail_case {
	const char *file;
	enum msg_class cls;
	enum reply_intent intent;
	int slot;
	const char *when;       /* proposed time or return date, contact zone */
	const char *refs;       /* referral addresses (names when none) */
	const char *bounced;
};

#define H MSG_HUMAN
#define A MSG_AUTOREPLY
#define B MSG_BOUNCE
#define C MSG_CALENDAR
#define R MSG_REPORT
#define K MSG_COMPLAINT
#define U INTENT_UNCLEAR

static const struct mail_case mail_cases[] = {
	/* people accepting an offered slot */
	{ "gmail_accept_tuesday.eml", H, INTENT_ACCEPT_SLOT, 1, "", "", NULL },
	{ "gmail_second_one.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "outlook_wed_at_2.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "apple_thursday_9.eml", H, INTENT_ACCEPT_SLOT, 3, "", "", NULL },
	{ "thunderbird_nov24.eml", H, INTENT_ACCEPT_SLOT, 1, "", "", NULL },
	{ "apple_html_only.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "german_reply.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "french_reply.eml", H, INTENT_ACCEPT_SLOT, 1, "", "", NULL },
	{ "gmail_tuesday_not_wed.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "outlook_option3.eml", H, INTENT_ACCEPT_SLOT, 3, "", "", NULL },
	{ "gmail_wrapped_attribution.eml", H, INTENT_ACCEPT_SLOT, 1, "", "", NULL },
	{ "gmail_accept_plus_referral.eml", H, INTENT_ACCEPT_SLOT, 2, "",
	  "lena.fischer@umbrella.test", NULL },
	/* counter-proposals */
	{ "gmail_counter_proposal.eml", H, INTENT_PROPOSE_TIME, 0,
	  "2026-12-03 15:00", "", NULL },
	{ "outlook_next_monday.eml", H, INTENT_PROPOSE_TIME, 0,
	  "2026-11-23 11:00", "", NULL },
	{ "gmail_numeric_date.eml", H, INTENT_PROPOSE_TIME, 0,
	  "2026-12-03 15:00", "", NULL },
	/* declines and opt-outs */
	{ "gmail_decline_afraid.eml", H, INTENT_DECLINE, 0, "", "", NULL },
	{ "outlook_decline_pass.eml", H, INTENT_DECLINE, 0, "", "", NULL },
	{ "apple_decline_busy.eml", H, INTENT_DECLINE, 0, "", "", NULL },
	{ "spanish_decline.eml", H, INTENT_DECLINE, 0, "", "", NULL },
	{ "gmail_decline_with_referral.eml", H, INTENT_DECLINE, 0, "",
	  "omar.haddad@globex.test", NULL },
	{ "gmail_optout.eml", H, INTENT_OPTOUT, 0, "", "", NULL },
	{ "outlook_optout_remove.eml", H, INTENT_OPTOUT, 0, "", "", NULL },
	{ "gmail_unsubscribe.eml", H, INTENT_OPTOUT, 0, "", "", NULL },
	/* yes without a time, referrals, unclear */
	{ "gmail_positive.eml", H, INTENT_POSITIVE, 0, "", "", NULL },
	{ "thunderbird_positive.eml", H, INTENT_POSITIVE, 0, "", "", NULL },
	{ "gmail_referral_address.eml", H, INTENT_REFERRAL, 0, "",
	  "maria.chen@initech.test", NULL },
	{ "outlook_referral_cc.eml", H, INTENT_REFERRAL, 0, "",
	  "dan.okafor@acme.test", NULL },
	{ "gmail_referral_name_only.eml", H, INTENT_REFERRAL, 0, "",
	  "Priya Patel", NULL },
	{ "gmail_ambiguous_two_slots.eml", H, U, 0, "", "", NULL },
	{ "outlook_ambiguous_accept_decline.eml", H, U, 0, "", "", NULL },
	{ "gmail_question.eml", H, U, 0, "", "", NULL },
	/* vacation notices */
	{ "vacation_outlook_en_date.eml", A, U, 0, "2026-11-30 00:00", "", NULL },
	{ "vacation_gmail_en_nodate.eml", A, U, 0, "", "", NULL },
	{ "vacation_de.eml", A, U, 0, "2026-12-01 00:00", "", NULL },
	{ "vacation_fr.eml", A, U, 0, "2026-12-02 00:00", "", NULL },
	{ "vacation_es.eml", A, U, 0, "2026-12-03 00:00", "", NULL },
	{ "vacation_x_autoreply.eml", A, U, 0, "2027-01-04 00:00", "", NULL },
	{ "vacation_precedence_nodate.eml", A, U, 0, "", "", NULL },
	{ "vacation_subject_only.eml", A, U, 0, "2026-12-02 00:00", "", NULL },
	{ "bounce_delay.eml", R, U, 0, "", "", "james.walker@acme.test" },
	/* bounces */
	{ "bounce_postfix.eml", B, U, 0, "", "", "m.rossi@globex.test" },
	{ "bounce_gmail.eml", B, U, 0, "", "", "ana.silva@initech.test" },
	{ "bounce_exchange.eml", B, U, 0, "", "", "kim.nguyen@contoso.test" },
	{ "bounce_qmail.eml", B, U, 0, "", "", "lee.wong@hooli.test" },
	{ "bounce_exim.eml", B, U, 0, "", "", "t.brown@umbrella.test" },
	{ "bounce_sendmail.eml", B, U, 0, "", "", "r.singh@initrode.test" },
	/* shapes of real replies: opt-outs and declines in other words */
	{ "optout_one_word.eml", H, INTENT_OPTOUT, 0, "", "", NULL },
	{ "optout_polite.eml", H, INTENT_OPTOUT, 0, "", "", NULL },
	{ "optout_spanish.eml", H, INTENT_OPTOUT, 0, "", "", NULL },
	{ "decline_no_word.eml", H, INTENT_DECLINE, 0, "", "", NULL },
	{ "decline_french.eml", H, INTENT_DECLINE, 0, "", "", NULL },
	/* times with a zone of their own, read there */
	{ "accept_zone_pt.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "accept_utc_offset.eml", H, INTENT_ACCEPT_SLOT, 3, "", "", NULL },
	{ "accept_my_time.eml", H, INTENT_ACCEPT_SLOT, 1, "", "", NULL },
	{ "propose_cet.eml", H, INTENT_PROPOSE_TIME, 0, "2026-11-27 12:00", "", NULL },
	/* an offered day with its hour turned down: never accepted */
	{ "unclear_day_other_hour.eml", H, U, 0, "", "", NULL },
	/* a short accept by number above a card; a disclaimer's address */
	{ "accept_number_signature.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	{ "disclaimer_address.eml", H, INTENT_ACCEPT_SLOT, 2, "", "", NULL },
	/* a colleague named in the text and only in Cc */
	{ "cc_colleague.eml", H, INTENT_REFERRAL, 0, "", "priya.patel@acme.test", NULL },
	/* reports: only Action: failed is a bounce */
	{ "dsn_delivered.eml", R, U, 0, "", "", "james.walker@acme.test" },
	{ "bounce_warning_text.eml", R, U, 0, "", "", "lee.wong@hooli.test" },
	{ "bounce_office365_quoted.eml", B, U, 0, "", "", "kim.nguyen@contoso.test" },
	{ "bounce_mbox_xfailed.eml", B, U, 0, "", "", "r.singh@initrode.test" },
	{ "arf_complaint.eml", K, U, 0, "", "", "james.walker@acme.test" },
	/* calendar answers */
	{ "calendar_accept.eml", C, U, 0, "", "", NULL },
};

#undef H
#undef A
#undef B
#undef C
#undef R
#undef K
#undef U

static void
test_mail_table(void **state)
{
	const struct mail_case *mc;
	struct classification c;
	struct inmsg *m;
	char *raw, *err = NULL, *refs, name[128];
	const char *when;
	size_t i, len, failed = 0;

	(void)state;
	for (i = 0; i < nitems(mail_cases); i++) {
		mc = &mail_cases[i];
		snprintf(name, sizeof(name), "mail/%s", mc->file);
		assert_int_equal(util_read_file(unit_data_path(name), MIME_MAX_MESSAGE,
		    &raw, &len), 0);
		if (mime_parse(raw, len, &m, &err) != 0)
			fail_msg("%s: %s", mc->file, err);
		assert_int_equal(classify_message(m, &ctx, &c), 0);
		refs = referral_list(&c);
		when = local(c.cls == MSG_AUTOREPLY ? c.return_date : c.proposed);
		if (c.cls != mc->cls || c.intent != mc->intent ||
		    c.slot_n != mc->slot || strcmp(when, mc->when) != 0 ||
		    strcmp(refs, mc->refs) != 0 || (mc->bounced == NULL) !=
		    (c.bounced_rcpt == NULL) || (mc->bounced != NULL &&
		    strcmp(mc->bounced, c.bounced_rcpt) != 0) ||
		    str_empty(c.reason)) {
			print_error("%s: %s %s slot %d [%s] refs [%s] bounced [%s] "
			    "(%s)\n", mc->file, classify_class_name(c.cls),
			    classify_intent_name(c.intent), c.slot_n, when,
			    refs,
			    c.bounced_rcpt ? c.bounced_rcpt : "", c.reason);
			failed++;
		}
		if (c.cls == MSG_BOUNCE && str_empty(c.bounce_reason)) {
			print_error("%s: no diagnostic\n", mc->file);
			failed++;
		}
		free(refs);
		classify_done(&c);
		mime_inmsg_free(m);
		free(raw);
	}
	assert_true(nitems(mail_cases) >= 40);
	assert_int_equal(failed, 0);
}

/*
 * The invariant that matters most: no invitation for a reply that did not
 * accept exactly one offered slot. Every fixture (mail/ and mime/) is read
 * with the three offered slots; an accept_slot must be the one its table
 * row expects, and every mail/ fixture must have a row.
 */
static void
test_every_fixture_accepts_only_what_it_says(void **state)
{
	/* "Gern! Donnerstag passt mir gut." - Thursday is offered time 3 */
	static const struct mail_case mime_accepts[] = {
		{ "base64_utf8.eml", MSG_HUMAN, INTENT_ACCEPT_SLOT, 3, "", "", NULL },
	};
	static const char *const dirs[] = { "mail", "mime" };
	const struct mail_case *mc;
	struct classification c;
	struct dirent *de;
	struct inmsg *m;
	char *raw, *err = NULL, name[300];
	size_t i, k, len, seen = 0, bad = 0;
	DIR *d;

	(void)state;
	for (k = 0; k < nitems(dirs); k++) {
		assert_non_null(d = opendir(unit_data_path(dirs[k])));
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s", dirs[k], de->d_name);
			assert_int_equal(util_read_file(unit_data_path(name),
			    MIME_MAX_MESSAGE, &raw, &len), 0);
			mc = NULL;
			for (i = 0; k == 0 && i < nitems(mail_cases); i++)
				if (strcmp(mail_cases[i].file, de->d_name) == 0)
					mc = &mail_cases[i];
			for (i = 0; k == 1 && i < nitems(mime_accepts); i++)
				if (strcmp(mime_accepts[i].file, de->d_name) == 0)
					mc = &mime_accepts[i];
			if (k == 0 && mc == NULL) {
				print_error("%s: no row in mail_cases\n", name);
				bad++;
			}
			if (mime_parse(raw, len, &m, &err) == 0) {
				assert_int_equal(classify_message(m, &ctx, &c), 0);
				if (c.intent == INTENT_ACCEPT_SLOT &&
				    (c.cls != MSG_HUMAN || mc == NULL ||
				    mc->intent != INTENT_ACCEPT_SLOT ||
				    mc->slot != c.slot_n || c.slot_n < 1 ||
				    c.slot_n > (int)nitems(slots))) {
					print_error("%s: accepts slot %d (%s)\n",
					    name, c.slot_n, c.reason);
					bad++;
				}
				classify_done(&c);
				mime_inmsg_free(m);
			} else
				util_freep(&err);
			free(raw);
			seen++;
		}
		closedir(d);
	}
	assert_true(seen >= nitems(mail_cases));
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phrase_search),
		cmocka_unit_test(test_strip_quotes),
		cmocka_unit_test(test_intents),
		cmocka_unit_test(test_referral_names),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_reply_subjects),
		cmocka_unit_test(test_return_dates),
		cmocka_unit_test(test_bounce_shapes),
		cmocka_unit_test(test_report_attribution),
		cmocka_unit_test(test_mail_table),
		cmocka_unit_test(test_every_fixture_accepts_only_what_it_says),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
