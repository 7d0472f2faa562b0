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
		util_freep(&low);
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
		util_freep(&low);
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

/* ---- delivery and feedback reports ------------------------------------- */

static const char *const bounce_subjects[] = {
	"undelivered mail returned to sender", "delivery status notification",
	"undeliverable:", "undeliverable mail", "returned mail",
	"mail delivery failed", "delivery failure", "failure notice",
	"mail delivery failure", "undelivered mail", "delivery has failed",
	"message not delivered", "could not deliver", "unzustellbar",
	"non remis", "non distribuable", "no se puede entregar",
	"notificación de estado de entrega", "undeliverable message",
	"delivery notification", "mail system error", "nondeliverable",
	"non-delivery", "delivery problem", "returned to sender",
	"mail could not be delivered", "message delivery has failed",
	"rejected:", "delivery report", "mail failure", "warning: could not send",
	"error sending your mail", "there was an error sending",
	"are not member", "not a member", "メールエラー", "配信エラー",
	"配送エラー", "不達", "送信エラー", "mail delivery error",
	"delivery status", "undeliverable", "message you sent", NULL,
};

/* Text of a report that is only a warning: the server keeps trying. */
static const char *const delay_phrases[] = {
	"has not yet been delivered", "have not yet been delivered",
	"not been delivered yet", "delivery has been delayed",
	"delivery is delayed", "message delayed", "delivery delayed",
	"will continue trying", "will retry", "will keep trying",
	"still trying", "this is a warning message only",
	"you do not need to resend your message", "no action is required",
	"delivery attempts will continue", "warning: could not send message",
	"temporarily deferred", NULL,
};

/* Text that says delivery has failed for good. */
static const char *const failed_phrases[] = {
	"permanent", "gave up", "giving up", "could not be delivered",
	"couldn't be delivered", "failed permanently", "was not delivered",
	"wasn't delivered", "undeliverable", "delivery has failed",
	"has been rejected", "not delivered", "deleted", "expired",
	"too long", "unable to deliver", NULL,
};

/* One recipient's block of a delivery-status report. */
struct dsn_rcpt {
	char *orig, *final, *action, *status, *diag;
};

#define DSN_MAX_RCPTS   64

struct dsn {
	struct dsn_rcpt r[DSN_MAX_RCPTS];
	size_t n;
};

static void
dsn_done(struct dsn *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->r[i].orig);
		free(d->r[i].final);
		free(d->r[i].action);
		free(d->r[i].status);
		free(d->r[i].diag);
	}
	memset(d, 0, sizeof(*d));
}

/* The value of field (unfolded) at line *i, or NULL; moves *i past it. */
static char *
field_value(const struct ctext_line *l, size_t n, size_t *i, const char *field)
{
	size_t fl = strlen(field), k = *i;
	const char *p;
	struct buf b;

	if (l[k].len <= fl || strncasecmp(l[k].p, field, fl) != 0)
		return NULL;
	p = l[k].p + fl;
	while (p < l[k].p + l[k].len && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= l[k].p + l[k].len || *p != ':')
		return NULL;
	p++;
	buf_init(&b);
	buf_add(&b, p, l[k].len - (size_t)(p - l[k].p));
	while (k + 1 < n && l[k + 1].len > 0 &&
	    (l[k + 1].p[0] == ' ' || l[k + 1].p[0] == '\t')) {
		k++;
		buf_addch(&b, ' ');
		buf_add(&b, ctext_skip_ws(l[k].p), l[k].len -
		    (size_t)(ctext_skip_ws(l[k].p) - l[k].p));
	}
	*i = k;
	return str_trim(buf_steal(&b));
}

/* Sets *slot to v unless it is set already (then frees v). */
static void
set_once(char **slot, char *v)
{
	if (*slot == NULL)
		*slot = v;
	else
		free(v);
}

/*
 * Reads the per-recipient blocks of a delivery-status text (RFC 3464):
 * blocks are separated by empty lines, or start again at a second
 * Final-Recipient when an MTA leaves the empty line out; fields may come
 * in any order. The per-message block holds none of these fields.
 */
