/*
 * imap.c - the mailbox side: libetpan's mailimap for the protocol, our own
 * socket and GnuTLS session underneath it.
 *
 * libetpan 1.9.4 does not verify server certificates (and its GnuTLS build
 * ignores a CA file), so libetpan never opens the connection here: we
 * connect the socket, run the TLS handshake with chain and host name
 * verification, and give libetpan a mailstream whose low-level driver
 * (imap_io_driver below) reads and writes through our session. The same
 * driver carries the plain phase of STARTTLS; after the server's OK the
 * TLS session is started on the same descriptor, so the stream never has
 * to be swapped. Credentials are sent only after verification succeeded.
 *
 * The driver also bounds what a server can push at us: every read waits at
 * most `timeout` seconds, and each command may read at most a byte budget
 * (IMAP_BUDGET, or the size limit of a fetch), so a hostile server cannot
 * make libetpan buffer without end.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>

#include "imap.h"
#include "util.h"

#define IMAP_BUDGET	(32u * 1024 * 1024)	/* bytes one command may read */
#define IMAP_SLACK	(64u * 1024)		/* fetch response around the body */
#define IMAP_TEXT_MAX	512			/* server words we pass on */
#define IDLE_LINES_MAX	64	/* lines read in one go while idling */
#define KEEPALIVE_IDLE	60	/* TCP keepalive: first probe after (s) */
#define KEEPALIVE_INTVL	15	/* then every (s) */
#define KEEPALIVE_CNT	4	/* unanswered probes before the kernel gives up */

/* The transport under libetpan: a socket and, once started, TLS on it. */
struct imap_io {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	int timeout_ms;
	size_t budget;          /* bytes the current command may still read */
	int err;                /* errno of the last transport failure */
};

struct imap_conn {
	mailimap *imap;
	struct imap_io *io;     /* owned by imap's stream once attached */
	char *host;
	char *mechs;            /* AUTH= offered before login */
	bool has_idle;
	bool has_special_use;
	bool idling;
	bool broken;            /* transport or parse failure: unusable */
};

/* ---- the transport ------------------------------------------------------ */

/* Waits until fd is ready for events. Returns 0, or -1 with io->err. */
static int
imap_io_wait(struct imap_io *io, short events)
{
	struct pollfd pfd;
	int r;

	pfd.fd = io->fd;
	pfd.events = events;
	pfd.revents = 0;
	do {
		r = poll(&pfd, 1, io->timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		io->err = ETIMEDOUT;
		return -1;
	}
	if (r < 0) {
		io->err = errno;
		return -1;
	}
	return 0;
}

/* Driver read: returns bytes read, or -1 (io->err says why). */
static ssize_t
imap_io_read(mailstream_low *s, void *buf, size_t count)
{
	struct imap_io *io = s->data;
	ssize_t n;

	if (io->fd < 0) {
		io->err = ENOTCONN;
		return -1;
	}
	if (io->budget == 0) {
		io->err = EFBIG;
		return -1;
	}
	if (count > io->budget)
		count = io->budget;
	if ((io->tls == NULL || gnutls_record_check_pending(io->tls) == 0) &&
	    imap_io_wait(io, POLLIN) < 0)
		return -1;
	if (io->tls != NULL) {
		do {
			n = gnutls_record_recv(io->tls, buf, count);
		} while (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN);
		if (n == GNUTLS_E_TIMEDOUT) {
			io->err = ETIMEDOUT;
			return -1;
		}
	} else {
		do {
			n = recv(io->fd, buf, count, 0);
		} while (n < 0 && errno == EINTR);
	}
	if (n <= 0) {
		/* the end of the stream is an error too: IMAP ends with BYE
		 * and a tagged reply, never by just closing */
		io->err = ECONNRESET;
		return -1;
	}
	io->budget -= (size_t)n;
	return n;
}

/* Driver write: writes everything; returns count, or -1. */
static ssize_t
imap_io_write(mailstream_low *s, const void *buf, size_t count)
{
	struct imap_io *io = s->data;
	const char *p = buf;
	size_t left = count;
	ssize_t n;

	while (left > 0) {
		if (io->fd < 0) {
			io->err = ENOTCONN;
			return -1;
		}
		if (io->tls != NULL) {
			n = gnutls_record_send(io->tls, p, left);
			if (n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n == GNUTLS_E_AGAIN) {
				/* SO_SNDTIMEO expired */
				io->err = ETIMEDOUT;
				return -1;
			}
		} else {
			n = send(io->fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				io->err = ETIMEDOUT;
				return -1;
			}
		}
		if (n <= 0) {
			io->err = ECONNRESET;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return (ssize_t)count;
}

static int
imap_io_close(mailstream_low *s)
{
	struct imap_io *io = s->data;

	if (io->fd < 0)
		return 0;
	if (io->tls != NULL)
		gnutls_bye(io->tls, GNUTLS_SHUT_WR);
	close(io->fd);
	io->fd = -1;
	return 0;
}

static int
imap_io_get_fd(mailstream_low *s)
{
	struct imap_io *io = s->data;

	return io->fd;
}

static void
imap_io_free_data(struct imap_io *io)
{
	if (io == NULL)
		return;
	if (io->fd >= 0)
		close(io->fd);
	if (io->tls != NULL)
		gnutls_deinit(io->tls);
	if (io->cred != NULL)
		gnutls_certificate_free_credentials(io->cred);
	free(io);
}

/* Driver free: the low stream owns its imap_io and itself. */
static void
imap_io_free(mailstream_low *s)
{
	imap_io_free_data(s->data);
	s->data = NULL;
	free(s);
}

static mailstream_low_driver imap_io_driver = {
	.mailstream_read = imap_io_read,
	.mailstream_write = imap_io_write,
	.mailstream_close = imap_io_close,
	.mailstream_get_fd = imap_io_get_fd,
	.mailstream_free = imap_io_free,
	/* no cancel, no certificate chain, no idle helpers: NULL is allowed */
};

/* True for "localhost", 127.0.0.0/8 and ::1. */
static bool
host_is_loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* True when host is an IPv4 or IPv6 literal (no SNI for those). */
static bool
host_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* TCP keepalive, so that a peer that vanished (a NAT that forgot us, a
 * laptop that slept) ends the connection even while IDLE sends nothing.
 * Best effort: a system without these options still works. A server whose
 * kernel answers but whose process does not is caught by the daemon's
 * liveness check (infoviewd.conf(5), imap.idle_refresh). */
static void
imap_keepalive(int fd)
{
	int on = 1, idle = KEEPALIVE_IDLE, intvl = KEEPALIVE_INTVL,
	    cnt = KEEPALIVE_CNT;

	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* Connects one address with a timeout. Returns the blocking socket or a
 * negative errno. */
static int
imap_connect_addr(const struct addrinfo *ai, int timeout_ms)
{
	struct timeval tv;
	struct pollfd pfd;
	socklen_t len;
	int fd, r, soerr = 0, flags;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			r = -errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			r = poll(&pfd, 1, timeout_ms);
		} while (r < 0 && errno == EINTR);
		if (r == 0) {
			r = -ETIMEDOUT;
			goto fail;
		}
		len = sizeof(soerr);
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len) < 0) {
			r = -errno;
			goto fail;
		}
		if (soerr != 0) {
			r = -soerr;
			goto fail;
		}
	}
	/* blocking from here on; reads wait in poll, writes are bounded by
	 * SO_SNDTIMEO */
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		goto fail;
	}
	imap_keepalive(fd);
	return fd;
