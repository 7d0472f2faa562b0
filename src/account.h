/*
 * account.h - signing in to the user's two servers as infoviewd.conf(5)
 * says (auth = password | xoauth2 | oauthbearer; the secret sources of
 * secret.h), and finding the account's Sent and Drafts folders. Used by
 * the daemon's connections and by `infoviewd -t --online`.
 *
 * With OAuth2 the token is fetched for each new connection and, when the
 * server rejects it, fetched once more and tried again: a token helper
 * that caches tokens hands out a fresh one on the second call.
 */
#ifndef IV_ACCOUNT_H
#define IV_ACCOUNT_H

#include "config.h"
#include "imap.h"
#include "smtp.h"

/* Connects and signs in to IMAP. Errors as imap_connect; *ret_err names
 * the server and, for OAuth2, the mechanism. */
int account_imap_connect(const struct config *cfg, struct imap_conn **ret,
    char **ret_err);

/* A new SMTP handle with a freshly read secret (smtp.c connects). */
int account_smtp_open(const struct config *cfg, struct smtp_conn **ret,
    char **ret_err);

/* True when smtp.auth is OAuth2. */
bool account_smtp_oauth(const struct config *cfg);

/* What the folder search found. Names are on the wire (modified UTF-7),
 * NULL when not found; problem says what is missing, for people. */
struct account_folders {
	char *sent, *drafts;
	const char *sent_how, *drafts_how;
	char *problem;
};

/* LISTs the mailboxes and picks Sent and Drafts. Returns 0 (also when a
 * folder is missing: see f->problem) or the LIST's negative errno. */
int account_folders(const struct config *cfg, struct imap_conn *c,
    struct account_folders *f, char **ret_err);
void account_folders_done(struct account_folders *f);

/* The key under which the answer "does this provider file submitted mail
 * into Sent itself" is kept for the account ("yes" / "no"). */
char *account_sent_copies_key(const struct config *cfg);

#endif
