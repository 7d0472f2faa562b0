/*
 * provider.c - the provider presets table (see provider.h). The facts
 * behind each row are in README, "Use your own mailbox", and in
 * infoviewd.conf(5) under `provider`.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "provider.h"
#include "util.h"

static const struct provider_preset presets[] = {
	{ "gmail", "Gmail / Google Workspace",
	  "smtp://smtp.gmail.com:587", "required",
	  "imap.gmail.com", 993, "implicit",
	  /* an app password works where 2-Step Verification is on; OAuth2
	   * everywhere (set auth = "xoauth2" and a token command) */
	  "password", "auto", "auto",
	  /* Gmail files submitted mail into [Gmail]/Sent Mail itself */
	  "false",
	  "app password (Google Account > Security > App passwords) or OAuth2",
	  "https://mail.google.com/" },
	{ "outlook", "Outlook.com / Hotmail / Live",
	  "smtp://smtp-mail.outlook.com:587", "required",
	  "outlook.office365.com", 993, "implicit",
	  "xoauth2", "auto", "auto", "false",
	  "OAuth2 only (password sign-in is off since September 2024)",
	  "https://outlook.office.com/IMAP.AccessAsUser.All "
	  "https://outlook.office.com/SMTP.Send offline_access" },
	{ "office365", "Microsoft 365 / Exchange Online",
	  "smtp://smtp.office365.com:587", "required",
	  "outlook.office365.com", 993, "implicit",
	  "xoauth2", "auto", "auto", "false",
	  "OAuth2 (basic authentication is off for IMAP and, by default, SMTP)",
	  "https://outlook.office.com/IMAP.AccessAsUser.All "
	  "https://outlook.office.com/SMTP.Send offline_access" },
	{ "icloud", "iCloud Mail",
	  "smtp://smtp.mail.me.com:587", "required",
	  "imap.mail.me.com", 993, "implicit",
	  "password", "auto", "auto", "true",
	  "app-specific password (appleid.apple.com > Sign-In and Security)",
	  NULL },
	{ "yahoo", "Yahoo Mail",
	  "smtps://smtp.mail.yahoo.com:465", "required",
	  "imap.mail.yahoo.com", 993, "implicit",
	  "password", "auto", "auto", "auto",
	  "app password (Account security > Generate app password)",
	  NULL },
	{ "fastmail", "Fastmail",
	  "smtps://smtp.fastmail.com:465", "required",
	  "imap.fastmail.com", 993, "implicit",
	  "password", "auto", "auto", "auto",
	  "app password (Settings > Privacy & Security > App passwords)",
	  NULL },
	{ "proton-bridge", "Proton Mail through Proton Mail Bridge",
	  "smtp://127.0.0.1:1025", "required",
	  "127.0.0.1", 1143, "starttls",
	  "password", "auto", "auto", "false",
	  "the Bridge password Proton Mail Bridge shows (not your Proton "
	  "password); export Bridge's certificate and set ca_file",
	  NULL },
};

const struct provider_preset *
provider_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < nitems(presets); i++)
		if (strcasecmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

const struct provider_preset *
provider_all(size_t *ret_n)
{
	*ret_n = nitems(presets);
	return presets;
}

const char *
provider_names(void)
{
	static char names[256];
	size_t i, o = 0;

	if (names[0] != '\0')
		return names;
	for (i = 0; i < nitems(presets) && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		    i ? ", " : "", presets[i].name);
	return names;
}

/* The addresses each provider hands out. Custom domains on Google
 * Workspace or Microsoft 365 are not known from the name: the setup
 * wizard asks for those. */
static const struct {
	const char *domain, *preset;
} domains[] = {
	{ "gmail.com", "gmail" }, { "googlemail.com", "gmail" },
	{ "outlook.com", "outlook" }, { "hotmail.com", "outlook" },
	{ "live.com", "outlook" }, { "msn.com", "outlook" },
	{ "outlook.de", "outlook" }, { "hotmail.co.uk", "outlook" },
	{ "hotmail.fr", "outlook" }, { "live.co.uk", "outlook" },
	{ "icloud.com", "icloud" }, { "me.com", "icloud" },
	{ "mac.com", "icloud" },
	{ "yahoo.com", "yahoo" }, { "ymail.com", "yahoo" },
	{ "yahoo.co.uk", "yahoo" }, { "yahoo.fr", "yahoo" },
	{ "yahoo.de", "yahoo" }, { "rocketmail.com", "yahoo" },
	{ "fastmail.com", "fastmail" }, { "fastmail.fm", "fastmail" },
	{ "proton.me", "proton-bridge" }, { "protonmail.com", "proton-bridge" },
	{ "pm.me", "proton-bridge" },
};

const struct provider_preset *
provider_for_domain(const char *domain)
{
	size_t i;

	if (domain == NULL)
		return NULL;
	for (i = 0; i < nitems(domains); i++)
		if (strcasecmp(domains[i].domain, domain) == 0)
			return provider_find(domains[i].preset);
	return NULL;
}
