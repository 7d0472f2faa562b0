/*
 * smtp.c - delivering prepared messages with libcurl.
 *
 * One easy handle lives in struct smtp_conn: curl keeps the connection in
 * the handle's cache, so consecutive sends reuse it (curl checks it is
 * still alive and reconnects otherwise). Everything curl would pass to the
 * server unchecked is checked here first: addresses (curl 7.88 sends CR/LF
 * in MAIL FROM/RCPT TO as they are) and the message (curl dot-stuffs only
 * after CRLF, so a bare LF followed by "." would go out raw).
 *
 * The server's words are taken from curl's debug stream: every line the
 * server sends (CURLINFO_HEADER_IN) goes through smtp_debug, which keeps the
 * last complete reply. Outgoing lines are never looked at or logged: they
 * carry AUTH with the password.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "smtp.h"
#include "util.h"

#define SMTP_REPLY_MAX	1024	/* what we keep of the server's last reply */

struct smtp_conn {
	char *url;
	bool tls_required;
	char *user;
	char *password;         /* or the access token */
	bool oauth2;
	bool auth_refused;      /* the last send failed on AUTH */
	char *mechs;            /* AUTH mechanisms of the last EHLO */
	char *ca_file;
	long timeout;

	CURL *curl;
	long n_connects;

	/* the current upload */
	const char *up_data;
	size_t up_len, up_off;

	/* the reply being read, lines joined with a space, and the first
	 * 4xx/5xx reply of the transfer (curl may QUIT after it) */
	struct buf reply;
	bool reply_complete;
	char *failure;
	char errbuf[CURL_ERROR_SIZE];
};

static bool curl_ready;

static void
smtp_global_init(void)
{
	CURLcode rc;

	if (curl_ready)
		return;
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		fatalx("curl_global_init: %s", curl_easy_strerror(rc));
	curl_ready = true;
}

struct smtp_conn *
smtp_new(const struct smtp_opts *o)
{
	struct smtp_conn *c;

	smtp_global_init();
	c = xcalloc(1, sizeof(*c));
	c->url = xstrdup(o->url ? o->url : "");
	c->tls_required = o->tls_required;
	c->user = str_empty(o->user) ? NULL : xstrdup(o->user);
	c->password = xstrdup(o->password ? o->password : "");
	c->oauth2 = o->auth == SMTP_AUTH_OAUTH2;
	c->ca_file = str_empty(o->ca_file) ? NULL : xstrdup(o->ca_file);
	c->timeout = o->timeout > 0 ? o->timeout : 60;
	buf_init(&c->reply);
	return c;
}

void
smtp_disconnect(struct smtp_conn *c)
{
	if (c == NULL || c->curl == NULL)
		return;
	/* curl_easy_cleanup closes the cached connection with QUIT. */
	curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

void
smtp_free(struct smtp_conn *c)
{
	if (c == NULL)
		return;
	smtp_disconnect(c);
	free(c->url);
	free(c->user);
	free(c->mechs);
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->ca_file);
	buf_done(&c->reply);
	free(c->failure);
	free(c);
}

long
smtp_connections(const struct smtp_conn *c)
{
	return c->n_connects;
}

/* True for "localhost", 127.0.0.0/8 and ::1 (with or without brackets). */
static bool
host_is_loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 ||
	    strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
}

/* Checks the URL's scheme and, for tls "none", that the host is loopback:
 * curl itself sends AUTH in clear text when the server offers it without
 * TLS, so plaintext (and a password over it) must never leave the host.
 * Returns 0 or -EINVAL with the reason in *ret_err. */
static int
smtp_check_url(const struct smtp_conn *c, char **ret_err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	int r = -EINVAL;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	if (curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		*ret_err = xasprintf("bad SMTP URL '%s'", c->url);
		goto out;
	}
	if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0) {
		*ret_err = xasprintf("SMTP URL '%s' is not smtp:// or smtps://",
		    c->url);
		goto out;
	}
	if (!c->tls_required && strcmp(scheme, "smtp") == 0 &&
	    !host_is_loopback(host)) {
		*ret_err = xasprintf("refusing SMTP without TLS to %s: "
		    "tls = \"none\" is for loopback only", host);
		goto out;
	}
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

/* Returns 0 when raw is pure CRLF text (every CR is followed by LF, every
 * LF preceded by CR, no NUL), else -EINVAL with the offset in *ret_err. */
