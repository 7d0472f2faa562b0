/*
 * secret.h - credentials for the SMTP and IMAP servers: a password, or an
 * OAuth2 access token (see infoviewd.conf(5), "Secrets" and "auth").
 * Sources, first match wins: the systemd credential <service>-password in
 * $CREDENTIALS_DIRECTORY, password_command's stdout (trailing newline
 * removed), password_file (refused unless mode 0600 or stricter), the
 * plain password key (config.c accepts it only in a private file).
 * A secret is read when it is needed, never kept longer than one login,
 * and never appears in a message or a log line.
 */
#ifndef IV_SECRET_H
#define IV_SECRET_H

#include <stdbool.h>

struct credentials {
	const char *service;    /* "smtp" or "imap": names the credential */
	char *command;          /* password_command */
	char *file;             /* password_file */
	char *password;         /* the plain password key */
	bool token;             /* auth is OAuth2: the secret is a token */
};

/* True when any source is configured (a credential may still appear). */
bool secret_configured(const struct credentials *cr);

/*
 * The secret. Returns 0 and *ret (allocated; free with secret_free; NULL
 * when no source is configured), or a negative errno and *ret_err naming
 * the source (-EIO a command that failed, -ETIMEDOUT one that hung,
 * -EPERM a file others can read, -EINVAL an empty secret or one with a
 * line break), never the secret itself.
 */
int secret_get(const struct credentials *cr, char **ret, char **ret_err);

/* Wipes and frees a secret; NULL is fine. */
void secret_free(char *s);

/* A password_file check at load time: exists, is a file, private.
 * Returns 0, or a negative errno with *why (allocated) naming key. */
int secret_file_check(const char *key, const char *path, char **why);

/* How long a password_command may take, in seconds. */
#define SECRET_COMMAND_TIMEOUT  60

#endif
