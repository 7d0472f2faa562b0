/* test_smtp.c - what an SMTP refusal concerns (smtp_refusal_of's table):
 * the enhanced status code first, the reply code second. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "smtp.h"

static void
test_refusals(void **state)
{
	static const struct { const char *reply; enum smtp_refusal want; } v[] = {
		/* sign-in */
		{ "535 5.7.8 Error: authentication failed", SMTP_REFUSAL_AUTH },
		{ "535 5.7.139 Authentication unsuccessful, the user credentials "
		  "were incorrect.", SMTP_REFUSAL_AUTH },
		{ "550 5.7.30 Basic authentication is not supported for Client "
		  "Submission.", SMTP_REFUSAL_AUTH },
		{ "535 5.7.3 Authentication unsuccessful", SMTP_REFUSAL_AUTH },
		{ "530 5.7.57 Client not authenticated to send mail.",
		  SMTP_REFUSAL_AUTH },
		{ "530 5.7.0 Authentication Required.", SMTP_REFUSAL_AUTH },
		{ "535 Authentication failed", SMTP_REFUSAL_AUTH },
		{ "534 5.7.9 Please log in with your web browser",
		  SMTP_REFUSAL_AUTH },
		/* quota */
		{ "550 5.4.5 Daily user sending limit exceeded.",
		  SMTP_REFUSAL_QUOTA },
		{ "550-5.4.5 Daily user sending limit exceeded. For more "
		  "information on Gmail sending limits go to",
		  SMTP_REFUSAL_QUOTA },
		{ "554 5.2.0 STOREDRV.Submission.Exception:"
		  "SubmissionQuotaExceededException", SMTP_REFUSAL_QUOTA },
		/* blocked */
		{ "550 5.1.8 Access denied, bad outbound sender",
		  SMTP_REFUSAL_BLOCKED },
		{ "550 5.7.501 Access denied, spam abuse detected",
		  SMTP_REFUSAL_BLOCKED },
		{ "550 5.7.13 User account disabled", SMTP_REFUSAL_BLOCKED },
		/* this message alone: the recipient or the content */
		{ "550 5.1.1 <x@y.test>: Recipient address rejected: User "
		  "unknown", SMTP_REFUSAL_MESSAGE },
		{ "554 5.7.1 <x@y.test>: Relay access denied",
		  SMTP_REFUSAL_MESSAGE },
		{ "552 5.2.2 Mailbox full, quota exceeded", SMTP_REFUSAL_MESSAGE },
		{ "550 5.1.10 RESOLVER.ADR.RecipientNotFound",
		  SMTP_REFUSAL_MESSAGE },
		{ "554 Message rejected as spam", SMTP_REFUSAL_MESSAGE },
		/* the enhanced code decides before the reply code */
		{ "535 5.1.1 odd, but the code names a recipient",
		  SMTP_REFUSAL_MESSAGE },
		/* later */
		{ "454 4.7.0 Temporary authentication failure",
		  SMTP_REFUSAL_TRANSIENT },
		{ "451 4.4.5 Too many messages", SMTP_REFUSAL_TRANSIENT },
		{ "421 4.7.0 Try again later, closing connection.",
		  SMTP_REFUSAL_TRANSIENT },
		{ "", SMTP_REFUSAL_TRANSIENT },
		{ NULL, SMTP_REFUSAL_TRANSIENT },
		{ "5x0 junk", SMTP_REFUSAL_TRANSIENT },
		{ "550 5..1 junk", SMTP_REFUSAL_MESSAGE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (smtp_refusal_of(v[i].reply) != v[i].want)
			fail_msg("'%s': got %d, want %d", v[i].reply ?
			    v[i].reply : "(null)", smtp_refusal_of(v[i].reply),
			    v[i].want);
	}
}

static void
test_assigned_msgid(void **state)
{
	static const struct { const char *reply, *want; } v[] = {
		{ "250 2.6.0 <SN6PR0101MB2345.namprd01.prod.outlook.com@"
		  "SN6PR0101MB2345.namprd01.prod.outlook.com> [InternalId="
		  "1234, Hostname=SN6PR0101MB2345] 4567 bytes in 0.1, 43.2 "
		  "KB/sec Queued mail for delivery",
		  "<SN6PR0101MB2345.namprd01.prod.outlook.com@"
		  "SN6PR0101MB2345.namprd01.prod.outlook.com>" },
		{ "250 2.6.0 <a1@x.test> Queued mail for delivery", "<a1@x.test>" },
		{ "250 2.0.0 Ok: queued as 4F2A81C0042", NULL },
		{ "250 2.0.0 OK  1733131234 a1-20020a05 - gsmtp", NULL },
		{ "250 2.6.0 <no-at-sign> queued", NULL },
		{ "250 2.6.0 <a b@x.test> queued", NULL },
		{ "250 2.6.0 <@x.test> queued", NULL },
		{ "550 5.1.1 <x@y.test>: Recipient address rejected", NULL },
		{ "250 2.6.0 <unterminated@x.test queued", NULL },
		{ NULL, NULL },
	};
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		got = smtp_reply_msgid(v[i].reply);
		if (v[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, v[i].want);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_assigned_msgid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
