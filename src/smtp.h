/*
 * smtp.h - delivering prepared messages over SMTP (the only module that
 * includes curl/curl.h). STARTTLS is required unless tls is "none" towards
 * loopback; certificates and host names are always verified. One
 * connection is reused for consecutive messages.
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
 * Returns 0; -EAGAIN for a transient failure (4xx, timeout, connection
 * lost, server unreachable); -EPERM for a permanent one (5xx);
 * -EINVAL for an address we refuse to hand to the server. *ret_err holds
 * the server's words ("550 5.1.1 <x@y>: Recipient address rejected") or
 * the local reason, never a secret.
 */
int smtp_send(struct smtp_conn *c, const char *from, const char *const *rcpts,
    size_t n_rcpts, const char *raw, size_t len, char **ret_err);

/* Closes the connection (QUIT) but keeps the options. */
void smtp_disconnect(struct smtp_conn *c);

#endif
