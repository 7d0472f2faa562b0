/*
 * inbox.c - the inbox: new UIDs in order, in batches. The header
 * fields of a batch come in one UID FETCH and are read in one parse child;
 * a message that concerns us (from or in reply to a contact or one of our
 * messages, a bounce or report, an automatic reply to the user, a
 * calendar) is then fetched whole, parsed in a child (three failures
 * quarantine it) and handed to react.c (classified, matched to a contact,
 * reacted to) in the transaction that records it and advances the last
 * UID seen. The rest only advances the last UID seen.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "mime.h"
#include "notify.h"
#include "react.h"
#include "sched_int.h"
#include "util.h"

/* ---- the inbox ----------------------------------------------------------- */

/* Records a UID as done (with its inbound row when there is one). */
static int
advance(struct sched *s, uint32_t uidvalidity, uint32_t uid)
{
	const char *box = s->cfg->imap.inbox;

	if (store_quarantine_clear(s->st, box, uidvalidity, uid) < 0)
		return -EIO;
	return store_mailbox_set(s->st, box, uidvalidity, uid);
}

/* Parses in a child; three failures quarantine the message. Returns 0
 * with *ret, -EBADMSG when it is to be skipped, or the store's error when
 * the attempt could not be counted. */
static int
parse_guarded(struct sched *s, uint32_t uidvalidity, uint32_t uid,
    const char *raw, size_t len, struct inmsg **ret)
{
	const char *box = s->cfg->imap.inbox;
	int attempts = 0, r;

	if ((r = store_quarantine_attempts(s->st, box, uidvalidity, uid,
	    &attempts)) < 0)
		return r;
	while (attempts < PARSE_ATTEMPTS) {
		char *err = NULL;

		/* Only a failed parse counts. The parse runs in a child, so a
		 * message cannot take the daemon down with it; and a message
		 * that parsed but could not be recorded (a full disk) must
		 * never be skipped as if it were broken. */
		attempts++;
		if ((r = mime_parse_isolated(raw, len, ret, &err)) == 0)
			return 0;
		log_warnx("message UID %u: cannot parse (%s), attempt %d of %d",
		    uid, err ? err : strerror(-r), attempts, PARSE_ATTEMPTS);
		r = STORE_TX(s->st, store_quarantine_bump(s->st, box, uidvalidity,
		    uid, err ? err : strerror(-r)));
		free(err);
		if (r < 0)
			return r;
	}
	log_error("message UID %u quarantined after %d failed attempts; left "
	    "in the mailbox untouched", uid, PARSE_ATTEMPTS);
	return -EBADMSG;
}

/* "<noid.HASH.LEN@infoviewd>" from the message bytes (FNV-1a 64). */
static char *
content_key(const char *raw, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)raw[i];
		h *= 0x100000001b3ULL;
	}
	return xasprintf("<noid.%016llx.%zu@infoviewd>", (unsigned long long)h,
	    len);
}

/* Records a message (and what the reaction did, in a savepoint of the
 * same transaction: a failed reaction is undone, the message is kept) and
 * advances past its UID. Returns 0 or a negative errno. */
static int
record_uid(struct sched *s, const struct inmsg *m, uint32_t uidvalidity,
    uint32_t uid)
{
	struct inbound_new in = { 0 };
	struct reaction re = { 0 };
	int r;

	if ((r = STORE_TX(s->st, react_message(s, m, &re))) < 0) {
		if (store_unwritable(r))
			goto out;
		log_warnx("message UID %u from %s: reaction failed (%s); recorded "
		    "without it", uid, m->from_addr ? m->from_addr : "?",
		    strerror(-r));
	}
	in.contact_id = re.contact_id;
	in.mailbox = s->cfg->imap.inbox;
	in.uidvalidity = uidvalidity;
	in.uid = uid;
	in.message_id = m->message_id;
	in.from_addr = m->from_addr;
	in.subject = m->subject;
	in.at = m->date ? m->date : util_now();
	in.cls = re.cls;
	in.intent = re.intent;
	in.snippet = re.snippet;
	if ((r = store_inbound_add(s->st, &in)) == 0)
		r = advance(s, uidvalidity, uid);
out:
	free(re.snippet);
	return r;
}

