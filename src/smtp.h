/*
 * smtp.h - delivering prepared messages over SMTP (the only module that
 * includes curl/curl.h). STARTTLS is required unless tls is "none" towards
 * loopback; certificates and host names are always verified. One
 * connection is reused for consecutive messages.
 *
 * Trust: the system store (/etc/ssl/certs) is always used; ca_file adds
 * one more trust anchor next to it (with curl's GnuTLS backend the file
 * and the system directory are both loaded).
 */
#ifndef IV_SMTP_H
#define IV_SMTP_H

#include <stdbool.h>
#include <stddef.h>

/* AUTH with a password, or with an OAuth2 access token: curl then uses
 * OAUTHBEARER when the server offers it, else XOAUTH2. */
enum smtp_auth { SMTP_AUTH_PASSWORD, SMTP_AUTH_OAUTH2 };

struct smtp_opts {
	const char *url;                /* smtp://host:port or smtps://host:port */
	bool tls_required;              /* false only with tls = "none" */
	const char *user;               /* NULL: no AUTH */
	enum smtp_auth auth;
	const char *password;           /* password or access token */
	const char *ca_file;            /* extra trust anchor or NULL */
	long timeout;                   /* seconds, for connect and each send */
};

struct smtp_conn;

/* Copies opts. Never fails but for memory. */
struct smtp_conn *smtp_new(const struct smtp_opts *opts);
void smtp_free(struct smtp_conn *c);

/*
 * Sends raw (CRLF, as built by mime_build) from `from` to rcpts.
 * Returns 0;
 *   -EAGAIN  transient: 4xx, timeout, connection lost, server unreachable;
 *   -EPERM   permanent for this message: a 5xx that names the recipient
 *            (5.1.x "user unknown") or refuses this message's content;
 *   -EACCES  the account: authentication refused (535, 5.7.8, Microsoft's
 *            5.7.139 and 5.7.30 ...): no message can go until it is fixed;
 *   -EDQUOT  the account: its sending quota is used up (Gmail's 5.4.5
 *            "Daily user sending limit exceeded");
 *   -EKEYREVOKED the account: blocked from sending (disabled, spam or
 *            policy: 5.7.13, Microsoft's 5.1.8 and 5.7.50x);
 *   -EPROTO  TLS could not be established as required: certificate not
 *            trusted, wrong host name, STARTTLS not offered. A
 *            configuration problem on one side: retry with a long backoff
 *            and show it in status, do not fail the message;
 *   -EINVAL  refused locally before anything was sent: an address that
 *            is not a plain addr-spec (CR/LF would inject SMTP commands),
 *            a message that is not pure CRLF text (a bare CR or LF or a
 *            NUL: SMTP smuggling), a bad URL, or tls "none" towards a
 *            host that is not loopback.
 * *ret_err holds the server's words ("550 5.1.1 <x@y>: Recipient address
 * rejected: ...") or the local reason, never a secret.
 */
int smtp_send(struct smtp_conn *c, const char *from, const char *const *rcpts,
    size_t n_rcpts, const char *raw, size_t len, char **ret_err);

/* What a 4xx/5xx reply concerns, by its enhanced status code first and
 * its reply code second (the table is in smtp.c). */
enum smtp_refusal {
	SMTP_REFUSAL_TRANSIENT,         /* 4xx: this message, later */
	SMTP_REFUSAL_MESSAGE,           /* 5xx: this message (or recipient) */
	SMTP_REFUSAL_AUTH,              /* the account: sign-in refused */
	SMTP_REFUSAL_QUOTA,             /* the account: sending quota used up */
	SMTP_REFUSAL_BLOCKED,           /* the account: not allowed to send */
};
enum smtp_refusal smtp_refusal_of(const char *reply);

/* True when the last smtp_send failed because the server refused the
 * credentials (535 and the like): a fresh token may help. */
bool smtp_auth_refused(const struct smtp_conn *c);

/* Connects and signs in without sending anything (infoviewd -t
 * --online); errors as smtp_send. */
int smtp_check(struct smtp_conn *c, char **ret_err);
/* The AUTH mechanisms the server offered in its last EHLO ("" none). */
const char *smtp_sasl_mechs(const struct smtp_conn *c);

/* The Message-ID the server gave the message of the last successful
 * smtp_send, as its 250 reply to the end of data names it (Exchange
 * Online and Outlook.com: "250 2.6.0 <id@host> [InternalId=...] Queued
 * mail for delivery"); NULL when the reply names none. Allocated. */
char *smtp_assigned_msgid(const struct smtp_conn *c);
/* The same from a reply's text: its first "<local@domain>" after the
 * codes, printable, without spaces, at most 250 octets; else NULL. */
char *smtp_reply_msgid(const char *reply);

/* Closes the connection (QUIT) but keeps the options. */
void smtp_disconnect(struct smtp_conn *c);

/* How many connections were opened so far (a reused one counts once). */
long smtp_connections(const struct smtp_conn *c);

#endif