static void
dsn_parse(const char *ds, struct dsn *d)
{
	static const char *const names[] = { "Original-Recipient",
	    "Final-Recipient", "Action", "Status", "Diagnostic-Code", NULL };
	struct ctext_line *l = NULL;
	struct dsn_rcpt *cur = NULL;
	size_t n, i, k;
	char *v;

	memset(d, 0, sizeof(*d));
	n = ctext_split_lines(ds, &l);
	for (i = 0; i < n; i++) {
		if (ctext_skip_ws(l[i].p) >= l[i].p + l[i].len) {
			cur = NULL;
			continue;
		}
		for (k = 0; names[k] != NULL; k++)
			if ((v = field_value(l, n, &i, names[k])) != NULL)
				break;
		if (names[k] == NULL)
			continue;
		if (cur != NULL && ((k == 1 && cur->final != NULL) ||
		    (k == 0 && cur->orig != NULL)))
			cur = NULL;
		if (cur == NULL) {
			if (d->n >= DSN_MAX_RCPTS) {
				free(v);
				continue;
			}
			cur = &d->r[d->n++];
		}
		switch (k) {
		case 0: set_once(&cur->orig, v); break;
		case 1: set_once(&cur->final, v); break;
		case 2: set_once(&cur->action, str_lower(v)); break;
		case 3: set_once(&cur->status, v); break;
		default: set_once(&cur->diag, v); break;
		}
	}
	free(l);
}

/* The action of a block as reported or implied by its status. */
static const char *
dsn_action(const struct dsn_rcpt *r)
{
	if (r->action != NULL) {
		/* RFC 3464 words, and "deliverable"/"undeliverable" from
		 * MTAs that answer a NOTIFY or an address check */
		if (strncmp(r->action, "failed", 6) == 0 ||
		    strncmp(r->action, "undeliverable", 13) == 0)
			return "failed";
		if (strncmp(r->action, "delayed", 7) == 0)
			return "delayed";
		if (strncmp(r->action, "delivered", 9) == 0 ||
		    strncmp(r->action, "deliverable", 11) == 0 ||
		    strncmp(r->action, "relayed", 7) == 0 ||
		    strncmp(r->action, "expanded", 8) == 0)
			return "delivered";
	}
	if (r->status != NULL) {
		const char *s = ctext_skip_ws(r->status);

		if (s[0] == '5')
			return "failed";
		if (s[0] == '4')
			return "delayed";
		if (s[0] == '2')
			return "delivered";
	}
	return "";
}

/* True when addr is in the value of the first field called name in the
 * header block hdrs (a returned message's headers). */
static bool
in_header_of(const char *hdrs, const char *name, const char *addr)
{
	const char *p = hdrs;
	size_t nl = strlen(name), len;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			len = strcspn(p, "\n");
			while (p[len] == '\n' && (p[len + 1] == ' ' || p[len + 1] == '\t'))
				len += 1 + strcspn(p + len + 1, "\n");
			return strcasestr(p, addr) != NULL &&
			    (size_t)(strcasestr(p, addr) - p) < len;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return false;
}

/*
 * Addresses that are ours, never the failed recipient: the user's, the
 * reporting system's, whoever the report is addressed to (a report goes
 * back to the sender) and the returned message's sender.
 */
static bool
is_ours(const char *addr, const struct inmsg *m, const struct classify_ctx *ctx)
{
	const char *to = ctext_header(m, "To");

	if (ctext_addr_eq(addr, ctx->own_addr) || ctext_addr_eq(addr, m->from_addr))
		return true;
	if (to != NULL && strcasestr(to, addr) != NULL &&
	    !ctext_addr_eq(addr, ctx->contact_addr))
		return true;
	return m->returned_headers != NULL &&
	    (in_header_of(m->returned_headers, "From", addr) ||
	    in_header_of(m->returned_headers, "Return-Path", addr));
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
		if (!ctext_is_robot_addr(addr) && !is_ours(addr, m, ctx))
			return addr;
		free(addr);
	}
	return NULL;
}

/* The address of a report field ("rfc822; addr"): the report says it, so
 * only the user's own address is refused. */