fail:
	close(fd);
	return r;
}

/* Resolves and connects host:port, trying every address. Returns a socket
 * or -EHOSTUNREACH / -ECONNREFUSED / -ETIMEDOUT with the reason. */
static int
imap_tcp_connect(const char *host, int port, int timeout_ms, char **ret_err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int r, fd = -EHOSTUNREACH;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		*ret_err = xasprintf("cannot resolve %s: %s", host,
		    gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = imap_connect_addr(ai, timeout_ms)) >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		*ret_err = xasprintf("cannot connect to %s port %d: %s", host,
		    port, strerror(-fd));
		if (fd != -ETIMEDOUT && fd != -ECONNREFUSED)
			fd = -EHOSTUNREACH;
	}
	return fd;
}

/* Starts TLS on io->fd and verifies the chain (system store plus ca_file)
 * and that the certificate is for host. Returns 0, -EPROTO (not trusted,
 * handshake failed), -ETIMEDOUT or -EINVAL (ca_file unusable). */
static int
imap_tls_start(struct imap_io *io, const char *host, const char *ca_file,
    char **ret_err)
{
	gnutls_x509_trust_list_t empty;
	gnutls_datum_t out;
	unsigned status;
	int r;

	if ((r = gnutls_certificate_allocate_credentials(&io->cred)) < 0)
		fatalx("gnutls_certificate_allocate_credentials: %s",
		    gnutls_strerror(r));
	if ((r = gnutls_certificate_set_x509_system_trust(io->cred)) < 0)
		log_debug("imap: no system trust store: %s",
		    gnutls_strerror(r));
	if (!str_empty(ca_file)) {
		r = gnutls_certificate_set_x509_trust_file(io->cred, ca_file,
		    GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			*ret_err = xasprintf("cannot use CA file %s: %s",
			    ca_file, r < 0 ? gnutls_strerror(r) :
			    "no certificate in it");
			return -EINVAL;
		}
	}
	if ((r = gnutls_init(&io->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL)) < 0)
		fatalx("gnutls_init: %s", gnutls_strerror(r));
	if ((r = gnutls_set_default_priority_append(io->tls,
	    "-VERS-TLS1.0:-VERS-TLS1.1", NULL, 0)) < 0 ||
	    (r = gnutls_credentials_set(io->tls, GNUTLS_CRD_CERTIFICATE,
	    io->cred)) < 0)
		fatalx("gnutls setup: %s", gnutls_strerror(r));
	if (!host_is_ip(host) && (r = gnutls_server_name_set(io->tls,
	    GNUTLS_NAME_DNS, host, strlen(host))) < 0)
		fatalx("gnutls_server_name_set: %s", gnutls_strerror(r));
	/* chain and host name, checked during the handshake */
	gnutls_session_set_verify_cert(io->tls, host, 0);
	gnutls_transport_set_int(io->tls, io->fd);
	gnutls_handshake_set_timeout(io->tls, (unsigned)io->timeout_ms);
	gnutls_record_set_timeout(io->tls, (unsigned)io->timeout_ms);
	do {
		r = gnutls_handshake(io->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r) && r != GNUTLS_E_AGAIN);

	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		status = gnutls_session_get_verify_cert_status(io->tls);
		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &out, 0) == 0) {
			*ret_err = xasprintf("certificate of %s not accepted: "
			    "%s", host, out.data);
			gnutls_free(out.data);
			str_trim(*ret_err);
		} else
			*ret_err = xasprintf("certificate of %s not accepted",
			    host);
		return -EPROTO;
	}
	if (r == GNUTLS_E_TIMEDOUT || r == GNUTLS_E_AGAIN) {
		*ret_err = xasprintf("TLS handshake with %s timed out", host);
		return -ETIMEDOUT;
	}
	if (r < 0) {
		*ret_err = xasprintf("TLS handshake with %s failed: %s", host,
		    gnutls_strerror(r));
		return -EPROTO;
	}
	/* Verified. The parsed trust store (hundreds of CAs, most of an idle
	 * daemon's heap) is not needed for the rest of the session: an empty
	 * list takes its place (a renegotiation would then fail verification
	 * and the connection be made again). */
	if (gnutls_x509_trust_list_init(&empty, 0) == 0)
		gnutls_certificate_set_trust_list(io->cred, empty, 0);
	return 0;
}

/* ---- errors -------------------------------------------------------------- */