static int
smtp_check_message(const char *raw, size_t len, char **ret_err)
{
	size_t i;

	if (len == 0) {
		*ret_err = xstrdup("refusing to send an empty message");
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (raw[i] == '\0') {
			*ret_err = xasprintf("message has a NUL byte at "
			    "offset %zu", i);
			return -EINVAL;
		}
		if (raw[i] == '\r' && (i + 1 == len || raw[i + 1] != '\n')) {
			*ret_err = xasprintf("message has a bare CR at "
			    "offset %zu", i);
			return -EINVAL;
		}
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) {
			*ret_err = xasprintf("message has a bare LF at "
			    "offset %zu", i);
			return -EINVAL;
		}
	}
	return 0;
}

/* Appends one server line to the kept reply; a line after a complete
 * reply ("250 ..." rather than "250-...") starts a new one. */
static void
smtp_reply_line(struct smtp_conn *c, const char *line, size_t n)
{
	size_t i;

	if (c->reply_complete) {
		buf_done(&c->reply);
		c->reply_complete = false;
	}
	c->reply_complete = n < 4 || line[3] == ' ';
	if (c->reply.len > 0 && c->reply.len < SMTP_REPLY_MAX)
		buf_addch(&c->reply, ' ');
	/* continuation lines repeat the code: keep only their text */
	if (c->reply.len > 0 && n >= 4) {
		line += 4;
		n -= 4;
	}
	for (i = 0; i < n && c->reply.len < SMTP_REPLY_MAX; i++) {
		unsigned char ch = (unsigned char)line[i];

		buf_addch(&c->reply, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	if (c->reply_complete && c->failure == NULL && c->reply.len >= 3 &&
	    (c->reply.data[0] == '4' || c->reply.data[0] == '5'))
		c->failure = xstrdup(c->reply.data);
}

/* Keeps the mechanisms of an EHLO line "250-AUTH PLAIN XOAUTH2". */
static void
smtp_note_mechs(struct smtp_conn *c, const char *line, size_t n)
{
	size_t i;

	if (n < 9 || strncmp(line, "250", 3) != 0 ||
	    (line[3] != '-' && line[3] != ' ') ||
	    strncasecmp(line + 4, "AUTH ", 5) != 0)
		return;
	free(c->mechs);
	c->mechs = xstrndup(line + 9, n - 9 > 200 ? 200 : n - 9);
	for (i = 0; c->mechs[i] != '\0'; i++)
		if ((unsigned char)c->mechs[i] < 0x20 || c->mechs[i] == 0x7f)
			c->mechs[i] = '?';
}

/* CURLOPT_DEBUGFUNCTION: keeps server replies; logs curl's own notes and
 * the server's lines at debug. What we send is never looked at. */
static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp_conn *c = arg;
	size_t start, i, n;

	switch (type) {
	case CURLINFO_TEXT:
		log_debug("smtp: %.*s", (int)(size && data[size - 1] == '\n' ?
		    size - 1 : size), data);
		break;
	case CURLINFO_HEADER_IN:
		for (start = i = 0; i < size; i++) {
			if (data[i] != '\n')
				continue;
			n = i - start;
			if (n > 0 && data[start + n - 1] == '\r')
				n--;
			smtp_reply_line(c, data + start, n);
			smtp_note_mechs(c, data + start, n);
			log_debug("smtp: < %.*s", (int)n, data + start);
			start = i + 1;
		}
		if (start < size)
			smtp_reply_line(c, data + start, size - start);
		break;
	default:
		break;
	}
	return 0;
}

/* CURLOPT_READFUNCTION: the message, from memory. */
static size_t
smtp_read(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct smtp_conn *c = arg;
	size_t n = size * nmemb;

	if (n > c->up_len - c->up_off)
		n = c->up_len - c->up_off;
	memcpy(dst, c->up_data + c->up_off, n);
	c->up_off += n;
	return n;
}

/* Sets every option for one transfer. Returns a CURLcode. */
static CURLcode
smtp_setopts(struct smtp_conn *c, const char *from, struct curl_slist *rcpts)
{
	CURL *h = c->curl;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do {						\
	if ((rc = curl_easy_setopt(h, opt, val)) != CURLE_OK)		\
		return rc;						\
} while (0)
	SET(CURLOPT_URL, c->url);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_DEBUGFUNCTION, smtp_debug);
	SET(CURLOPT_DEBUGDATA, c);
	SET(CURLOPT_CONNECTTIMEOUT, c->timeout);
	SET(CURLOPT_TIMEOUT, c->timeout);
	/* a connection kept between messages notices a vanished peer */
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 60L);
	SET(CURLOPT_TCP_KEEPINTVL, 15L);
	SET(CURLOPT_USE_SSL, c->tls_required ? (long)CURLUSESSL_ALL :
	    (long)CURLUSESSL_NONE);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->user != NULL) {
		SET(CURLOPT_USERNAME, c->user);
		if (c->oauth2)
			SET(CURLOPT_XOAUTH2_BEARER, c->password);
		else
			SET(CURLOPT_PASSWORD, c->password);
	}
	SET(CURLOPT_MAIL_FROM, from);
	SET(CURLOPT_MAIL_RCPT, rcpts);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, smtp_read);
	SET(CURLOPT_READDATA, c);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->up_len);