static char *
value_address(const char *v, const struct classify_ctx *ctx)
{
	const char *s;
	size_t a, b;
	char *addr;

	if (v == NULL)
		return NULL;
	s = strchr(v, ';');
	s = s ? s + 1 : v;
	if (!ctext_next_address(s, strlen(s), 0, &a, &b) ||
	    (addr = ctext_address_dup(s, a, b)) == NULL)
		return NULL;
	if (ctext_addr_eq(addr, ctx->own_addr)) {
		free(addr);
		return NULL;
	}
	return addr;
}

static bool
is_known(const struct classify_ctx *ctx, const char *addr)
{
	size_t i;

	for (i = 0; addr != NULL && i < ctx->n_known; i++)
		if (ctext_addr_eq(ctx->known_rcpts[i], addr))
			return true;
	return false;
}

/* True when offset a of s is on a Message-ID, In-Reply-To or References
 * line (an id that looks like an address). */
static bool
in_msgid_field(const char *s, size_t a)
{
	size_t l = a;

	while (l > 0 && s[l - 1] != '\n')
		l--;
	return strncasecmp(s + l, "message-id", 10) == 0 ||
	    strncasecmp(s + l, "in-reply-to", 11) == 0 ||
	    strncasecmp(s + l, "references", 10) == 0 ||
	    (s[l] == ' ' || s[l] == '\t');      /* a folded References */
}

/* The first address of a contact we wrote to recently found in s, or NULL. */
static char *
known_in(const char *s, const struct inmsg *m, const struct classify_ctx *ctx)
{
	size_t a, b, from = 0, len;
	char *addr;

	if (s == NULL || ctx->n_known == 0)
		return NULL;
	len = strlen(s);
	while (ctext_next_address(s, len, from, &a, &b)) {
		from = b;
		if (a > 0 && s[a - 1] == '<' && in_msgid_field(s, a))
			continue;
		if ((addr = ctext_address_dup(s, a, b)) == NULL)
			continue;
		if (is_known(ctx, addr) && !is_ours(addr, m, ctx))
			return addr;
		free(addr);
	}
	return NULL;
}

/* A known recipient anywhere in the report: the machine part, the returned
 * headers, the subject, the text. */
static char *
known_in_report(const struct inmsg *m, const struct classify_ctx *ctx)
{
	char *r;

	if ((r = known_in(m->delivery_status, m, ctx)) == NULL &&
	    (r = known_in(m->returned_headers, m, ctx)) == NULL &&
	    (r = known_in(m->subject, m, ctx)) == NULL)
		r = known_in(m->text, m, ctx);
	return r;
}