/* The server's last words, cleaned for a log line (caller frees). */
static char *
imap_server_text(struct imap_conn *c)
{
	const char *t = c->imap->imap_response;
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; t != NULL && t[i] != '\0' && i < IMAP_TEXT_MAX; i++) {
		unsigned char ch = (unsigned char)t[i];

		buf_addch(&b, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	return buf_steal(&b);
}

/* Maps a libetpan result of command `what` to a negative errno and a
 * message in *ret_err; marks the connection broken when it cannot go on. */
static int
imap_error(struct imap_conn *c, int r, const char *what, char **ret_err)
{
	struct mailimap_response_info *info;
	char *text;
	int e;

	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		c->broken = true;
		e = c->io->err ? c->io->err : ECONNRESET;
		if (e == EFBIG)
			*ret_err = xasprintf("%s on %s: response too large",
			    what, c->host);
		else
			*ret_err = xasprintf("%s on %s: %s", what, c->host,
			    e == ETIMEDOUT ? "timed out" : e == ECONNRESET ?
			    "connection lost" : strerror(e));
		return e == EFBIG ? -EFBIG : e == ETIMEDOUT ? -ETIMEDOUT :
		    -ECONNRESET;
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_PROTOCOL:
	case MAILIMAP_ERROR_MEMORY:
		c->broken = true;
		*ret_err = xasprintf("%s on %s: unexpected response from the "
		    "server", what, c->host);
		return -EBADMSG;
	case MAILIMAP_ERROR_BAD_STATE:
		*ret_err = xasprintf("%s on %s: not in the right state", what,
		    c->host);
		return -EINVAL;
	default:
		break;
	}
	text = imap_server_text(c);
	info = c->imap->imap_response_info;
	if (r == MAILIMAP_ERROR_LOGIN)
		e = -EPERM;
	else if (info != NULL && (info->rsp_trycreate || (info->rsp_atom !=
	    NULL && strcasecmp(info->rsp_atom, "NONEXISTENT") == 0)))
		e = -ENOENT;	/* [TRYCREATE] or RFC 5530 [NONEXISTENT] */
	else
		e = -EIO;
	*ret_err = xasprintf("%s on %s refused: %s", what, c->host,
	    text[0] ? text : "(no reason given)");
	free(text);
	return e;
}

/* Starts a command: refuses on a lost connection, resets the budget. */
static int
imap_begin(struct imap_conn *c, size_t budget, char **ret_err)
{
	if (c->broken || c->imap->imap_stream == NULL) {
		*ret_err = xasprintf("connection to %s was lost", c->host);
		return -ENOTCONN;
	}
	if (c->idling) {
		*ret_err = xstrdup("a command during IDLE");
		return -EINVAL;
	}
	c->io->budget = budget;
	c->io->err = 0;
	return 0;
}

/* Refuses strings with control characters before they reach the wire. */
static int
imap_check_arg(const char *what, const char *s, char **ret_err)
{
	if (str_empty(s) || str_has_ctl(s, false)) {
		*ret_err = xasprintf("refusing %s: empty or with control "
		    "characters", what);
		return -EINVAL;
	}
	return 0;
}

/* ---- connecting ---------------------------------------------------------- */

/* Refreshes the capability list. Returns 0 or a negative errno. */
static int
imap_refresh_caps(struct imap_conn *c, char **ret_err)
{
	struct mailimap_capability_data *caps = NULL;
	int r;

	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	if ((r = mailimap_capability(c->imap, &caps)) != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "CAPABILITY", ret_err);
	mailimap_capability_data_free(caps);
	return 0;
}

/* STARTTLS on the plain connection, then TLS on the same socket.
 * Returns 0 or a negative errno. */
static int
imap_starttls(struct imap_conn *c, const struct imap_opts *o, char **ret_err)
{
	int r;

	if ((r = imap_refresh_caps(c, ret_err)) < 0)
		return r;
	if (!mailimap_has_extension(c->imap, "STARTTLS")) {
		*ret_err = xasprintf("%s does not offer STARTTLS", c->host);
		return -EPROTO;
	}
	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	if ((r = mailimap_starttls(c->imap)) != MAILIMAP_NO_ERROR) {
		r = imap_error(c, r, "STARTTLS", ret_err);
		return r == -EIO ? -EPROTO : r;
	}
	/* Anything the server sent after its OK came before TLS and would
	 * be read as if it were protected (response injection). */
	if (c->imap->imap_stream->read_buffer_len != 0) {
		c->broken = true;
		*ret_err = xasprintf("%s sent data after STARTTLS", c->host);
		return -EPROTO;
	}
	if ((r = imap_tls_start(c->io, c->host, o->ca_file, ret_err)) < 0) {
		c->broken = true;
		return r;
	}
	return 0;
}

/* Remembers the AUTH= mechanisms of the current capability list. */
static void
imap_note_mechs(struct imap_conn *c)
{
	struct mailimap_capability_data *caps;
	clistiter *it;
	struct buf b;

	buf_init(&b);
	caps = c->imap->imap_connection_info ?
	    c->imap->imap_connection_info->imap_capability : NULL;
	for (it = caps ? clist_begin(caps->cap_list) : NULL; it != NULL;
	    it = clist_next(it)) {
		struct mailimap_capability *cap = clist_content(it);

		if (cap->cap_type != MAILIMAP_CAPABILITY_AUTH_TYPE ||
		    str_empty(cap->cap_data.cap_auth_type) ||
		    str_has_ctl(cap->cap_data.cap_auth_type, false) ||
		    b.len > 200)
			continue;
		buf_printf(&b, "%s%s", b.len ? " " : "",
		    cap->cap_data.cap_auth_type);
	}
	free(c->mechs);
	c->mechs = buf_steal(&b);
}

