/*
 * account.c - signing in with the configured mechanism and finding the
 * Sent and Drafts folders (see account.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "folders.h"
#include "secret.h"
#include "util.h"

static enum imap_auth
imap_auth_of(enum auth_mech a)
{
	return a == AUTH_XOAUTH2 ? IMAP_AUTH_XOAUTH2 :
	    a == AUTH_OAUTHBEARER ? IMAP_AUTH_OAUTHBEARER : IMAP_AUTH_LOGIN;
}

/* One attempt with a freshly read secret. */
static int
imap_try(const struct config *cfg, struct imap_conn **ret, char **ret_err)
{
	struct imap_opts o = { 0 };
	char *secret = NULL;
	int r;

	if ((r = secret_get(&cfg->imap.cred, &secret, ret_err)) < 0)
		return r;
	o.host = cfg->imap.host;
	o.port = cfg->imap.port;
	o.tls = cfg->imap.tls == IMAP_TLS_IMPLICIT ? IMAP_MODE_IMPLICIT :
	    cfg->imap.tls == IMAP_TLS_STARTTLS ? IMAP_MODE_STARTTLS :
	    IMAP_MODE_PLAIN;
	o.user = cfg->imap.user;
	o.auth = imap_auth_of(cfg->imap.auth);
	o.password = secret;
	o.ca_file = str_empty(cfg->imap.ca_file) ? NULL : cfg->imap.ca_file;
	o.timeout = 60;
	r = imap_connect(&o, ret, ret_err);
	secret_free(secret);
	return r;
}

int
account_imap_connect(const struct config *cfg, struct imap_conn **ret,
    char **ret_err)
{
	char *err = NULL;
	int r;

	r = imap_try(cfg, ret, &err);
	if (r == -EPERM && cfg->imap.auth != AUTH_PASSWORD) {
		/* the token may have expired since the helper cached it */
		log_debug("imap: %s; fetching the token again", err);
		util_freep(&err);
		r = imap_try(cfg, ret, &err);
	}
	if (r < 0)
		*ret_err = err;
	return r;
}

bool
account_smtp_oauth(const struct config *cfg)
{
	return cfg->smtp.auth != AUTH_PASSWORD;
}

int
account_smtp_open(const struct config *cfg, struct smtp_conn **ret,
    char **ret_err)
{
	struct smtp_opts o = { 0 };
	char *secret = NULL;
	int r;

	if ((r = secret_get(&cfg->smtp.cred, &secret, ret_err)) < 0)
		return r;
	o.url = cfg->smtp.url;
	o.tls_required = cfg->smtp.tls == SMTP_TLS_REQUIRED;
	o.user = secret ? cfg->smtp.user : NULL;
	o.auth = account_smtp_oauth(cfg) ? SMTP_AUTH_OAUTH2 : SMTP_AUTH_PASSWORD;
	o.password = secret;
	o.ca_file = str_empty(cfg->smtp.ca_file) ? NULL : cfg->smtp.ca_file;
	o.timeout = cfg->smtp.timeout;
	*ret = smtp_new(&o);
	secret_free(secret);
	return 0;
}

/* "imap.sent: ..." for one folder that was not found. */
static void
missing(struct buf *b, const struct config *cfg, const char *key,
    const char *configured, const char *what, int r)
{
	char *shown = folders_mutf7_decode(configured);

	if (b->len > 0)
		buf_addstr(b, "; ");
	if (r == -EINVAL)
		buf_printf(b, "imap.%s: \"%s\" is not valid UTF-8", key, shown);
	else if (strcmp(configured, CONFIG_FOLDER_AUTO) != 0)
		buf_printf(b, "imap.%s: the %s folder \"%s\" does not exist on "
		    "%s", key, what, shown, cfg->imap.host);
	else
		buf_printf(b, "imap.%s: %s has no mailbox marked \\%s and none "
		    "of the usual names; set imap.%s to the folder's name",
		    key, cfg->imap.host, what, key);
	free(shown);
}

int
account_folders(const struct config *cfg, struct imap_conn *c,
    struct account_folders *f, char **ret_err)
{
	struct imap_mailbox *v = NULL;
	struct buf problem;
	size_t n = 0;
	int r;

	memset(f, 0, sizeof(*f));
	if ((r = imap_list(c, &v, &n, ret_err)) < 0)
		return r;
	buf_init(&problem);
	if ((r = folders_pick(v, n, cfg->imap.sent, IMAP_MB_SENT, &f->sent,
	    &f->sent_how)) < 0)
		missing(&problem, cfg, "sent", cfg->imap.sent, "Sent", r);
	if ((r = folders_pick(v, n, cfg->imap.drafts, IMAP_MB_DRAFTS,
	    &f->drafts, &f->drafts_how)) < 0)
		missing(&problem, cfg, "drafts", cfg->imap.drafts, "Drafts", r);
	f->problem = problem.len > 0 ? buf_steal(&problem) : NULL;
	buf_done(&problem);
	imap_mailboxes_free(v, n);
	return 0;
}

void
account_folders_done(struct account_folders *f)
{
	util_freep(&f->sent);
	util_freep(&f->drafts);
	util_freep(&f->problem);
}

char *
account_sent_copies_key(const struct config *cfg)
{
	return xasprintf("sent_copies.%s@%s", cfg->imap.user, cfg->imap.host);
}
