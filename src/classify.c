/*
 * classify.c - what an incoming message means.
 *
 * A calendar, a bounce, an automatic reply or a person's reply; for a
 * person's reply the new text without quoted history and signature, the
 * intent (accepts an offered slot, proposes a time, declines, opts out,
 * refers to other people, agrees without a time) and the people suggested.
 *
 * This file decides the class and hands the rest to one module per
 * concern, layered with the shared helpers below them:
 *   classify_quote     new text without quoted history and signature
 *   classify_intent    what the reply says (uses classify_time)
 *   classify_referral  the people it suggests
 *   classify_report    automatic replies and delivery reports
 *   classify_time      dates and times in text (uses classify_text)
 *   classify_text      phrases, addresses, lines, tokens
 * Pure: no I/O and no logging, only util.c's allocation and zone helpers,
 * so the modules are unit-tested with tables of real-looking mail and fuzzed.
 * Written by hand because no packaged C library does this: the known
 * quote strippers (talon, email_reply_parser) are Python and Ruby and stop
 * at the quotes, and date libraries do not read "Wednesday at 2 works"
 * against the slots we offered. Every rule errs towards INTENT_UNCLEAR:
 * whatever is not clear goes to the user, never guessed.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_int.h"
#include "util.h"

const char *
classify_class_name(enum msg_class c)
{
	switch (c) {
	case MSG_HUMAN:
		return "human";
	case MSG_AUTOREPLY:
		return "autoreply";
	case MSG_BOUNCE:
		return "bounce";
	case MSG_CALENDAR:
		return "calendar";
	case MSG_COMPLAINT:
		return "complaint";
	case MSG_REPORT:
		return "report";
	}
	return "unknown";
}

const char *
classify_intent_name(enum reply_intent i)
{
	switch (i) {
	case INTENT_UNCLEAR:
		return "unclear";
	case INTENT_ACCEPT_SLOT:
		return "accept_slot";
	case INTENT_PROPOSE_TIME:
		return "propose_time";
	case INTENT_DECLINE:
		return "decline";
	case INTENT_OPTOUT:
		return "optout";
	case INTENT_REFERRAL:
		return "referral";
	case INTENT_POSITIVE:
		return "positive";
	}
	return "unknown";
}

/* ---- the whole message --------------------------------------------------- */

int
classify_message(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret)
{
	char *why, day[16];
	size_t k;

	memset(ret, 0, sizeof(*ret));
	ret->intent = INTENT_UNCLEAR;
	if (m->n_cals > 0) {
		ret->cls = MSG_CALENDAR;
		ret->reason = xasprintf("carries a calendar (%s)",
		    m->cals[0].method ? m->cals[0].method : "no method");
		for (k = 0; k < strlen(ret->reason); k++)
			if ((unsigned char)ret->reason[k] < 0x20)
				ret->reason[k] = ' ';
		return 0;
	}
	if (creport_read(m, ctx, ret))
		return 0;
	if ((why = creport_autoreply_reason(m)) != NULL) {
		ret->cls = MSG_AUTOREPLY;
		ret->return_date = creport_return_date(m, ctx);
		if (ret->return_date != 0) {
			tz_format(ctx->contact_tz, ret->return_date, "%Y-%m-%d",
			    day, sizeof(day));
			ret->reason = xasprintf("%s, back %s", why, day);
			free(why);
		} else
			ret->reason = why;
		return 0;
	}
	ret->cls = MSG_HUMAN;
	if (ctx->class_only)
		return 0;
	ret->new_text = classify_strip_quotes(m->text);
	creferral_find(ret->new_text, m, ctx, ret);
	cintent_read(ret->new_text, ctx, ret);
	return 0;
}

void
classify_done(struct classification *c)
{
	size_t k;

	if (c == NULL)
		return;
	free(c->bounced_rcpt);
	free(c->bounce_reason);
	free(c->bounce_status);
	free(c->returned_msgid);
	free(c->new_text);
	free(c->reason);
	for (k = 0; k < c->n_referrals; k++) {
		free(c->referrals[k].name);
		free(c->referrals[k].email);
	}
	free(c->referrals);
	memset(c, 0, sizeof(*c));
}

