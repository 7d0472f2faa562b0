/*
 * imap.h - the mailbox side (the only module that includes libetpan's
 * mailimap and GnuTLS). TLS (implicit or STARTTLS) is verified by us —
 * chain against the system store plus ca_file, and host name — before any
 * credential is sent, because libetpan does not verify. The watcher never
 * changes the user's mail: mailboxes are EXAMINEd (read-only), messages
 * fetched with BODY.PEEK; the only writes are APPENDs.
 *
 * Errors, for every call below (with the reason, or the server's words,
 * in *ret_err):
 *   -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -ECONNRESET
 *            the server is unreachable, too slow or went away: retry later
 *            with a new connection (this one is no longer usable);
 *   -EPROTO  TLS could not be established as required: certificate not
 *            trusted, wrong host name, handshake failed, STARTTLS not
 *            offered. A configuration problem on one side: retry with a
 *            long backoff and show it in status;
 *   -EPERM   login refused;
 *   -EBADMSG the server said something we could not parse (the
 *            connection is no longer usable);
 *   -ENOENT  no such message, or no such mailbox when the server says so
 *            with [TRYCREATE] or [NONEXISTENT] (Dovecot's EXAMINE of a
 *            missing mailbox is a plain NO: -EIO);
 *   -EIO     the server refused the command (NO/BAD);
 *   -EFBIG   a message or a response over the size we accept;
 *   -EINVAL  refused locally (a mailbox name or search value with control
 *            characters, tls PLAIN towards a host that is not loopback, a
 *            ca_file that cannot be read);
 *   -ENOTCONN the connection was lost earlier: free it and reconnect.
 */
#ifndef IV_IMAP_H
#define IV_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_tls_mode { IMAP_MODE_IMPLICIT, IMAP_MODE_STARTTLS, IMAP_MODE_PLAIN };
/* LOGIN with a password, or SASL XOAUTH2 / OAUTHBEARER (RFC 7628) with an
 * OAuth2 access token in `password`. */
enum imap_auth { IMAP_AUTH_LOGIN, IMAP_AUTH_XOAUTH2, IMAP_AUTH_OAUTHBEARER };

struct imap_opts {
	const char *host;
	int port;
	enum imap_tls_mode tls;
	const char *user;
	enum imap_auth auth;
	const char *password;           /* password or token; not kept */
	const char *ca_file;            /* extra trust anchor or NULL */
	long timeout;                   /* seconds for each command */
};

struct imap_conn;

/* Connects, verifies TLS, logs in. A mechanism the server does not
 * offer is -EOPNOTSUPP (naming what it offers); a refused login -EPERM. */
int imap_connect(const struct imap_opts *o, struct imap_conn **ret,
    char **ret_err);
void imap_free(struct imap_conn *c);       /* LOGOUT when still connected */
bool imap_has_idle(struct imap_conn *c);
/* False once a transport or protocol failure made the connection
 * unusable; a command the server refused (NO) leaves it usable. */
bool imap_usable(struct imap_conn *c);
/* What the server offered: SPECIAL-USE (RFC 6154) once logged in, and the
 * SASL mechanisms (AUTH=...) before, space-separated ("" when none). */
bool imap_has_special_use(struct imap_conn *c);
const char *imap_sasl_mechs(struct imap_conn *c);

/* One mailbox from LIST: its name as on the wire (modified UTF-7) and
 * the attributes that matter to us. */
#define IMAP_MB_SENT     0x01   /* \Sent (RFC 6154) */
#define IMAP_MB_DRAFTS   0x02   /* \Drafts */
#define IMAP_MB_NOSELECT 0x04   /* \Noselect or \NonExistent */
struct imap_mailbox {
	char *name;
	unsigned flags;
};
/* LIST "" "*": every mailbox with its special-use attributes (servers
 * send them also when they do not advertise SPECIAL-USE). */
int imap_list(struct imap_conn *c, struct imap_mailbox **ret, size_t *ret_n,
    char **ret_err);
void imap_mailboxes_free(struct imap_mailbox *v, size_t n);

