/*
 * config.h - the daemon's configuration (infoviewd.conf(5)), loaded from a
 * libconfig file into a fresh struct. Loading never changes a config that
 * is in use: SIGHUP swaps the pointer only when the new one validated.
 * Every problem is reported as "FILE:LINE: message".
 */
#ifndef IV_CONFIG_H
#define IV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "secret.h"
#include "timewin.h"

enum smtp_tls { SMTP_TLS_REQUIRED, SMTP_TLS_NONE };
enum imap_tls { IMAP_TLS_IMPLICIT, IMAP_TLS_STARTTLS, IMAP_TLS_NONE };
/* How infoviewd signs in: LOGIN / AUTH with a password, or SASL XOAUTH2 /
 * OAUTHBEARER with an access token from the same secret sources. */
enum auth_mech { AUTH_PASSWORD, AUTH_XOAUTH2, AUTH_OAUTHBEARER };
/* imap.save_sent: auto APPENDs a copy only where the provider does not
 * file submitted mail into Sent itself. */
enum save_sent { SAVE_SENT_FALSE, SAVE_SENT_TRUE, SAVE_SENT_AUTO };

/* imap.sent / imap.drafts with this value are found by special-use. */
#define CONFIG_FOLDER_AUTO "auto"


struct config {
	char *path;             /* the file it came from */
	char *provider;         /* a provider preset's name, or "" */
	struct {
		char *name, *email, *timezone, *signature, *resume_url;
	} identity;
	struct {
		char *url;              /* smtp://host:587 or smtps://host:465 */
		enum smtp_tls tls;
		enum auth_mech auth;
		char *user;
		struct credentials cred;        /* password_command, ... */
		char *ca_file;
		long timeout;           /* seconds */
	} smtp;
	struct {
		char *host;
		int port;
		enum imap_tls tls;
		enum auth_mech auth;
		char *user;
		struct credentials cred;        /* password_command, ... */
		char *ca_file;
		char *inbox, *sent, *drafts;   /* sent, drafts may be "auto" */
		enum save_sent save_sent;
		bool idle;
		long poll_interval;     /* seconds */
		long idle_refresh;      /* seconds, at most 10 minutes */
	} imap;
	struct {
		int window_start_min, window_end_min;   /* send_window */
		unsigned send_days_mask;                /* bit wday set = allowed */
		int daily_limit, per_domain_daily;
		long min_gap, followup_after;           /* seconds */
		int max_followups;
	} outreach;
	struct {
		long duration;                          /* seconds */
		char *location;
		struct avail_window *availability;
		size_t n_availability;
		int offer_slots;
		bool auto_schedule;
		long prep_before;
		bool copy_to_self;
	} meeting;
	struct {
		long remind_after;
		bool draft;
		long keep_in_touch;     /* seconds; 0 = off */
	} thankyou;
	struct {
		int wday;               /* 0 = Sunday; -1 = no digest */
		int min;                /* minutes after midnight, user's zone */
	} digest;
	struct {
		int interviews_per_field;
	} goal;
	struct {
		char *database;
	} storage;
	struct {
		char *dir;              /* user's dir; files here win */
		char *shipped_dir;      /* $(pkgdatadir)/templates, or
		                           INFOVIEWD_TEMPLATES_SHIPPED for tests */
	} templates;
};

/* The default config path, $(sysconfdir)/infoviewd.conf. */
const char *config_default_path(void);

/*
 * Loads and validates path. Returns 0 and a fresh *ret, or -EINVAL with
 * every problem as "FILE:LINE: message\n" lines in *ret_errors (allocated).
 * A secret in a plain `password` key is refused unless the file is
 * readable by its owner only.
 */
int config_load(const char *path, struct config **ret, char **ret_errors);
void config_free(struct config *c);

/* "password", "xoauth2", "oauthbearer". */
const char *config_auth_name(enum auth_mech a);

#endif
