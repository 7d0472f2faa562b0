/*
 * classify_int.h - the entry points of the classify_* modules, for
 * classify.c only (pure: no I/O, no logging). Each module's helpers stay
 * static; what they share lives below them in classify_text and
 * classify_time.
 */
#ifndef IV_CLASSIFY_INT_H
#define IV_CLASSIFY_INT_H

#include <time.h>

#include "classify.h"

/* classify_intent.c: sets ret's intent, slot_n, proposed and reason from
 * the new text (referrals already found). */
void cintent_read(const char *new_text, const struct classify_ctx *ctx,
    struct classification *ret);

/* classify_referral.c: adds the people suggested in the new text. */
void creferral_find(const char *new_text, const struct inmsg *m,
    const struct classify_ctx *ctx, struct classification *ret);

/* classify_report.c: machine-written mail. */
/* The reason when m is an automatic reply (allocated), else NULL. */
char *creport_autoreply_reason(const struct inmsg *m);
/* The stated return day of a vacation notice as UTC midnight, or 0. */
time_t creport_return_date(const struct inmsg *m,
    const struct classify_ctx *ctx);
/* For a delivery or feedback report: sets ret's class (bounce, complaint
 * or report) and what it says, and returns true; false for other mail. */
bool creport_read(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret);

#endif