#undef SET
	return rc;
}

/*
 * What a refusal concerns. The enhanced status code (RFC 3463) decides
 * first, the reply code second, and a provider's words last, only where a
 * provider is known to use a generic code for an account-wide limit. An
 * account refusal pauses all sending (see infoviewd(8), "Account
 * refusals"); a message refusal fails that one message; everything 4xx is
 * tried again later.
 *
 *   enhanced code   meaning                                     concerns
 *   X.7.8           authentication credentials invalid          sign-in
 *   X.7.9           authentication mechanism too weak           sign-in
 *   X.7.11, X.7.12  encryption / a password change needed       sign-in
 *   5.7.3           Microsoft: authentication unsuccessful      sign-in
 *   5.7.139         Microsoft: authentication unsuccessful      sign-in
 *                   (account locked, SMTP AUTH disabled)
 *   5.7.30          Microsoft: basic authentication not         sign-in
 *                   supported for client submission
 *   5.7.57          Microsoft: client not authenticated         sign-in
 *   X.4.5           Gmail: daily user sending limit exceeded    quota
 *   X.7.13          user account disabled                       blocked
 *   X.1.7, X.1.8    the sender's address refused (Microsoft     blocked
 *                   5.1.8: "bad outbound sender", an account
 *                   blocked for spam)
 *   5.7.501-503     Microsoft: spam abuse detected              blocked
 *   5.7.511         Microsoft: banned sender                    blocked
 *   5.7.705, .708,  Microsoft: tenant or traffic blocked        blocked
 *   5.7.750
 *   other X.1.x     the recipient (user unknown, bad domain)    message
 *   other 5.x.x     this message                                message
 *   4.x.x           a temporary condition                       retry
 *
 *   reply code (no enhanced code, or one not above)
 *   530             authentication required                     sign-in
 *   534             authentication mechanism too weak           sign-in
 *   535             authentication credentials invalid          sign-in
 *   538             encryption required for the mechanism       sign-in
 *   other 5xx                                                   message
 *   4xx                                                         retry
 *
 *   words, for a 5xx otherwise "message"
 *   "SubmissionQuotaExceeded"  Microsoft 365's 5.2.0             quota
 *   "sending limit", "sending quota"                            quota
 *
 * A 4xx is never taken for an account refusal, whatever its code: the
 * server says it may pass later, and the message's own backoff handles it.
 */
static const struct {
	const char *code;       /* "5.7.8", or a class prefix "5.1." */
	enum smtp_refusal what;
} enhanced_table[] = {
	{ "5.7.8", SMTP_REFUSAL_AUTH }, { "5.7.9", SMTP_REFUSAL_AUTH },
	{ "5.7.11", SMTP_REFUSAL_AUTH }, { "5.7.12", SMTP_REFUSAL_AUTH },
	{ "5.7.3", SMTP_REFUSAL_AUTH }, { "5.7.139", SMTP_REFUSAL_AUTH },
	{ "5.7.30", SMTP_REFUSAL_AUTH }, { "5.7.57", SMTP_REFUSAL_AUTH },
	{ "5.4.5", SMTP_REFUSAL_QUOTA },
	{ "5.7.13", SMTP_REFUSAL_BLOCKED },
	{ "5.1.7", SMTP_REFUSAL_BLOCKED }, { "5.1.8", SMTP_REFUSAL_BLOCKED },
	{ "5.7.501", SMTP_REFUSAL_BLOCKED }, { "5.7.502", SMTP_REFUSAL_BLOCKED },
	{ "5.7.503", SMTP_REFUSAL_BLOCKED }, { "5.7.511", SMTP_REFUSAL_BLOCKED },
	{ "5.7.705", SMTP_REFUSAL_BLOCKED }, { "5.7.708", SMTP_REFUSAL_BLOCKED },
	{ "5.7.750", SMTP_REFUSAL_BLOCKED },
	{ "5.1.", SMTP_REFUSAL_MESSAGE },
};

