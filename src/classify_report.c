/*
 * classify_report.c - mail written by machines: automatic replies (with
 * the stated return day) and delivery reports (bounces: the failed
 * recipient and the diagnostic). Pure: no I/O, no logging.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "classify_text.h"
#include "classify_time.h"
#include "util.h"

#define REASON_MAX      200             /* bytes of a quoted diagnostic */

/* ---- automatic replies --------------------------------------------------- */

static const char *const vacation_subjects[] = {
	"out of office", "out of the office", "automatic reply", "auto-reply",
	"auto reply", "autoreply", "auto response", "auto-response",
	"automatic response", "autoresponse", "away from the office",
	"away from my desk", "on vacation", "on leave", "vacation reply",
	"abwesenheitsnotiz", "abwesenheit", "automatische antwort",
	"nicht im büro", "réponse automatique", "absence du bureau",
	"absent du bureau", "message d'absence", "respuesta automática",
	"respuesta automatica", "fuera de la oficina", "ausente",
	"risposta automatica", "fuori sede", "fuori ufficio",
	"automatisch antwoord", "afwezig", "i am out of the office",
	"i'm out of the office", NULL,
};

static const char *const vacation_body[] = {
	"this is an automatic reply", "this is an automated reply",
	"this is an automatic response", "this is an automated response",
	"this is an auto-reply", "this is an autoreply", "automatic reply",
	"automated response", "auto-generated reply",
	"dies ist eine automatische antwort", "ceci est une réponse automatique",
	"esta es una respuesta automática", "questa è una risposta automatica",
	NULL,
};

/* Returns the reason when m is an automatic reply, else NULL. */
char *
creport_autoreply_reason(const struct inmsg *m)
{
	const char *v, *hit;
	char *low = NULL, *r = NULL;
	struct ctext t;

	if ((v = ctext_header(m, "Auto-Submitted")) != NULL) {
		low = ctext_lower_dup(ctext_skip_ws(v));
		if (low[0] != '\0' && (strncmp(low, "no", 2) != 0 ||
		    ctext_is_alpha8((unsigned char)low[2]))) {
			r = xasprintf("automatic reply (Auto-Submitted: %.40s)", low);
			goto out;
		}
		freep(&low);
	}
	if (ctext_header(m, "X-Autoreply") != NULL || ctext_header(m, "X-Autorespond") != NULL ||
	    ctext_header(m, "X-Autoresponder") != NULL) {
		r = xstrdup("automatic reply (X-Autoreply)");
		goto out;
	}
	if ((v = ctext_header(m, "Precedence")) != NULL) {
		low = ctext_lower_dup(ctext_skip_ws(v));
		if (ctext_starts_ci(low, "auto_reply") || ctext_starts_ci(low, "bulk") ||
		    ctext_starts_ci(low, "junk")) {
			r = xasprintf("automatic reply (Precedence: %.20s)", low);
			goto out;
		}
		freep(&low);
	}
	low = ctext_lower_dup(m->subject);
	if ((hit = ctext_which_any(low, strlen(low), vacation_subjects)) != NULL) {
		r = xasprintf("automatic reply (subject says \"%s\")", hit);
		goto out;
	}
	ctext_init(&t, m->text ? m->text : "", 2048);
	if ((hit = ctext_which_any(t.low, t.len, vacation_body)) != NULL)
		r = xasprintf("automatic reply (text says \"%s\")", hit);
	ctext_done(&t);
out:
	free(low);
	return r;
}

/* The stated return day of a vacation notice as UTC midnight, or 0. */
time_t
creport_return_date(const struct inmsg *m, const struct classify_ctx *ctx)
{
	static const char *const triggers[] = { "back", "return", "returning",
	    "returns", "until", "till", "through", "thru", "zurück", "wieder",
	    "bis", "retour", "jusqu'au", "jusqu'à", "à partir du", "hasta",
	    "regreso", "regresaré", "volveré", "vuelta", "a partir del",
	    "de retour", "rientro", "terug", NULL };
	struct ctime_expr ex[CTIME_MAX_EXPRS];
	struct ctime_today td;
	struct ctext t;
	struct ctext_toks tk;
	struct buf b;
	size_t n, i, a;
	int y, mo, d;
	time_t when = 0;

	buf_init(&b);
	buf_addstr(&b, m->subject ? m->subject : "");
	buf_addstr(&b, ".\n");
	buf_addstr(&b, m->text ? m->text : "");
	ctext_init(&t, b.data, 8192);
	buf_done(&b);
	ctext_tokenize(&t, &tk);
	ctime_today_init(ctx, &td);
	n = ctime_find_exprs(&tk, ctime_text_is_dmy(t.low, t.len), ex, CTIME_MAX_EXPRS);
	for (i = 0; i < n && when == 0; i++) {
		if (!ex[i].has_day)
			continue;
		a = ex[i].start > 48 ? ex[i].start - 48 : 0;
		if (!ctext_has_any(t.low + a, ex[i].start - a, triggers))
			continue;
		if (!ctime_resolve_day(&ex[i].day, &td, &y, &mo, &d) ||
		    tz_local_to_utc(ctx->contact_tz, y, mo, d, 0, 0, &when) != 0)
			when = 0;
	}
	free(tk.v);
	ctext_done(&t);
	return when;
}