/* True when the server offered SASL mechanism mech. */
static bool
imap_offers(struct imap_conn *c, const char *mech)
{
	const char *p = c->mechs;
	size_t n = strlen(mech);

	while (p != NULL && *p != '\0') {
		size_t w = strcspn(p, " ");

		if (w == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += w + (p[w] == ' ');
	}
	return false;
}

/* Base64 of s (RFC 4648, padded; caller frees). */
static char *
imap_b64(const char *s)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, o = 0;
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc((n + 2) / 3 * 4 + 1);

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = tab[p[i] >> 2];
		out[o++] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[o++] = tab[p[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = tab[p[i] >> 2];
		if (i + 1 < n) {
			out[o++] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			out[o++] = tab[(p[i + 1] & 15) << 2];
		} else {
			out[o++] = tab[(p[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/*
 * AUTHENTICATE OAUTHBEARER with an initial response (RFC 7628); libetpan
 * has XOAUTH2 only. The line is marked private, like LOGIN's, so a stream
 * logger never sees the token. On an error challenge the client answers
 * with the dummy response %x01 and the server ends with NO.
 */
static int
imap_oauthbearer(struct imap_conn *c, const char *user, const char *token)
{
	struct mailimap_response *resp = NULL;
	mailstream *st = c->imap->imap_stream;
	char *ir, *b64 = NULL, *line;
	int r, type;

	if (c->imap->imap_state != MAILIMAP_STATE_NON_AUTHENTICATED)
		return MAILIMAP_ERROR_BAD_STATE;
	ir = xasprintf("n,a=%s,\001auth=Bearer %s\001\001", user, token);
	b64 = imap_b64(ir);
	explicit_bzero(ir, strlen(ir));
	free(ir);
	mailstream_set_privacy(st, 0);
	r = mailimap_send_current_tag(c->imap);
	if (r == MAILIMAP_NO_ERROR && (mailstream_write(st,
	    "AUTHENTICATE OAUTHBEARER ", 25) < 0 ||
	    mailstream_write(st, b64, strlen(b64)) < 0 ||
	    mailstream_write(st, "\r\n", 2) < 0 || mailstream_flush(st) < 0))
		r = MAILIMAP_ERROR_STREAM;
	mailstream_set_privacy(st, 1);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	if ((line = mailimap_read_line(c->imap)) == NULL)
		return MAILIMAP_ERROR_STREAM;
	if (line[0] == '+' && (mailstream_write(st, "AQ==\r\n", 6) < 0 ||
	    mailstream_flush(st) < 0))
		return MAILIMAP_ERROR_STREAM;
	if ((r = mailimap_parse_response(c->imap, &resp)) != MAILIMAP_NO_ERROR)
		return r;
	type = resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
	mailimap_response_free(resp);
	if (type != MAILIMAP_RESP_COND_STATE_OK)
		return MAILIMAP_ERROR_LOGIN;
	c->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return MAILIMAP_NO_ERROR;
}

/* LOGIN, or AUTHENTICATE with a token. Returns 0 or a negative errno
 * (-EPERM: refused, -EOPNOTSUPP: mechanism not offered). */
static int
imap_login(struct imap_conn *c, const struct imap_opts *o, char **ret_err)
{
	const char *mech = o->auth == IMAP_AUTH_XOAUTH2 ? "XOAUTH2" :
	    o->auth == IMAP_AUTH_OAUTHBEARER ? "OAUTHBEARER" : NULL;
	char what[64];
	int r;

	if ((r = imap_refresh_caps(c, ret_err)) < 0)
		return r;
	imap_note_mechs(c);
	if (mech != NULL && !imap_offers(c, mech)) {
		*ret_err = xasprintf("%s does not offer AUTH=%s (it offers: %s)",
		    c->host, mech, c->mechs[0] ? c->mechs : "none");
		return -EOPNOTSUPP;
	}
	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	/* libetpan marks the LOGIN and AUTHENTICATE lines private: they are
	 * never logged */
	if (o->auth == IMAP_AUTH_XOAUTH2)
		r = mailimap_oauth2_authenticate(c->imap, o->user, o->password);
	else if (o->auth == IMAP_AUTH_OAUTHBEARER)
		r = imap_oauthbearer(c, o->user, o->password);
	else
		r = mailimap_login(c->imap, o->user, o->password);
	if (r != MAILIMAP_NO_ERROR) {
		snprintf(what, sizeof(what), "%s%s", mech ? "AUTHENTICATE " :
		    "LOGIN", mech ? mech : "");
		return imap_error(c, r, what, ret_err);
	}
	return 0;
}

int
imap_connect(const struct imap_opts *o, struct imap_conn **ret, char **ret_err)
{
	struct imap_conn *c;
	struct imap_io *io = NULL;
	mailstream_low *low;
	mailstream *stream;
	int fd, r;

	if (o->tls == IMAP_MODE_PLAIN && !host_is_loopback(o->host)) {
		*ret_err = xasprintf("refusing IMAP without TLS to %s: tls = "
		    "\"none\" is for loopback only", o->host);
		return -EINVAL;
	}
	if ((r = imap_check_arg("user name", o->user, ret_err)) < 0)
		return r;

	c = xcalloc(1, sizeof(*c));
	c->host = xstrdup(o->host);
	if ((c->imap = mailimap_new(0, NULL)) == NULL)
		fatalx("mailimap_new");
	io = xcalloc(1, sizeof(*io));
	io->fd = -1;
	io->timeout_ms = (int)((o->timeout > 0 ? o->timeout : 60) * 1000);
	io->budget = IMAP_BUDGET;

	if ((fd = imap_tcp_connect(o->host, o->port, io->timeout_ms,
	    ret_err)) < 0) {
		r = fd;
		goto out;
	}
	io->fd = fd;
	if (o->tls == IMAP_MODE_IMPLICIT &&
	    (r = imap_tls_start(io, o->host, o->ca_file, ret_err)) < 0)
		goto out;

	/* the low stream takes io, the stream takes low, the session takes
	 * the stream (even when the greeting fails) */
	if ((low = mailstream_low_new(io, &imap_io_driver)) == NULL)
		fatalx("mailstream_low_new");
	c->io = io;
	io = NULL;
	if ((stream = mailstream_new(low, 8192)) == NULL)
		fatalx("mailstream_new");
	r = mailimap_connect(c->imap, stream);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		r = imap_error(c, r, "greeting", ret_err);
		c->broken = true;
		goto out;
	}
	if (o->tls == IMAP_MODE_STARTTLS &&
	    (r = imap_starttls(c, o, ret_err)) < 0)
		goto out;
	if (c->imap->imap_state == MAILIMAP_STATE_NON_AUTHENTICATED &&
	    (r = imap_login(c, o, ret_err)) < 0)
		goto out;
	/* what the server offers once authenticated (IDLE) */
	if ((r = imap_refresh_caps(c, ret_err)) < 0)
		goto out;
	c->has_idle = mailimap_has_extension(c->imap, "IDLE") != 0;
	c->has_special_use = mailimap_has_extension(c->imap, "SPECIAL-USE") != 0;
	if (c->mechs == NULL)
		c->mechs = xstrdup("");
	*ret = c;
	c = NULL;
	r = 0;
out:
	imap_io_free_data(io);
	if (c != NULL) {
		c->broken = true;
		imap_free(c);
	}
	return r;
}

void
imap_free(struct imap_conn *c)
{
	bool dummy;
	char *err = NULL;

	if (c == NULL)
		return;
	if (c->idling && !c->broken)     /* closing: its answer changes nothing */
		(void)imap_idle_done(c, &dummy, &err);
	free(err);
	if (c->imap->imap_stream != NULL) {
		if (c->broken) {
			/* no LOGOUT over a connection that failed */
			mailstream_close(c->imap->imap_stream);
			c->imap->imap_stream = NULL;
		} else {
			c->io->budget = IMAP_BUDGET;
			mailimap_logout(c->imap);
		}
	}
	mailimap_free(c->imap);
	free(c->host);
	free(c->mechs);
	free(c);
}

bool
imap_has_idle(struct imap_conn *c)
{
	return c->has_idle;
}

bool
imap_usable(struct imap_conn *c)
{
	return !c->broken && c->imap->imap_stream != NULL;
}

bool
imap_has_special_use(struct imap_conn *c)
{
	return c->has_special_use;
}

const char *
imap_sasl_mechs(struct imap_conn *c)
{
	return c->mechs ? c->mechs : "";
}

/* The attributes of one LIST entry that matter to us. */
static unsigned
imap_mb_flags(const struct mailimap_mbx_list_flags *f)
{
	unsigned flags = 0;
	clistiter *it;

	if (f == NULL)
		return 0;
	if (f->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    f->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
		flags |= IMAP_MB_NOSELECT;
	for (it = f->mbf_oflags ? clist_begin(f->mbf_oflags) : NULL; it != NULL;
	    it = clist_next(it)) {
		const struct mailimap_mbx_list_oflag *o = clist_content(it);
		const char *n = o->of_flag_ext;

		if (o->of_type != MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT || n == NULL)
			continue;
		if (strcasecmp(n, "Sent") == 0)
			flags |= IMAP_MB_SENT;
		else if (strcasecmp(n, "Drafts") == 0)
			flags |= IMAP_MB_DRAFTS;
		else if (strcasecmp(n, "Noselect") == 0 ||
		    strcasecmp(n, "NonExistent") == 0)
			flags |= IMAP_MB_NOSELECT;
	}
	return flags;
}

#define IMAP_LIST_MAX 5000      /* mailboxes we look at */

int
imap_list(struct imap_conn *c, struct imap_mailbox **ret, size_t *ret_n,
    char **ret_err)
{
	struct imap_mailbox *v;
	clist *list = NULL;
	clistiter *it;
	size_t n = 0;
	int r;

	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	if ((r = mailimap_list(c->imap, "", "*", &list)) != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "LIST", ret_err);
	v = xcalloc((size_t)clist_count(list) + 1, sizeof(*v));
	for (it = clist_begin(list); it != NULL && n < IMAP_LIST_MAX;
	    it = clist_next(it)) {
		const struct mailimap_mailbox_list *mb = clist_content(it);

		if (mb->mb_name == NULL || str_has_ctl(mb->mb_name, false))
			continue;
		v[n].name = xstrdup(mb->mb_name);
		v[n].flags = imap_mb_flags(mb->mb_flag);
		n++;
	}
	mailimap_list_result_free(list);
	*ret = v;
	*ret_n = n;
	return 0;
}

void
imap_mailboxes_free(struct imap_mailbox *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].name);
	free(v);
}

/* ---- reading ------------------------------------------------------------- */

int
imap_examine(struct imap_conn *c, const char *mailbox,
    uint32_t *ret_uidvalidity, uint32_t *ret_uidnext, char **ret_err)
{
	struct mailimap_selection_info *sel;
	int r;

	if ((r = imap_check_arg("mailbox name", mailbox, ret_err)) < 0)
		return r;
	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	if ((r = mailimap_examine(c->imap, mailbox)) != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "EXAMINE", ret_err);
	sel = c->imap->imap_selection_info;
	if (sel == NULL || sel->sel_uidvalidity == 0) {
		*ret_err = xasprintf("EXAMINE %s on %s: no UIDVALIDITY",
		    mailbox, c->host);
		return -EBADMSG;
	}
	*ret_uidvalidity = sel->sel_uidvalidity;
	*ret_uidnext = sel->sel_uidnext;
	return 0;
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* UID SEARCH with key (taken), keeping UIDs > after, ascending.
 * Returns 0 or a negative errno. */
static int
imap_uid_search(struct imap_conn *c, const char *charset,
    struct mailimap_search_key *key, uint32_t after, uint32_t **ret,
    size_t *ret_n, char **ret_err)
{
	clist *result = NULL;
	clistiter *it;
	uint32_t *uids = NULL;
	size_t n = 0;
	int r;

	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		goto out;
	if ((r = mailimap_uid_search(c->imap, charset, key, &result)) !=
	    MAILIMAP_NO_ERROR) {
		r = imap_error(c, r, "UID SEARCH", ret_err);
		goto out;
	}
	uids = xreallocarray(NULL, (size_t)clist_count(result) + 1,
	    sizeof(*uids));
	for (it = clist_begin(result); it != NULL; it = clist_next(it)) {
		uint32_t *u = clist_content(it);

		if (u != NULL && *u > after)
			uids[n++] = *u;
	}
	qsort(uids, n, sizeof(*uids), uid_cmp);
	*ret = uids;
	*ret_n = n;
	uids = NULL;
	r = 0;
out:
	free(uids);
	if (result != NULL)
		mailimap_search_result_free(result);
	mailimap_search_key_free(key);
	return r;
}

int
imap_uids_after(struct imap_conn *c, uint32_t after, uint32_t **ret,
    size_t *ret_n, char **ret_err)
{
	struct mailimap_set *set;
	struct mailimap_search_key *key;

	if (after == UINT32_MAX) {
		*ret = xcalloc(1, sizeof(**ret));
		*ret_n = 0;
		return 0;
	}
	/* UID after+1:* (which also matches the highest UID when nothing is
	 * newer: imap_uid_search drops it) */
	if ((set = mailimap_set_new_interval(after + 1, 0)) == NULL ||
	    (key = mailimap_search_key_new_uid(set)) == NULL)
		fatalx("mailimap_search_key_new_uid");
	return imap_uid_search(c, NULL, key, after, ret, ret_n, ret_err);
}

int
imap_search_header(struct imap_conn *c, const char *field, const char *value,
    uint32_t **ret, size_t *ret_n, char **ret_err)
{
	struct mailimap_search_key *key;
	const char *charset = NULL, *p;
	int r;

	if ((r = imap_check_arg("header name", field, ret_err)) < 0 ||
	    (r = imap_check_arg("search value", value, ret_err)) < 0)
		return r;
	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			charset = "UTF-8";
	/* the key takes both strings */
	key = mailimap_search_key_new_header(xstrdup(field), xstrdup(value));
	if (key == NULL)
		fatalx("mailimap_search_key_new_header");
	return imap_uid_search(c, charset, key, 0, ret, ret_n, ret_err);
}

/* UID FETCH uid with the attributes in ft (not taken) into *ret (the
 * caller frees with mailimap_fetch_list_free). */
static int
imap_uid_fetch(struct imap_conn *c, uint32_t uid,
    struct mailimap_fetch_type *ft, size_t budget, clist **ret,
    char **ret_err)
{
	struct mailimap_set *set;
	int r;

	if ((r = imap_begin(c, budget, ret_err)) < 0)
		return r;
	if ((set = mailimap_set_new_single(uid)) == NULL)
		fatalx("mailimap_set_new_single");
	r = mailimap_uid_fetch(c->imap, set, ft, ret);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "UID FETCH", ret_err);
	return 0;
}

/* The static attribute of type `type` for UID uid in a fetch result, or
 * NULL (servers may add unsolicited FETCH responses for other messages). */
static struct mailimap_msg_att_static *
imap_find_att(clist *result, uint32_t uid, int type)
{
	clistiter *m, *i;

	for (m = clist_begin(result); m != NULL; m = clist_next(m)) {
		struct mailimap_msg_att *att = clist_content(m);
		struct mailimap_msg_att_static *found = NULL;
		uint32_t att_uid = 0;

		for (i = clist_begin(att->att_list); i != NULL;
		    i = clist_next(i)) {
			struct mailimap_msg_att_item *item = clist_content(i);
			struct mailimap_msg_att_static *st;

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC ||
			    (st = item->att_data.att_static) == NULL)
				continue;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				att_uid = st->att_data.att_uid;
			if (st->att_type == type)
				found = st;
		}
		if (att_uid == uid && found != NULL)
			return found;
	}
	return NULL;
}

/* RFC822.SIZE of uid. Returns 0, -ENOENT or another negative errno. */
static int
imap_fetch_size(struct imap_conn *c, uint32_t uid, uint32_t *ret_size,
    char **ret_err)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_msg_att_static *st;
	clist *result = NULL;
	int r;

	if ((ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != MAILIMAP_NO_ERROR)
		fatalx("mailimap fetch type");
	if ((r = imap_uid_fetch(c, uid, ft, IMAP_BUDGET, &result,
	    ret_err)) < 0)
		goto out;
	if ((st = imap_find_att(result, uid, MAILIMAP_MSG_ATT_RFC822_SIZE)) ==
	    NULL) {
		*ret_err = xasprintf("no message with UID %u on %s", uid,
		    c->host);
		r = -ENOENT;
		goto out;
	}
	*ret_size = st->att_data.att_rfc822_size;
	r = 0;
out:
	if (result != NULL)
		mailimap_fetch_list_free(result);
	mailimap_fetch_type_free(ft);
	return r;
}

int
imap_fetch(struct imap_conn *c, uint32_t uid, size_t max, char **ret,
    size_t *ret_len, char **ret_err)
{
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_section *section;
	struct mailimap_msg_att_static *st;
	clist *result = NULL;
	uint32_t size;
	size_t budget;
	char *body;
	int r;

	if ((r = imap_fetch_size(c, uid, &size, ret_err)) < 0)
		return r;
	if (size > max) {
		*ret_err = xasprintf("message UID %u on %s is %u bytes, more "
		    "than %zu", uid, c->host, size, max);
		return -EFBIG;
	}
	/* the section is taken by the attribute, the attribute by ft */
	if ((section = mailimap_section_new(NULL)) == NULL ||
	    (ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(section)) !=
	    MAILIMAP_NO_ERROR)
		fatalx("mailimap fetch type");
	budget = max > IMAP_BUDGET - IMAP_SLACK ? max + IMAP_SLACK :
	    IMAP_BUDGET;
	if ((r = imap_uid_fetch(c, uid, ft, budget, &result, ret_err)) < 0)
		goto out;
	st = imap_find_att(result, uid, MAILIMAP_MSG_ATT_BODY_SECTION);
	if (st == NULL || st->att_data.att_body_section == NULL ||
	    st->att_data.att_body_section->sec_body_part == NULL) {
		*ret_err = xasprintf("no message with UID %u on %s", uid,
		    c->host);
		r = -ENOENT;
		goto out;
	}
	if (st->att_data.att_body_section->sec_length > max) {
		*ret_err = xasprintf("message UID %u on %s is larger than %zu",
		    uid, c->host, max);
		r = -EFBIG;
		goto out;
	}
	body = xmalloc(st->att_data.att_body_section->sec_length + 1);
	memcpy(body, st->att_data.att_body_section->sec_body_part,
	    st->att_data.att_body_section->sec_length);
	body[st->att_data.att_body_section->sec_length] = '\0';
	*ret = body;
	*ret_len = st->att_data.att_body_section->sec_length;
	r = 0;
out:
	if (result != NULL)
		mailimap_fetch_list_free(result);
	mailimap_fetch_type_free(ft);
	return r;
}

/* The entry of uid in hs (sorted by uid), or NULL. */
static struct imap_hdr *
imap_hdr_slot(struct imap_hdr *hs, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (hs[mid].uid == uid)
			return &hs[mid];
		if (hs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Copies what one FETCH response says about a message into its slot. */
static void
imap_hdr_take(struct imap_hdr *hs, size_t n, struct mailimap_msg_att *att,
    size_t max_each)
{
	struct mailimap_msg_att_body_section *sec = NULL;
	struct imap_hdr *h;
	clistiter *i;
	uint32_t uid = 0, size = 0;
	bool has_size = false;

	for (i = clist_begin(att->att_list); i != NULL; i = clist_next(i)) {
		struct mailimap_msg_att_item *item = clist_content(i);
		struct mailimap_msg_att_static *st;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC ||
		    (st = item->att_data.att_static) == NULL)
			continue;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE) {
			size = st->att_data.att_rfc822_size;
			has_size = true;
		} else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
			sec = st->att_data.att_body_section;
	}
	if ((h = imap_hdr_slot(hs, n, uid)) == NULL || h->found || !has_size ||
	    sec == NULL)
		return;         /* unsolicited, repeated or incomplete */
	h->found = true;
	h->size = size;
	if (sec->sec_body_part == NULL || sec->sec_length > max_each)
		return;         /* data NULL: the caller reads it whole */
	h->data = xmalloc(sec->sec_length + 1);
	memcpy(h->data, sec->sec_body_part, sec->sec_length);
	h->data[sec->sec_length] = '\0';
	h->len = sec->sec_length;
}

int
imap_fetch_headers(struct imap_conn *c, const uint32_t *uids, size_t n,
    const char *const *fields, size_t max_each, struct imap_hdr **ret,
    char **ret_err)
{
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_section *section;
	struct mailimap_set *set = NULL;
	struct imap_hdr *hs;
	clist *names = NULL, *result = NULL;
	clistiter *it;
	size_t i, budget;
	int r;

	hs = xcalloc(n ? n : 1, sizeof(*hs));
	for (i = 0; i < n; i++)
		hs[i].uid = uids[i];
	if (n == 0)
		goto done;
	if (fields != NULL && (names = clist_new()) == NULL)
		fatalx("clist_new");
	for (i = 0; fields != NULL && fields[i] != NULL; i++)
		if (clist_append(names, xstrdup(fields[i])) < 0)
			fatalx("clist_append");
	/* the names are taken by the list, the list by the section, the
	 * section by the attribute, the attribute by ft */
	if ((section = names == NULL ? mailimap_section_new(NULL) :
	    mailimap_section_new_header_fields(
	    mailimap_header_list_new(names))) == NULL ||
	    (ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(section)) !=
	    MAILIMAP_NO_ERROR)
		fatalx("mailimap fetch type");
	/* the UIDs as ranges of consecutive ones */
	if ((set = mailimap_set_new_empty()) == NULL)
		fatalx("mailimap_set_new_empty");
	for (i = 0; i < n; ) {
		size_t k = i;

		while (k + 1 < n && uids[k + 1] == uids[k] + 1)
			k++;
		if (mailimap_set_add_interval(set, uids[i], uids[k]) !=
		    MAILIMAP_NO_ERROR)
			fatalx("mailimap_set_add_interval");
		i = k + 1;
	}
	budget = n * (max_each + 256) + IMAP_SLACK;
	if (budget > IMAP_BUDGET + IMAP_SLACK)
		budget = IMAP_BUDGET + IMAP_SLACK;
	if ((r = imap_begin(c, budget, ret_err)) < 0)
		goto out;
	if ((r = mailimap_uid_fetch(c->imap, set, ft, &result)) !=
	    MAILIMAP_NO_ERROR) {
		r = imap_error(c, r, "UID FETCH", ret_err);
		goto out;
	}
	for (it = clist_begin(result); it != NULL; it = clist_next(it))
		imap_hdr_take(hs, n, clist_content(it), max_each);
done:
	*ret = hs;
	hs = NULL;
	r = 0;
out:
	imap_hdrs_free(hs, n);
	if (result != NULL)
		mailimap_fetch_list_free(result);
	if (set != NULL)
		mailimap_set_free(set);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	return r;
}

void
imap_hdrs_free(struct imap_hdr *hs, size_t n)
{
	size_t i;

	if (hs == NULL)
		return;
	for (i = 0; i < n; i++)
		free(hs[i].data);
	free(hs);
}

/* ---- writing ------------------------------------------------------------- */

/* One flag word ("\\Seen", "$Label") as a libetpan flag, or NULL when it
 * is not a valid flag. */
static struct mailimap_flag *
imap_flag(const char *w)
{
	static const char *const system[] = { "\\Answered", "\\Flagged",
	    "\\Deleted", "\\Seen", "\\Draft" };
	const char *p;
	size_t i;

	if (w[0] == '\\') {
		for (i = 0; i < nitems(system); i++)
			if (strcasecmp(w, system[i]) == 0)
				break;
		switch (i) {
		case 0: return mailimap_flag_new_answered();
		case 1: return mailimap_flag_new_flagged();
		case 2: return mailimap_flag_new_deleted();
		case 3: return mailimap_flag_new_seen();
		case 4: return mailimap_flag_new_draft();
		default: return NULL;
		}
	}
	for (p = w; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("(){%*\"\\]", *p) != NULL)
			return NULL;
	return mailimap_flag_new_flag_keyword(xstrdup(w));
}

/* Parses space-separated flags into a new list. Returns 0 or -EINVAL. */
static int
imap_flag_list(const char *flags, struct mailimap_flag_list **ret,
    char **ret_err)
{
	struct mailimap_flag_list *list;
	struct mailimap_flag *f;
	char *copy, *w, *save = NULL;
	int r = 0;

	if ((list = mailimap_flag_list_new_empty()) == NULL)
		fatalx("mailimap_flag_list_new_empty");
	copy = xstrdup(flags ? flags : "");
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if ((f = imap_flag(w)) == NULL) {
			*ret_err = xasprintf("not an IMAP flag: '%s'", w);
			r = -EINVAL;
			break;
		}
		/* the list takes f */
		if (mailimap_flag_list_add(list, f) != MAILIMAP_NO_ERROR)
			fatalx("mailimap_flag_list_add");
	}
	free(copy);
	if (r < 0) {
		mailimap_flag_list_free(list);
		return r;
	}
	*ret = list;
	return 0;
}

int
imap_append(struct imap_conn *c, const char *mailbox, const char *flags,
    const char *raw, size_t len, char **ret_err)
{
	struct mailimap_flag_list *list = NULL;
	int r;

	if ((r = imap_check_arg("mailbox name", mailbox, ret_err)) < 0)
		return r;
	if (flags != NULL && str_has_ctl(flags, false)) {
		*ret_err = xstrdup("refusing flags with control characters");
		return -EINVAL;
	}
	if ((r = imap_flag_list(flags, &list, ret_err)) < 0)
		return r;
	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		goto out;
	if ((r = mailimap_append(c->imap, mailbox, list, NULL, raw, len)) !=
	    MAILIMAP_NO_ERROR) {
		r = imap_error(c, r, "APPEND", ret_err);
		goto out;
	}
	r = 0;
out:
	mailimap_flag_list_free(list);
	return r;
}

/* ---- waiting ------------------------------------------------------------- */

int
imap_idle_start(struct imap_conn *c, char **ret_err)
{
	int r;

	if (!c->has_idle) {
		*ret_err = xasprintf("%s does not offer IDLE", c->host);
		return -EOPNOTSUPP;
	}
	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	if ((r = mailimap_idle(c->imap)) != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "IDLE", ret_err);
	c->idling = true;
	return 0;
}

int
imap_fd(struct imap_conn *c)
{
	return c->io != NULL ? c->io->fd : -1;
}

bool
imap_idle_ready(struct imap_conn *c)
{
	if (c->broken || c->imap->imap_stream == NULL)
		return false;
	return c->imap->imap_stream->read_buffer_len > 0 ||
	    (c->io->tls != NULL && gnutls_record_check_pending(c->io->tls) > 0);
}

int
imap_idle_done(struct imap_conn *c, bool *ret_new_mail, char **ret_err)
{
	struct mailimap_selection_info *sel;
	int r;

	if (!c->idling) {
		*ret_err = xstrdup("not idling");
		return -EINVAL;
	}
	c->idling = false;
	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	/* DONE, then the responses that came while idling up to the tagged
	 * OK; libetpan notes EXISTS and RECENT in the selection info */
	if ((r = mailimap_idle_done(c->imap)) != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "IDLE", ret_err);
	sel = c->imap->imap_selection_info;
	*ret_new_mail = sel != NULL && (sel->sel_has_exists ||
	    sel->sel_has_recent);
	return 0;
}

/* What one line the server sent during IDLE asks of us. */
enum idle_line {
	IDLE_QUIET,             /* a keepalive, or nothing to act on */
	IDLE_NEW_MAIL,          /* EXISTS or RECENT */
	IDLE_OTHER              /* anything else: IDLE ends, DONE reads on */
};

static enum idle_line
imap_idle_line(const char *line)
{
	size_t len = strlen(line);
	const char *p;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* a literal follows: not ours to read here */
	if (len == 0 || line[len - 1] == '}' || strncmp(line, "* ", 2) != 0)
		return IDLE_OTHER;
	p = line + 2;
	if (strncasecmp(p, "OK", 2) == 0 && (p + 2 == line + len || p[2] == ' '))
		return IDLE_QUIET;
	if (*p < '0' || *p > '9')
		return IDLE_OTHER;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncasecmp(p, " EXISTS", 7) == 0 || strncasecmp(p, " RECENT", 7) == 0)
		return IDLE_NEW_MAIL;
	if (strncasecmp(p, " EXPUNGE", 8) == 0 || strncasecmp(p, " FETCH ", 7) == 0)
		return IDLE_QUIET;
	return IDLE_OTHER;
}

int
imap_idle_read(struct imap_conn *c, bool *ret_end, bool *ret_new_mail,
    char **ret_err)
{
	enum idle_line what;
	int n = 0;
	char *line;

	*ret_end = *ret_new_mail = false;
	if (!c->idling) {
		*ret_err = xstrdup("not idling");
		return -EINVAL;
	}
	if (c->broken || c->imap->imap_stream == NULL) {
		*ret_err = xasprintf("connection to %s was lost", c->host);
		return -ENOTCONN;
	}
	/* The byte budget is the one IDLE started with: a server that
	 * talks without end runs it out and the connection is replaced. */
	do {
		c->io->err = 0;
		if ((line = mailimap_read_line(c->imap)) == NULL)
			return imap_error(c, MAILIMAP_ERROR_STREAM, "IDLE",
			    ret_err);
		what = imap_idle_line(line);
		if (what == IDLE_NEW_MAIL)
			*ret_new_mail = true;
		if (what != IDLE_QUIET)
			*ret_end = true;
	} while (!*ret_end && ++n < IDLE_LINES_MAX && imap_idle_ready(c));
	if (n == IDLE_LINES_MAX)
		*ret_end = true;        /* DONE reads the rest */
	return 0;
}

long
imap_set_timeout(struct imap_conn *c, long seconds)
{
	long old;

	if (c == NULL || c->io == NULL)
		return 0;
	old = c->io->timeout_ms / 1000;
	c->io->timeout_ms = (int)(seconds > 0 ? seconds * 1000 : 1000);
	if (c->io->tls != NULL)
		gnutls_record_set_timeout(c->io->tls,
		    (unsigned)c->io->timeout_ms);
	return old;
}

int
imap_noop(struct imap_conn *c, char **ret_err)
{
	int r;

	if ((r = imap_begin(c, IMAP_BUDGET, ret_err)) < 0)
		return r;
	if ((r = mailimap_noop(c->imap)) != MAILIMAP_NO_ERROR)
		return imap_error(c, r, "NOOP", ret_err);
	return 0;
}