static const struct {
	int code;
	enum smtp_refusal what;
} reply_table[] = {
	{ 530, SMTP_REFUSAL_AUTH }, { 534, SMTP_REFUSAL_AUTH },
	{ 535, SMTP_REFUSAL_AUTH }, { 538, SMTP_REFUSAL_AUTH },
};

static const char *const quota_words[] = {
	"SubmissionQuotaExceeded", "sending limit", "sending quota",
};

/* Copies the enhanced status code after the reply code ("550 5.1.1 ..."
 * gives "5.1.1") into out; false when there is none. */
static bool
enhanced_code(const char *reply, char *out, size_t len)
{
	const char *p = reply + 3, *q;
	int dots = 0;

	while (*p == ' ' || *p == '-')
		p++;
	if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
		return false;
	for (q = p + 1; *q == '.' || (*q >= '0' && *q <= '9'); q++)
		dots += *q == '.';
	if (dots != 2 || q[-1] == '.' || (*q != '\0' && *q != ' ') ||
	    (size_t)(q - p) >= len)
		return false;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return true;
}

enum smtp_refusal
smtp_refusal_of(const char *reply)
{
	char code[32];
	size_t i, n;
	int rc;

	if (reply == NULL || reply[0] < '0' || reply[0] > '9' ||
	    reply[1] < '0' || reply[1] > '9' || reply[2] < '0' || reply[2] > '9')
		return SMTP_REFUSAL_TRANSIENT;
	rc = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
	if (rc < 500 || rc > 599)
		return SMTP_REFUSAL_TRANSIENT;
	if (enhanced_code(reply, code, sizeof(code))) {
		code[0] = '5';  /* a 5xx with a 4.x.x code is still final */
		for (i = 0; i < nitems(enhanced_table); i++) {
			n = strlen(enhanced_table[i].code);
			if (enhanced_table[i].code[n - 1] == '.' ?
			    strncmp(code, enhanced_table[i].code, n) == 0 :
			    strcmp(code, enhanced_table[i].code) == 0)
				return enhanced_table[i].what;
		}
	}
	for (i = 0; i < nitems(reply_table); i++)
		if (reply_table[i].code == rc)
			return reply_table[i].what;
	for (i = 0; i < nitems(quota_words); i++)
		if (strcasestr(reply, quota_words[i]) != NULL)
			return SMTP_REFUSAL_QUOTA;
	return SMTP_REFUSAL_MESSAGE;
}

#define MSGID_MAX	250

char *
smtp_reply_msgid(const char *reply)
{
	const char *p, *e, *q;
	bool at = false;

	if (reply == NULL || reply[0] != '2')
		return NULL;
	if ((p = strchr(reply, '<')) == NULL || (e = strchr(p, '>')) == NULL ||
	    e - p + 1 > MSGID_MAX || e - p < 4)
		return NULL;
	for (q = p + 1; q < e; q++) {
		if (*q <= ' ' || *q >= 0x7f || *q == '<')
			return NULL;
		at |= *q == '@';
	}
	if (!at || p[1] == '@' || e[-1] == '@')
		return NULL;
	return xstrndup(p, (size_t)(e - p + 1));
}

char *
smtp_assigned_msgid(const struct smtp_conn *c)
{
	return c->reply_complete ? smtp_reply_msgid(c->reply.data) : NULL;
}

/* The errno smtp_send returns for a refusal (see smtp.h). */
static int
refusal_errno(enum smtp_refusal what)
{
	switch (what) {
	case SMTP_REFUSAL_MESSAGE:
		return -EPERM;
	case SMTP_REFUSAL_AUTH:
		return -EACCES;
	case SMTP_REFUSAL_QUOTA:
		return -EDQUOT;
	case SMTP_REFUSAL_BLOCKED:
		return -EKEYREVOKED;
	case SMTP_REFUSAL_TRANSIENT:
	default:
		return -EAGAIN;
	}
}

/* Maps a failed transfer to -EPROTO (TLS), a refusal's errno (the table
 * above), -EAGAIN (the network) or -EINVAL, and says why in *ret_err. */