/* EXAMINEs mailbox (read-only). *ret_uidnext is 0 when the server did not
 * say. */
int imap_examine(struct imap_conn *c, const char *mailbox,
    uint32_t *ret_uidvalidity, uint32_t *ret_uidnext, char **ret_err);
/* UIDs > after in the examined mailbox, ascending (UID SEARCH). */
int imap_uids_after(struct imap_conn *c, uint32_t after, uint32_t **ret,
    size_t *ret_n, char **ret_err);
/* Whole message by UID with BODY.PEEK[]; -EFBIG when RFC822.SIZE > max
 * (nothing downloaded); -ENOENT when there is no such UID. */
int imap_fetch(struct imap_conn *c, uint32_t uid, size_t max, char **ret,
    size_t *ret_len, char **ret_err);
/* Header fields (or whole messages) of many messages at once: one
 * UID FETCH of uids (ascending, sent as ranges) for UID, RFC822.SIZE and
 * BODY.PEEK[HEADER.FIELDS (fields)], fields NULL-terminated, or with
 * fields NULL BODY.PEEK[]. The command may read n * max_each bytes, at
 * most 32 MB: the caller keeps a batch of whole messages under that.
 * *ret has one entry per UID, in the same order: found false when the
 * server sent nothing for it (expunged), data NULL when it is over
 * max_each bytes. Free with imap_hdrs_free(*ret, n). */
struct imap_hdr {
	uint32_t uid;
	uint32_t size;                  /* RFC822.SIZE */
	bool found;
	char *data;                     /* the fields, NUL-terminated */
	size_t len;
};
int imap_fetch_headers(struct imap_conn *c, const uint32_t *uids, size_t n,
    const char *const *fields, size_t max_each, struct imap_hdr **ret,
    char **ret_err);
void imap_hdrs_free(struct imap_hdr *hs, size_t n);
/* UIDs in the examined mailbox whose header `field` contains value
 * (UID SEARCH HEADER), for "did the user write to X" checks. */
int imap_search_header(struct imap_conn *c, const char *field,
    const char *value, uint32_t **ret, size_t *ret_n, char **ret_err);
/* APPENDs raw to mailbox with flags, space-separated (e.g. "\\Seen",
 * "\\Seen \\Draft"; NULL or "" none). */
int imap_append(struct imap_conn *c, const char *mailbox, const char *flags,
    const char *raw, size_t len, char **ret_err);

/* IDLE: start, then poll(imap_fd) until readable or the timer ends;
 * imap_idle_done sends DONE and tells whether the server reported new
 * mail (EXISTS/RECENT) while idling. -EOPNOTSUPP when the server has no
 * IDLE. Before polling, check imap_idle_ready: a response that arrived
 * together with the IDLE continuation is already buffered and will not
 * make the descriptor readable. */
int imap_idle_start(struct imap_conn *c, char **ret_err);
int imap_fd(struct imap_conn *c);
bool imap_idle_ready(struct imap_conn *c);
int imap_idle_done(struct imap_conn *c, bool *ret_new_mail, char **ret_err);
/* While idling, the descriptor readable (or imap_idle_ready): reads the
 * lines the server sent. Keepalives ("* OK Still here") and changes that
 * need nothing from us (EXPUNGE, FETCH of flags) leave IDLE running and
 * *ret_end false; anything else (EXISTS or RECENT: *ret_new_mail too;
 * BYE; a line we do not read here) sets *ret_end: end IDLE with
 * imap_idle_done, which reads the rest. 0, or the error (the connection
 * is unusable). */
int imap_idle_read(struct imap_conn *c, bool *ret_end, bool *ret_new_mail,
    char **ret_err);
/* Seconds each read may wait from now on (a short wait for a liveness
 * check, then the usual one again). Returns the previous value. */
long imap_set_timeout(struct imap_conn *c, long seconds);
/* NOOP, for polling servers without IDLE and keep-alive. */
int imap_noop(struct imap_conn *c, char **ret_err);

#endif