/* Fetches, parses and reacts to one new message. <0 when the connection
 * failed or the store cannot record: the UID is tried again later, and
 * nothing after it is read before. */
static int
process_uid(struct sched *s, uint32_t uidvalidity, uint32_t uid)
{
	struct inmsg *m = NULL;
	char *raw = NULL, *err = NULL;
	size_t len = 0;
	int attempts = 0, r;

	if ((r = store_quarantine_attempts(s->st, s->cfg->imap.inbox,
	    uidvalidity, uid, &attempts)) < 0)
		goto out;
	if (attempts >= PARSE_ATTEMPTS) {
		r = STORE_TX(s->st, advance(s, uidvalidity, uid));
		goto out;
	}
	r = imap_fetch(s->imap, uid, MIME_MAX_MESSAGE, &raw, &len, &err);
	if (r == -EFBIG) {
		log_warnx("message UID %u is larger than %u bytes; skipped", uid,
		    MIME_MAX_MESSAGE);
		r = STORE_TX(s->st, advance(s, uidvalidity, uid));
		goto out;
	}
	if (r < 0) {
		conn_imap_lost(s, "FETCH", err);
		goto out;
	}
	if ((r = parse_guarded(s, uidvalidity, uid, raw, len, &m)) < 0) {
		if (r == -EBADMSG)
			r = STORE_TX(s->st, store_mailbox_set(s->st,
			    s->cfg->imap.inbox, uidvalidity, uid));
		goto out;
	}
	if (str_empty(m->message_id)) {
		/* No Message-ID: a key from the bytes, so a re-read after a
		 * UIDVALIDITY change still recognises the message. */
		free(m->message_id);
		m->message_id = content_key(raw, len);
	}
	if ((r = store_inbound_known(s->st, m->message_id)) == 1) {
		log_debug("message UID %u already seen (%s)", uid, m->message_id);
		r = STORE_TX(s->st, advance(s, uidvalidity, uid));
		goto out;
	}
	if (r == 0)
		r = STORE_TX(s->st, record_uid(s, m, uidvalidity, uid));
out:
	if (r < 0 && s->imap != NULL) {
		if (store_unwritable(r))
			log_error("%s: cannot record message UID %u: %s",
			    store_path(s->st), uid, store_errmsg(s->st));
		else {
			log_warnx("message UID %u: cannot record it: %s", uid,
			    store_errmsg(s->st));
			r = 0;          /* skipped, as a broken message is */
		}
	}
	mime_inmsg_free(m);
	free(raw);
	free(err);
	return r < 0 ? r : 0;
}

/* ---- what concerns us: the header filter --------------------------------- */

#define HDR_BATCH       2000            /* UIDs per header fetch */
#define HDR_MAX         (16 * 1024)     /* larger header fields: read whole */
#define WHOLE_BYTES     (16u * 1024 * 1024)  /* whole messages per FETCH */

/* Every field the decision below (and classify_message's bounce and
 * automatic-reply tests) reads. */
static const char *const filter_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Message-ID",
	"In-Reply-To", "References", "Content-Type", "Return-Path",
	"Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Autoresponder",
	"Precedence", "X-Failed-Recipients", NULL,
};

/* True when a header value names a contact's address ("a@b", "N <a@b>",
 * several of them). */
static bool
names_contact(struct sched *s, const char *v)
{
	const char *p = v;
	bool found = false;

	while (p != NULL && *p != '\0' && !found) {
		size_t skip = strspn(p, "<>,;\" \t"), n;
		const char *w = p + skip;
		struct contact *c = NULL;
		char *addr;

		n = strcspn(w, "<>,;\" \t");
		if (n == 0) {
			p = *w ? w + 1 : NULL;
			continue;
		}
		if (memchr(w, '@', n) != NULL && n < 320) {
			addr = str_lower(xstrndup(w, n));
			if (store_contact_find(s->st, addr, &c) == 0) {
				found = true;
				store_contact_free(c);
			}
			free(addr);
		}
		p = w + n;
	}
	return found;
}