/* ---- bounces ------------------------------------------------------------- */

static const char *const bounce_subjects[] = {
	"undelivered mail returned to sender", "delivery status notification",
	"undeliverable:", "undeliverable mail", "returned mail",
	"mail delivery failed", "delivery failure", "failure notice",
	"mail delivery failure", "undelivered mail", "delivery has failed",
	"message not delivered", "could not deliver", "unzustellbar",
	"non remis", "non distribuable", "no se puede entregar",
	"notificación de estado de entrega", NULL,
};

bool
creport_is_bounce(const struct inmsg *m)
{
	char *low;
	bool r = false;

	if (m->content_type != NULL && strcasecmp(m->content_type,
	    "multipart/report") == 0 && m->report_type != NULL &&
	    strcasecmp(m->report_type, "delivery-status") == 0)
		return true;
	if (m->from_addr != NULL && (ctext_starts_ci(m->from_addr, "mailer-daemon@") ||
	    ctext_starts_ci(m->from_addr, "postmaster@") ||
	    strcasecmp(m->from_addr, "mailer-daemon") == 0))
		return true;
	if (m->from_name != NULL && (strcasestr(m->from_name,
	    "mail delivery subsystem") != NULL || strcasestr(m->from_name,
	    "mail delivery system") != NULL || strcasestr(m->from_name,
	    "mailer-daemon") != NULL))
		return true;
	low = ctext_lower_dup(m->subject);
	r = ctext_has_any(low, strlen(low), bounce_subjects);
	free(low);
	return r;
}

/* True for a delivery-status report that only says "delayed". */
bool
creport_is_delay_only(const struct inmsg *m)
{
	char *low;
	bool r;

	if (m->delivery_status == NULL)
		return false;
	low = ctext_lower_dup(m->delivery_status);
	r = strstr(low, "action: delayed") != NULL &&
	    strstr(low, "action: failed") == NULL;
	free(low);
	return r;
}

/* The value of "Field:" in a delivery-status text (first one), unfolded. */
static char *
dsn_field(const char *ds, const char *field)
{
	struct ctext_line *l = NULL;
	struct buf b;
	size_t n, i, fl = strlen(field);
	char *r = NULL;

	n = ctext_split_lines(ds, &l);
	for (i = 0; i < n; i++) {
		if (l[i].len <= fl || strncasecmp(l[i].p, field, fl) != 0 ||
		    l[i].p[fl] != ':')
			continue;
		buf_init(&b);
		buf_add(&b, l[i].p + fl + 1, l[i].len - fl - 1);
		while (i + 1 < n && l[i + 1].len > 0 &&
		    (l[i + 1].p[0] == ' ' || l[i + 1].p[0] == '\t')) {
			i++;
			buf_addch(&b, ' ');
			buf_add(&b, ctext_skip_ws(l[i].p), l[i].len -
			    (size_t)(ctext_skip_ws(l[i].p) - l[i].p));
		}
		r = buf_steal(&b);
		break;
	}
	free(l);
	return r;
}

/* An address from "rfc822; addr" style values or free text, or NULL. */
static char *
first_address(const char *s, size_t len, const struct inmsg *m,
    const struct classify_ctx *ctx)
{
	size_t a, b, from = 0;
	char *addr;

	while (ctext_next_address(s, len, from, &a, &b)) {
		from = b;
		if ((addr = ctext_address_dup(s, a, b)) == NULL)
			continue;
		if (!ctext_is_robot_addr(addr) && !ctext_addr_eq(addr, ctx->own_addr) &&
		    !ctext_addr_eq(addr, m->from_addr))
			return addr;
		free(addr);
	}
	return NULL;
}