/* The first "<id>" of the returned message's Message-ID, or NULL. */
static char *
returned_msgid(const struct inmsg *m)
{
	const char *h = m->returned_headers, *lt, *gt;

	if (h == NULL)
		return NULL;
	while ((h = strcasestr(h, "message-id")) != NULL) {
		if ((h == m->returned_headers || h[-1] == '\n') &&
		    (lt = strchr(h, '<')) != NULL && (gt = strchr(lt, '>')) != NULL &&
		    memchr(h, '\n', (size_t)(lt - h)) == NULL &&
		    gt - lt < 998 && memchr(lt, '\n', (size_t)(gt - lt)) == NULL)
			return xstrndup(lt, (size_t)(gt - lt + 1));
		h += 10;
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
		"konnte nicht zugestellt werden", "delivery to the following",
		"has not yet been delivered is:", "not yet been delivered to",
		"recipient address:", "original recipient:", "recipient:",
		"addressed to", "failed recipient", "invalid recipient",
		"unknown user", "user unknown", "rcpt to:", "to:",
		NULL,
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
		if (gt == NULL || gt + 1 >= end || (gt[1] != ':' &&
		    !(gt[1] == '.' && gt + 2 < end && gt[2] == '.')))
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

/* An enhanced status code ("5.1.1") in s, or NULL. */
static char *
status_in(const char *s)
{
	size_t i, j;

	for (i = 0; s != NULL && s[i] != '\0'; i++) {
		if ((s[i] != '4' && s[i] != '5' && s[i] != '2') || s[i + 1] != '.' ||
		    (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.')))
			continue;
		j = i + 2;
		while (isdigit((unsigned char)s[j]) && j < i + 5)
			j++;
		if (j == i + 2 || s[j] != '.')
			continue;
		j++;
		if (!isdigit((unsigned char)s[j]))
			continue;
		while (isdigit((unsigned char)s[j]) && j < i + 12)
			j++;
		if (isalnum((unsigned char)s[j]))
			continue;
		return xstrndup(s + i, j - i);
	}
	return NULL;
}

/* How a report reads: which kind, and for a DSN the block that decides. */
enum report_kind {
	REPORT_NONE,
	REPORT_FAILED,
	REPORT_DELAYED,
	REPORT_DELIVERED,
	REPORT_FEEDBACK,
};

/* A person's answer ("Re: ...", "AW: ...", "RE : ..."): its subject says
 * nothing about delivery, whatever words the thread's subject has. */
static bool
is_reply_subject(const char *low)
{
	static const char *const pre[] = { "re:", "re :", "aw:", "sv:", "antw:",
	    "r:", "res:", "rif:", "ynt:", "odp:", "答复:", "回复:", NULL };
	size_t i;

	low = ctext_skip_ws(low);
	for (i = 0; pre[i] != NULL; i++)
		if (strncmp(low, pre[i], strlen(pre[i])) == 0)
			return true;
	return false;
}

/* Amazon SES notifications come as JSON (through SNS): the value of
 * "notificationType" ("Bounce", "Complaint", "Delivery"), or NULL. */
static const char *
ses_type(const struct inmsg *m)
{
	static const char *const types[] = { "Bounce", "Complaint", "Delivery",
	    NULL };
	const char *p;
	size_t i;

	if (m->text == NULL || (p = strstr(m->text, "notificationType")) == NULL)
		return NULL;
	p += 16;
	while (*p == '\\' || *p == '"' || *p == ':' || *p == ' ')
		p++;
	for (i = 0; types[i] != NULL; i++)
		if (strncmp(p, types[i], strlen(types[i])) == 0)
			return types[i];
	return NULL;
}

static bool
is_feedback(const struct inmsg *m)
{
	static const char *const subjects[] = { "complaint about message",
	    "email feedback report", "spam complaint", "abuse report", NULL };
	char *low;
	bool r;

	if (m->report_type != NULL &&
	    strcasecmp(m->report_type, "feedback-report") == 0)
		return true;
	/* Amazon SES complaint notifications as JSON (SNS) */
	if (ses_type(m) != NULL && strcmp(ses_type(m), "Complaint") == 0)
		return true;
	low = ctext_lower_dup(m->subject);
	r = !is_reply_subject(low) && ctext_has_any(low, strlen(low), subjects);
	free(low);
	if (r)
		return true;
	return m->delivery_status != NULL &&
	    strcasestr(m->delivery_status, "feedback-type:") != NULL &&
	    (m->report_type == NULL || m->report_type[0] == '\0');
}

/* True when m looks like a non-delivery notice by its sender or subject. */
static bool
looks_like_bounce(const struct inmsg *m)
{
	char *low;
	bool r;

	if (m->report_type != NULL &&
	    (strcasecmp(m->report_type, "delivery-status") == 0 ||
	    strcasecmp(m->report_type, "global-delivery-status") == 0))
		return true;
	if (m->from_addr != NULL && (ctext_starts_ci(m->from_addr,
	    "mailer-daemon@") || ctext_starts_ci(m->from_addr, "postmaster@") ||
	    ctext_starts_ci(m->from_addr, "mailer_daemon@") ||
	    strcasecmp(m->from_addr, "mailer-daemon") == 0 ||
	    strcasecmp(m->from_addr, "postmaster") == 0))
		return true;
	if (m->from_name != NULL && (strcasestr(m->from_name,
	    "mail delivery subsystem") != NULL || strcasestr(m->from_name,
	    "mail delivery system") != NULL || strcasestr(m->from_name,
	    "mailer-daemon") != NULL || strcasestr(m->from_name,
	    "mail administrator") != NULL || strcasestr(m->from_name,
	    "postmaster") != NULL))
		return true;
	if (ctext_header(m, "X-Failed-Recipients") != NULL)
		return true;
	if (m->from_addr != NULL && (ctext_starts_ci(m->from_addr,
	    "post_master@") || ctext_starts_ci(m->from_addr, "mail-daemon@")))
		return true;
	/* Amazon SES bounce notifications as JSON (SNS) */
	if (ses_type(m) != NULL && strcmp(ses_type(m), "Bounce") == 0)
		return true;
	/* a robot's notice in words ("Could not be delivered to:") */
	if (m->from_addr != NULL && ctext_is_robot_addr(m->from_addr) &&
	    m->text != NULL && (strcasestr(m->text, "could not be delivered to") !=
	    NULL || strcasestr(m->text, "undeliverable") != NULL ||
	    strcasestr(m->text, "delivery has failed") != NULL))
		return true;
	low = ctext_lower_dup(m->subject);
	r = !is_reply_subject(low) && ctext_has_any(low, strlen(low),
	    bounce_subjects);
	free(low);
	return r;
}

/* A report without a machine part: a warning when its words say the server
 * keeps trying and none say it gave up. */
static enum report_kind
text_kind(const struct inmsg *m)
{
	struct ctext t;
	char *subj = ctext_lower_dup(m->subject);
	enum report_kind k = REPORT_FAILED;

	ctext_init(&t, m->text ? m->text : "", 16384);
	if ((ctext_has_any(t.low, t.len, delay_phrases) ||
	    ctext_has_any(subj, strlen(subj), delay_phrases) ||
	    strstr(subj, "delayed") != NULL || strstr(subj, "warning") != NULL) &&
	    !ctext_has_any(t.low, t.len, failed_phrases))
		k = REPORT_DELAYED;
	ctext_done(&t);
	free(subj);
	return k;
}

/*
 * Chooses the recipient of a report, in this order: the DSN's failed
 * block (Original- before Final-Recipient), X-Failed-Recipients, the
 * address of a contact we wrote to recently found anywhere in the report,
 * then the MTA's words. A recipient from the first two that is not one
 * of ours gives way to one of ours found elsewhere (a forwarded address
 * bounces under its new name).
 */
static char *
report_rcpt(const struct inmsg *m, const struct classify_ctx *ctx,
    const struct dsn_rcpt *b)
{
	const char *v;
	char *r = NULL, *k;

	if (b != NULL && (r = value_address(b->orig, ctx)) == NULL)
		r = value_address(b->final, ctx);
	if (r == NULL && (v = ctext_header(m, "X-Failed-Recipients")) != NULL)
		r = value_address(v, ctx);
	if (r != NULL && (is_known(ctx, r) || ctx->n_known == 0))
		return r;
	if ((k = known_in_report(m, ctx)) != NULL) {
		free(r);
		return k;
	}
	if (r != NULL)
		return r;
	if ((r = bounce_rcpt_from_text(m->text ? m->text : "", m, ctx)) == NULL &&
	    m->returned_headers != NULL && (v = strcasestr(m->returned_headers,
	    "\nto:")) != NULL)
		r = first_address(v + 4, strcspn(v + 4, "\n"), m, ctx);
	return r;
}

/* Fills ret for an ARF feedback report: who complained about which message. */
static void
read_feedback(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret)
{
	static const char *const fields[] = { "Original-Rcpt-To",
	    "Removal-Recipient", NULL };
	struct ctext_line *l = NULL;
	size_t n = 0, i, k;
	char *v, *type = NULL, *addr = NULL;

	ret->cls = MSG_COMPLAINT;
	ret->returned_msgid = returned_msgid(m);
	if (m->delivery_status != NULL)
		n = ctext_split_lines(m->delivery_status, &l);
	for (i = 0; i < n; i++) {
		if ((v = field_value(l, n, &i, "Feedback-Type")) != NULL) {
			set_once(&type, v);
			continue;
		}
		for (k = 0; fields[k] != NULL && addr == NULL; k++)
			if ((v = field_value(l, n, &i, fields[k])) != NULL) {
				addr = value_address(v, ctx);
				free(v);
			}
	}
	free(l);
	if (addr != NULL && !is_known(ctx, addr) && ctx->n_known > 0) {
		char *kn = known_in_report(m, ctx);

		if (kn != NULL) {
			free(addr);
			addr = kn;
		}
	}
	if (addr == NULL)
		addr = known_in_report(m, ctx);
	if (addr == NULL && m->returned_headers != NULL &&
	    (v = strcasestr(m->returned_headers, "\nto:")) != NULL)
		addr = first_address(v + 4, strcspn(v + 4, "\n"), m, ctx);
	ret->bounced_rcpt = addr;
	if (type != NULL && strlen(type) > 40)
		type[40] = '\0';
	ret->bounce_reason = type;
	ret->reason = xasprintf("%s complained about our message (%s)",
	    addr ? addr : "a recipient", type ? type : "feedback report");
}

/* The delivery-status fields of m: its message/delivery-status part, or
 * the text when the MIME structure was lost (a boundary a parser could
 * not read) and the fields came out as text. */
static const char *
dsn_text(const struct inmsg *m)
{
	const char *p;

	if (m->delivery_status != NULL)
		return m->delivery_status;
	for (p = m->text; p != NULL && (p = strcasestr(p, "final-recipient:")) != NULL;
	    p++)
		if (p == m->text || p[-1] == '\n')
			return m->text;
	return NULL;
}

bool
creport_read(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret)
{
	struct dsn d = { 0 };
	const struct dsn_rcpt *b = NULL;
	enum report_kind kind = REPORT_NONE;
	const char *text = m->text ? m->text : "", *ds;
	char *s;
	size_t i;

	if (is_feedback(m)) {
		read_feedback(m, ctx, ret);
		return true;
	}
	if ((ds = dsn_text(m)) != NULL) {
		dsn_parse(ds, &d);
		/* failed beats delayed beats delivered */
		for (i = 0; i < d.n; i++) {
			const char *a = dsn_action(&d.r[i]);

			if (strcmp(a, "failed") == 0 && kind != REPORT_FAILED) {
				kind = REPORT_FAILED;
				b = &d.r[i];
			} else if (strcmp(a, "delayed") == 0 &&
			    kind != REPORT_FAILED && kind != REPORT_DELAYED) {
				kind = REPORT_DELAYED;
				b = &d.r[i];
			} else if (strcmp(a, "delivered") == 0 &&
			    kind == REPORT_NONE) {
				kind = REPORT_DELIVERED;
				b = &d.r[i];
			}
		}
	}
	if (kind == REPORT_NONE && ses_type(m) != NULL &&
	    strcmp(ses_type(m), "Delivery") == 0)
		kind = REPORT_DELIVERED;
	if (kind == REPORT_NONE) {
		if (!looks_like_bounce(m)) {
			dsn_done(&d);
			return false;
		}
		kind = text_kind(m);
		b = d.n > 0 ? &d.r[0] : NULL;
	}
	ret->returned_msgid = returned_msgid(m);
	ret->bounced_rcpt = report_rcpt(m, ctx, b);
	if (b != NULL && b->status != NULL)
		ret->bounce_status = status_in(b->status);
	if (b != NULL && b->diag != NULL) {
		s = strchr(b->diag, ';');
		ret->bounce_reason = ctext_trim_dup(s ? s + 1 : b->diag,
		    strlen(s ? s + 1 : b->diag));
	}
	if (ret->bounce_reason == NULL)
		ret->bounce_reason = bounce_diag_from_text(text);
	if (ret->bounce_status == NULL)
		ret->bounce_status = status_in(ret->bounce_reason);
	if (ret->bounce_reason != NULL && strlen(ret->bounce_reason) > REASON_MAX)
		ret->bounce_reason[REASON_MAX] = '\0';
	switch (kind) {
	case REPORT_DELAYED:
		ret->cls = MSG_REPORT;
		ret->reason = xasprintf("delivery to %s delayed, the server is "
		    "still trying", ret->bounced_rcpt ? ret->bounced_rcpt :
		    "a recipient");
		break;
	case REPORT_DELIVERED:
		ret->cls = MSG_REPORT;
		ret->reason = xasprintf("delivery report for %s: %s, nothing "
		    "to do", ret->bounced_rcpt ? ret->bounced_rcpt : "a recipient",
		    b && b->action ? b->action : "delivered");
		break;
	default:
		ret->cls = MSG_BOUNCE;
		ret->reason = xasprintf("delivery to %s failed%s%s",
		    ret->bounced_rcpt ? ret->bounced_rcpt : "an unknown recipient",
		    ret->bounce_reason ? ": " : "",
		    ret->bounce_reason ? ret->bounce_reason : "");
		break;
	}
	dsn_done(&d);
	return true;
}