/* True when an address of the user's is among the recipients. */
static bool
to_user(struct sched *s, const struct inmsg *h)
{
	const char *to = mime_inmsg_header(h, "To"),
	    *cc = mime_inmsg_header(h, "Cc");
	const char *own = s->cfg->identity.email;

	return (to != NULL && strcasestr(to, own) != NULL) ||
	    (cc != NULL && strcasestr(cc, own) != NULL);
}

/* An automatic reply by its headers (RFC 3834 and the common X- ones);
 * Precedence alone (bulk, list) is what newsletters say. */
static bool
auto_reply(const struct inmsg *h, const struct classification *cl)
{
	const char *v = mime_inmsg_header(h, "Auto-Submitted");

	while (v != NULL && (*v == ' ' || *v == '\t'))
		v++;
	if (v != NULL && *v != '\0' && strncasecmp(v, "no", 2) == 0 &&
	    !isalpha((unsigned char)v[2]))
		v = NULL;
	if ((v != NULL && *v != '\0') || mime_inmsg_header(h, "X-Autoreply") ||
	    mime_inmsg_header(h, "X-Autorespond") || mime_inmsg_header(h, "X-Autoresponder"))
		return true;
	return cl->cls == MSG_AUTOREPLY && mime_inmsg_header(h, "Precedence") == NULL;
}

/*
 * Whether a message, by its header fields only, may concern us: then it is
 * read whole. It must say yes to everything react_message acts on: mail
 * matched to a contact by react_match_contact (the same fields, read the
 * same way, the same lookups), and from strangers a bounce or a complaint. Those are
 * known by their header fields (a multipart/report, a null Return-Path,
 * X-Failed-Recipients, or what classify_message says of the fields alone:
 * a mailer-daemon sender, a bounce subject). It also says yes to
 * automatic replies to the user, calendars of anyone, and a contact as
 * Sender or Reply-To, and to notifications from Amazon SES/SNS (whose
 * complaints are known by their JSON text). Passed over: a delivery
 * report nested inside another container, or one whose only sign is a
 * Final-Recipient line in its plain text, from a sender, subject and
 * return path that look like none of these.
 */
static bool
concerns(struct sched *s, const struct inmsg *h)
{
	struct classify_ctx ctx = { 0 };
	struct classification cl = { 0 };
	const char *own = s->cfg->identity.email, *v;
	bool yes, by_thread;

	if (!str_empty(h->from_addr) && strcasecmp(h->from_addr, own) == 0)
		return false;           /* react_message leaves our own mail */
	/* a contact (or a store error: read whole, the reaction retries) */
	if (react_match_contact(s, h, &by_thread) != 0 ||
	    names_contact(s, mime_inmsg_header(h, "Sender")) ||
	    names_contact(s, mime_inmsg_header(h, "Reply-To")))
		return true;
	if (strcmp(h->content_type, "text/calendar") == 0 ||
	    strcmp(h->content_type, "application/ics") == 0 ||
	    strcmp(h->content_type, "multipart/report") == 0 ||
	    mime_inmsg_header(h, "X-Failed-Recipients") != NULL)
		return true;
	if (!str_empty(h->from_addr) && ((v = strrchr(h->from_addr, '@')) !=
	    NULL) && (strcmp(v, "@sns.amazonaws.com") == 0 ||
	    strcmp(v, "@amazonses.com") == 0 ||
	    (strlen(v) > 14 && strcmp(v + strlen(v) - 14, ".amazonses.com") == 0)))
		return true;            /* SES notifications (JSON) */
	if ((v = mime_inmsg_header(h, "Return-Path")) != NULL &&
	    strcmp(v + strspn(v, " "), "<>") == 0)
		return true;            /* the null sender of a notification */
	ctx.now = util_now();
	ctx.own_addr = own;
	ctx.contact_tz = plan_contact_zone(s->cfg, NULL);
	ctx.class_only = true;
	if (classify_message(h, &ctx, &cl) < 0)
		return true;
	yes = cl.cls == MSG_BOUNCE || cl.cls == MSG_COMPLAINT ||
	    cl.cls == MSG_REPORT || (to_user(s, h) && auto_reply(h, &cl));
	classify_done(&cl);
	return yes;
}

/* Records UIDs up to uid as seen: nothing in them concerns us. */
static int
skip_upto(struct sched *s, uint32_t uidvalidity, uint32_t uid)
{
	return STORE_TX(s->st, store_mailbox_set(s->st, s->cfg->imap.inbox,
	    uidvalidity, uid));
}

