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

struct smtp_opts {
	const char *url;                /* smtp://host:port or smtps://host:port */
	bool tls_required;              /* false only with tls = "none" */
	const char *user;               /* NULL: no AUTH */
	const char *password;
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
 *   -EPERM   permanent: 5xx (recipient or sender refused, message refused,
 *            authentication refused);
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

/* Closes the connection (QUIT) but keeps the options. */
void smtp_disconnect(struct smtp_conn *c);

/* How many connections were opened so far (a reused one counts once). */
long smtp_connections(const struct smtp_conn *c);

#endif
