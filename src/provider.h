/*
 * provider.h - presets for well-known mail providers: the servers, ports,
 * TLS mode, sign-in method, folders and Sent-copy behaviour that the
 * `provider` key of infoviewd.conf(5) fills in (keys set explicitly win),
 * and what the setup wizard offers. Pure data: no I/O.
 */
#ifndef IV_PROVIDER_H
#define IV_PROVIDER_H

#include <stddef.h>

struct provider_preset {
	const char *name;       /* the value of `provider`, e.g. "gmail" */
	const char *title;      /* for people: "Gmail / Google Workspace" */
	const char *smtp_url;   /* smtp.url */
	const char *smtp_tls;   /* smtp.tls: "required" */
	const char *imap_host;  /* imap.host */
	int imap_port;          /* imap.port */
	const char *imap_tls;   /* imap.tls: "implicit" | "starttls" */
	const char *auth;       /* smtp.auth and imap.auth */
	const char *sent;       /* imap.sent ("auto": special-use) */
	const char *drafts;     /* imap.drafts */
	const char *save_sent;  /* imap.save_sent: "auto" | "true" | "false" */
	const char *signin;     /* one line on how to sign in */
	const char *oauth_scopes; /* OAuth2 scopes to ask for, or NULL */
};

/* The preset called name (case-insensitive), or NULL. */
const struct provider_preset *provider_find(const char *name);

/* All presets, in the order the docs list them; *ret_n of them. */
const struct provider_preset *provider_all(size_t *ret_n);

/* The preset for the domain of a mail address (case-insensitive: the
 * provider's own domains such as gmail.com, outlook.com, icloud.com), or
 * NULL for any other domain. */
const struct provider_preset *provider_for_domain(const char *domain);

/* "gmail, outlook, ..." for messages (static). */
const char *provider_names(void);

#endif