/* Decides for each of n UIDs whether to read it whole (true) from their
 * header fields; when a header cannot be had or read, it is read whole. */
static void
decide(struct sched *s, const uint32_t *uids, const struct imap_hdr *hs,
    size_t n, bool *whole)
{
	struct inmsg **hm = xcalloc(n, sizeof(*hm));
	const char **raws = xcalloc(n, sizeof(*raws));
	size_t *lens = xcalloc(n, sizeof(*lens)), *idx = xcalloc(n, sizeof(*idx));
	struct inmsg **got = xcalloc(n, sizeof(*got));
	size_t i, nh = 0;
	char *err = NULL;
	bool tx;

	for (i = 0; i < n; i++)
		if (hs[i].found && hs[i].data != NULL) {
			raws[nh] = hs[i].data;
			lens[nh] = hs[i].len;
			idx[nh++] = i;
		}
	if (nh > 0 && mime_parse_many_isolated(raws, lens, nh, true, got,
	    &err) < 0)
		log_warnx("header fields of UIDs %u-%u unreadable (%s); reading "
		    "those messages whole", uids[0], uids[n - 1],
		    err ? err : "parse error");
	for (i = 0; i < nh; i++)
		hm[idx[i]] = got[i];
	tx = store_tx_begin(s->st) == 0;        /* one lock for all lookups */
	for (i = 0; i < n; i++)
		whole[i] = hm[i] == NULL || concerns(s, hm[i]);
	if (tx)
		(void)store_tx_end(s->st, 0);   /* nothing written to keep */
	for (i = 0; i < n; i++)
		mime_inmsg_free(hm[i]);
	free(hm);
	free(raws);
	free(lens);
	free(idx);
	free(got);
	free(err);
}

/* One at a time, as a batch that cannot be read together is: each message
 * that concerns us in order, the runs between them recorded as seen. */
static int
batch_one_by_one(struct sched *s, uint32_t uidvalidity, const uint32_t *uids,
    const bool *whole, size_t n, volatile int *stop)
{
	uint32_t skipped = 0;
	size_t i;
	int r = 0;

	for (i = 0; i < n && !*stop && r == 0; i++) {
		if (!whole[i]) {
			skipped = uids[i];
			continue;
		}
		if (skipped != 0 && (r = skip_upto(s, uidvalidity, skipped)) < 0)
			break;
		skipped = 0;
		r = process_uid(s, uidvalidity, uids[i]);
	}
	if (r == 0 && skipped != 0)
		r = skip_upto(s, uidvalidity, skipped);
	return r;
}

/* Records one message read whole, inside the batch's transaction (its
 * reaction in a savepoint of its own: record_uid). <0 only when the record
 * could not be written. */
static int
record_one(struct sched *s, uint32_t uidvalidity, uint32_t uid,
    const char *raw, size_t len, struct inmsg *m)
{
	int r;

	if (str_empty(m->message_id)) {
		free(m->message_id);
		m->message_id = content_key(raw, len);
	}
	if ((r = store_inbound_known(s->st, m->message_id)) == 1) {
		log_debug("message UID %u already seen (%s)", uid, m->message_id);
		return advance(s, uidvalidity, uid);
	}
	return r < 0 ? r : record_uid(s, m, uidvalidity, uid);
}

/* The messages that concern us in a batch, read whole together. */
struct wholes {
	size_t n;
	size_t *at;                     /* index in the batch */
	const char **raws;
	size_t *lens;
	struct imap_hdr **bodies;       /* one fetch result per chunk */
	size_t *chunk_n;
	size_t n_chunks;
	struct inmsg **ms;
};

static void
wholes_free(struct wholes *w)
{
	size_t i;

	for (i = 0; i < w->n_chunks; i++)
		imap_hdrs_free(w->bodies[i], w->chunk_n[i]);
	for (i = 0; w->ms != NULL && i < w->n; i++)
		mime_inmsg_free(w->ms[i]);
	free(w->at);
	free(w->raws);
	free(w->lens);
	free(w->bodies);
	free(w->chunk_n);
	free(w->ms);
}