static int
smtp_classify(struct smtp_conn *c, CURLcode rc, char **ret_err)
{
	long code = 0;
	const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	c->auth_refused = rc == CURLE_LOGIN_DENIED;
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		*ret_err = xasprintf("TLS with %s failed: %s", c->url, why);
		return -EPROTO;
	default:
		break;
	}
	if (code >= 400 && code < 600 && c->failure != NULL) {
		*ret_err = xstrdup(c->failure);
		return refusal_errno(smtp_refusal_of(c->failure));
	}
	switch (rc) {
	case CURLE_LOGIN_DENIED:
		*ret_err = xasprintf("authentication refused: %s", why);
		return -EACCES;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		*ret_err = xasprintf("%s: %s", c->url, why);
		return -EINVAL;
	default:
		/* connect, resolve, timeout, send/recv errors, nothing back,
		 * or a reply we could not read: try again later */
		*ret_err = xasprintf("%s: %s", c->url, why);
		return -EAGAIN;
	}
}

bool
smtp_auth_refused(const struct smtp_conn *c)
{
	return c->auth_refused;
}

const char *
smtp_sasl_mechs(const struct smtp_conn *c)
{
	return c->mechs ? c->mechs : "";
}

int
smtp_check(struct smtp_conn *c, char **ret_err)
{
	CURLcode rc;
	CURL *h;
	int r;

	if ((r = smtp_check_url(c, ret_err)) < 0)
		return r;
	if ((h = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	c->errbuf[0] = '\0';
	buf_done(&c->reply);
	c->reply_complete = false;
	c->auth_refused = false;
	util_freep(&c->failure);
	/* the options of a send, then stop once connected and signed in:
	 * no MAIL FROM, nothing sent */
	{
		CURL *saved = c->curl;

		c->curl = h;
		rc = smtp_setopts(c, "<>", NULL);
		c->curl = saved;
	}
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		CURL *saved = c->curl;

		c->curl = h;
		r = smtp_classify(c, rc, ret_err);
		c->curl = saved;
	} else
		r = 0;
	curl_easy_cleanup(h);
	return r;
}

int
smtp_send(struct smtp_conn *c, const char *from, const char *const *rcpts,
    size_t n_rcpts, const char *raw, size_t len, char **ret_err)
{
	struct curl_slist *list = NULL, *l;
	char *mailfrom = NULL, *a;
	CURLcode rc;
	long connects = 0;
	size_t i;
	int r;

	if (!util_email_valid(from)) {
		*ret_err = xstrdup("refusing sender address: not a plain "
		    "address (control characters or special characters)");
		r = -EINVAL;
		goto out;
	}
	if (n_rcpts == 0) {
		*ret_err = xstrdup("no recipient");
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < n_rcpts; i++) {
		if (!util_email_valid(rcpts[i])) {
			*ret_err = xstrdup("refusing recipient address: not "
			    "a plain address (control characters or special "
			    "characters)");
			r = -EINVAL;
			goto out;
		}
	}
	if ((r = smtp_check_message(raw, len, ret_err)) < 0)
		goto out;
	if ((r = smtp_check_url(c, ret_err)) < 0)
		goto out;

	mailfrom = xasprintf("<%s>", from);
	for (i = 0; i < n_rcpts; i++) {
		a = xasprintf("<%s>", rcpts[i]);
		if ((l = curl_slist_append(list, a)) == NULL)
			fatalx("curl_slist_append");
		list = l;
		free(a);
	}

	if (c->curl == NULL && (c->curl = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	c->up_data = raw;
	c->up_len = len;
	c->up_off = 0;
	c->errbuf[0] = '\0';
	buf_done(&c->reply);
	c->reply_complete = false;
	c->auth_refused = false;
	util_freep(&c->failure);

	if ((rc = smtp_setopts(c, mailfrom, list)) != CURLE_OK) {
		*ret_err = xasprintf("curl: %s", curl_easy_strerror(rc));
		r = -EINVAL;
		goto out;
	}
	rc = curl_easy_perform(c->curl);
	if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects) ==
	    CURLE_OK)
		c->n_connects += connects;
	if (rc != CURLE_OK) {
		r = smtp_classify(c, rc, ret_err);
		log_debug("smtp: send failed (%d): %s", r, *ret_err);
		goto out;
	}
	r = 0;
out:
	if (c->curl != NULL) {
		/* nothing of this message may outlive the call */
		curl_easy_setopt(c->curl, CURLOPT_MAIL_RCPT, NULL);
		curl_easy_setopt(c->curl, CURLOPT_READDATA, NULL);
	}
	c->up_data = NULL;
	c->up_len = c->up_off = 0;
	curl_slist_free_all(list);
	free(mailfrom);
	return r;
}