/* The failed recipient named in a bounce's text, or NULL. */
static char *
bounce_rcpt_from_text(const char *text, const struct inmsg *m,
    const struct classify_ctx *ctx)
{
	static const char *const leads[] = {
		"following address(es) failed", "following addresses failed",
		"permanent fatal errors", "delivery has failed to these recipients",
		"wasn't delivered to", "was not delivered to",
		"couldn't be delivered to", "could not be delivered to",
		"your message to", "failed to deliver to",
		"delivery to the following recipient", "undeliverable to",
		"wasn't able to deliver your message to the following",
		"not able to deliver your message to the following",
		"could not deliver to", "unable to deliver to",
		"the following recipient", "the following address",
		"an error occurred while trying to deliver the mail to",
		"konnte nicht zugestellt werden", NULL,
	};
	struct ctext_line *l = NULL;
	char *low, *r = NULL;
	const char *p;
	size_t n, i, k, len = strlen(text);
	long pos;

	/* Postfix and qmail: a line that starts with "<addr>:" */
	n = ctext_split_lines(text, &l);
	for (i = 0; i < n && r == NULL; i++) {
		const char *end = l[i].p + l[i].len, *gt;

		p = ctext_skip_ws(l[i].p);
		if (p >= end || *p != '<')
			continue;
		gt = memchr(p, '>', (size_t)(end - p));
		if (gt == NULL || gt + 1 >= end || gt[1] != ':')
			continue;
		r = first_address(p + 1, (size_t)(gt - p - 1), m, ctx);
	}
	free(l);
	if (r != NULL)
		return r;
	low = ctext_lower_dup(text);
	for (k = 0; leads[k] != NULL && r == NULL; k++) {
		if ((pos = ctext_find_phrase(low, len, leads[k], 0)) < 0)
			continue;
		i = (size_t)pos + strlen(leads[k]);
		r = first_address(text + i, len - i > 400 ? 400 : len - i, m, ctx);
	}
	free(low);
	return r;
}

/* A one-line diagnostic from the text of a bounce, or NULL. */
static char *
bounce_diag_from_text(const char *text)
{
	static const char *const phrases[] = { "said:", "user unknown",
	    "does not exist", "address couldn't be found", "address not found",
	    "no such user", "mailbox unavailable", "recipient address rejected",
	    "couldn't be found", "unable to receive mail", "mailbox not found",
	    "unknown user", "not found", "rejected", "mailbox full",
	    "quota exceeded", NULL };
	struct ctext_line *l = NULL;
	char low[512], *r = NULL;
	size_t n, i, k;

	n = ctext_split_lines(text, &l);
	for (i = 0; i < n && r == NULL; i++) {
		const char *p = l[i].p;

		ctext_line_low(&l[i], low, sizeof(low));
		/* "550 5.1.1 ..." or "... said: 550 ..." */
		for (k = 0; low[k] != '\0' && r == NULL; k++)
			if (low[k] == '5' && (k == 0 || !isalnum((unsigned char)low[k - 1])) &&
			    ((isdigit((unsigned char)low[k + 1]) &&
			    isdigit((unsigned char)low[k + 2]) && low[k + 3] == ' ') ||
			    (low[k + 1] == '.' && isdigit((unsigned char)low[k + 2]) &&
			    low[k + 3] == '.')))
				r = ctext_trim_dup(p, l[i].len);
	}
	for (i = 0; i < n && r == NULL; i++) {
		ctext_line_low(&l[i], low, sizeof(low));
		for (k = 0; phrases[k] != NULL; k++)
			if (strstr(low, phrases[k]) != NULL) {
				r = ctext_trim_dup(l[i].p, l[i].len);
				break;
			}
	}
	free(l);
	if (r != NULL && strlen(r) > REASON_MAX)
		r[REASON_MAX] = '\0';
	return r;
}

void
creport_read_bounce(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret)
{
	char *v = NULL, *s;
	const char *text = m->text ? m->text : "";

	if (m->delivery_status != NULL) {
		if ((v = dsn_field(m->delivery_status, "Original-Recipient")) == NULL)
			v = dsn_field(m->delivery_status, "Final-Recipient");
		if (v != NULL) {
			s = strchr(v, ';');
			ret->bounced_rcpt = first_address(s ? s + 1 : v,
			    strlen(s ? s + 1 : v), m, ctx);
			freep(&v);
		}
		if ((v = dsn_field(m->delivery_status, "Diagnostic-Code")) != NULL) {
			s = strchr(v, ';');
			ret->bounce_reason = ctext_trim_dup(s ? s + 1 : v,
			    strlen(s ? s + 1 : v));
			freep(&v);
		} else if ((v = dsn_field(m->delivery_status, "Status")) != NULL) {
			ret->bounce_reason = xasprintf("status %s", str_trim(v));
			freep(&v);
		}
	}
	if (ret->bounced_rcpt == NULL)
		ret->bounced_rcpt = bounce_rcpt_from_text(text, m, ctx);
	if (ret->bounced_rcpt == NULL && m->returned_headers != NULL &&
	    (v = dsn_field(m->returned_headers, "To")) != NULL) {
		ret->bounced_rcpt = first_address(v, strlen(v), m, ctx);
		freep(&v);
	}
	if (ret->bounce_reason == NULL)
		ret->bounce_reason = bounce_diag_from_text(text);
	if (ret->bounce_reason != NULL && strlen(ret->bounce_reason) > REASON_MAX)
		ret->bounce_reason[REASON_MAX] = '\0';
	ret->reason = xasprintf("delivery to %s failed%s%s",
	    ret->bounced_rcpt ? ret->bounced_rcpt : "an unknown recipient",
	    ret->bounce_reason ? ": " : "",
	    ret->bounce_reason ? ret->bounce_reason : "");
}