/* Fetches the messages of w whole, in chunks of at most WHOLE_BYTES.
 * -EAGAIN when one is missing, <0 when the connection failed. */
static int
wholes_fetch(struct sched *s, const uint32_t *uids, const struct imap_hdr *hs,
    struct wholes *w)
{
	uint32_t *cu = xcalloc(w->n, sizeof(*cu));
	size_t i = 0, k, j;
	char *err = NULL;
	int r = 0;

	w->bodies = xcalloc(w->n, sizeof(*w->bodies));
	w->chunk_n = xcalloc(w->n, sizeof(*w->chunk_n));
	while (i < w->n && r == 0) {
		size_t bytes = 0, nc = 0;
		struct imap_hdr *b = NULL;

		for (k = i; k < w->n && (nc == 0 || bytes +
		    hs[w->at[k]].size <= WHOLE_BYTES); k++) {
			bytes += hs[w->at[k]].size;
			cu[nc++] = uids[w->at[k]];
		}
		if (imap_fetch_headers(s->imap, cu, nc, NULL, MIME_MAX_MESSAGE,
		    &b, &err) < 0) {
			conn_imap_lost(s, "FETCH", err);
			r = -EIO;
			break;
		}
		w->bodies[w->n_chunks] = b;
		w->chunk_n[w->n_chunks++] = nc;
		for (j = 0; j < nc; j++) {
			if (!b[j].found || b[j].data == NULL) {
				r = -EAGAIN;
				break;
			}
			w->raws[i + j] = b[j].data;
			w->lens[i + j] = b[j].len;
		}
		i = k;
	}
	free(cu);
	free(err);
	return r;
}

/* Records the messages of a batch read whole and the batch's last UID. */
static int
record_all(struct sched *s, uint32_t uidvalidity, const uint32_t *uids,
    size_t n, const struct wholes *w)
{
	size_t j;
	int r = 0;

	for (j = 0; j < w->n && r >= 0; j++)
		r = record_one(s, uidvalidity, uids[w->at[j]], w->raws[j],
		    w->lens[j], w->ms[j]);
	if (r >= 0)
		r = store_mailbox_set(s->st, s->cfg->imap.inbox, uidvalidity,
		    uids[n - 1]);
	return r;
}

/* Reads the messages of a batch that concern us whole, in one FETCH (or a
 * few) and one parse child, and records them and the batch's last UID in
 * one transaction. -EAGAIN when they are to be read one at a time
 * instead: a header missing, a parse that failed, or a message tried
 * before (its attempts are counted one message at a time). */
static int
batch_together(struct sched *s, uint32_t uidvalidity, const uint32_t *uids,
    const struct imap_hdr *hs, const bool *whole, size_t n)
{
	const char *box = s->cfg->imap.inbox;
	struct wholes w = { 0 };
	size_t i, j;
	char *err = NULL;
	int r = 0, attempts;

	w.at = xcalloc(n, sizeof(*w.at));
	for (i = 0; i < n; i++) {
		if (!whole[i])
			continue;
		attempts = 0;
		if (store_quarantine_attempts(s->st, box, uidvalidity, uids[i],
		    &attempts) < 0)
			attempts = 1;   /* unknown: one by one, each counted */
		if (!hs[i].found || hs[i].size > MIME_MAX_MESSAGE || attempts > 0) {
			r = -EAGAIN;
			goto out;
		}
		w.at[w.n++] = i;
	}
	w.raws = xcalloc(w.n + 1, sizeof(*w.raws));
	w.lens = xcalloc(w.n + 1, sizeof(*w.lens));
	w.ms = xcalloc(w.n + 1, sizeof(*w.ms));
	if (w.n > 0) {
		if ((r = wholes_fetch(s, uids, hs, &w)) < 0)
			goto out;
		/* Nothing is counted here: a failure is retried one message
		 * at a time, where each failed parse counts (parse_guarded). */
		if (mime_parse_many_isolated(w.raws, w.lens, w.n, false, w.ms,
		    &err) < 0) {
			log_warnx("messages UID %u-%u: cannot parse them together "
			    "(%s); one at a time", uids[0], uids[n - 1],
			    err ? err : "parse error");
			r = -EAGAIN;
			goto out;
		}
		for (j = 0; j < w.n; j++)
			if (w.ms[j] == NULL) {
				r = -EAGAIN;
				goto out;
			}
	}
	if ((r = STORE_TX(s->st, record_all(s, uidvalidity, uids, n, &w))) < 0) {
		log_warnx("messages UID %u-%u: cannot record them together: %s%s",
		    uids[0], uids[n - 1], store_errmsg(s->st),
		    store_unwritable(r) ? "" : "; one at a time");
		if (!store_unwritable(r))
			r = -EAGAIN;
	}
out:
	wholes_free(&w);
	free(err);
	return r;
}

/* One batch of new UIDs: header fields, the filter, then the messages
 * that concern us, together when they can be, else one at a time.
 * <0 when the connection failed or a record could not be written. */
static int
process_batch(struct sched *s, uint32_t uidvalidity, const uint32_t *uids,
    size_t n, volatile int *stop)
{
	struct imap_hdr *hs = NULL;
	bool *whole = NULL;
	size_t i, nwhole = 0;
	char *err = NULL;
	int r;

	if (imap_fetch_headers(s->imap, uids, n, filter_fields, HDR_MAX, &hs,
	    &err) < 0) {
		conn_imap_lost(s, "FETCH", err);
		free(err);
		return -EIO;
	}
	whole = xcalloc(n, sizeof(*whole));
	decide(s, uids, hs, n, whole);
	for (i = 0; i < n; i++)
		nwhole += whole[i];
	log_debug("UIDs %u-%u: %zu of %zu read whole", uids[0], uids[n - 1],
	    nwhole, n);
	r = batch_together(s, uidvalidity, uids, hs, whole, n);
	imap_hdrs_free(hs, n);
	if (r == -EAGAIN && s->imap != NULL)
		r = batch_one_by_one(s, uidvalidity, uids, whole, n, stop);
	free(whole);
	return r;
}

/* Catches up on everything since the last UID seen. */
void
inbox_sync(struct sched *s, volatile int *stop)
{
	const char *box = s->cfg->imap.inbox;
	uint32_t uidvalidity, uidnext, known_validity, last_uid;
	uint32_t *uids = NULL;
	size_t n = 0, i;
	char *err = NULL, stamp[32];

	if (conn_imap_ready(s) < 0)
		return;
	if (imap_examine(s->imap, box, &uidvalidity, &uidnext, &err) < 0) {
		conn_imap_lost(s, "EXAMINE", err);
		goto out;
	}
	if (store_mailbox_get(s->st, box, &known_validity, &last_uid) < 0) {
		/* First start: the mailbox's history is not ours to read. */
		log_info("watching %s from UID %u on (earlier mail left alone)",
		    box, uidnext);
		if (STORE_TX(s->st, store_mailbox_set(s->st, box, uidvalidity,
		    uidnext > 0 ? uidnext - 1 : 0)) < 0) {
			log_error("%s: cannot record the inbox position: %s",
			    store_path(s->st), store_errmsg(s->st));
			goto out;
		}
		last_uid = uidnext > 0 ? uidnext - 1 : 0;
		known_validity = uidvalidity;
	}
	if (known_validity != uidvalidity) {
		log_warnx("%s UIDVALIDITY changed (%u -> %u); re-reading it, "
		    "skipping messages already seen by Message-ID", box,
		    known_validity, uidvalidity);
		last_uid = 0;
	}
	if (imap_uids_after(s->imap, last_uid, &uids, &n, &err) < 0) {
		conn_imap_lost(s, "SEARCH", err);
		goto out;
	}
	for (i = 0; i < n && uids[i] <= last_uid; i++)
		;
	if (i < n)
		s->worked = true;
	while (i < n && !*stop) {
		size_t k = n - i < HDR_BATCH ? n - i : HDR_BATCH;

		if (process_batch(s, uidvalidity, uids + i, k, stop) < 0)
			goto out;
		i += k;
		notify_watchdog();
	}
	s->last_sync = util_now();
	s->inbox_dirty = false;
	(void)store_kv_set(s->st, "imap.last_sync",     /* shown by status */
	    util_format_rfc3339(s->last_sync, stamp, sizeof(stamp)));
out:
	free(uids);
	free(err);
}

