/*
 * ctl_classify.c - `classify FILE.eml... [--contact ID|EMAIL]`: how
 * infoviewd reads a message, changing nothing. The message is parsed the
 * way the daemon parses it (in a child, with the same bounds) and read
 * with the same context: the contacts written to in the last
 * CLASSIFY_RECENT days for a bounce, and with --contact the offered slots
 * and zone of that contact's last outreach. See infoviewctl(1).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "ctl.h"
#include "json.h"
#include "mime.h"
#include "plan.h"
#include "util.h"

#define CLASSIFY_RECENT (30 * 86400)    /* a bounce comes within days */

struct cl_ctx {
	struct classify_ctx cx;
	struct offered_slot *slots;
	time_t *starts;
	char **known;
	size_t n_known;
	struct contact *contact;
};

/* Fills x for reading mail as the daemon would; contact may be NULL. */
static int
ctx_load(struct ctl *c, struct contact *contact, struct cl_ctx *x)
{
	size_t n = 0, i;
	int r;

	memset(x, 0, sizeof(*x));
	x->contact = contact;
	if (contact != NULL &&
	    (r = store_slots_get(c->st, contact->id, &x->starts, &n)) < 0)
		return r;
	x->slots = xcalloc(n ? n : 1, sizeof(*x->slots));
	for (i = 0; i < n; i++) {
		x->slots[i].n = (int)i + 1;
		x->slots[i].start = x->starts[i];
	}
	x->cx.now = util_now();
	if ((r = store_outbox_rcpts_since(c->st, x->cx.now - CLASSIFY_RECENT,
	    &x->known, &x->n_known)) < 0)
		return r;
	x->cx.slots = x->slots;
	x->cx.n_slots = n;
	x->cx.contact_tz = plan_contact_zone(c->cfg, contact);
	x->cx.own_tz = c->cfg->identity.timezone;
	x->cx.own_addr = c->cfg->identity.email;
	x->cx.contact_addr = contact ? contact->email : NULL;
	x->cx.known_rcpts = (const char *const *)x->known;
	x->cx.n_known = x->n_known;
	return 0;
}

static void
ctx_done(struct cl_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n_known; i++)
		free(x->known[i]);
	free(x->known);
	free(x->slots);
	free(x->starts);
}

/* The contact a bounce or complaint is about, as the daemon finds it:
 * our Message-ID in the returned headers, then the recipient. */
static struct contact *
report_contact(struct ctl *c, const struct classification *cl)
{
	struct contact *ct = NULL;
	int64_t id = 0;

	if (cl->returned_msgid != NULL &&
	    store_outbox_contact_by_msgid(c->st, cl->returned_msgid, &id,
	    NULL) == 0 && id != 0 && store_contact_get(c->st, id, &ct) == 0)
		return ct;
	if (!str_empty(cl->bounced_rcpt) &&
	    store_contact_find(c->st, cl->bounced_rcpt, &ct) == 0)
		return ct;
	return NULL;
}

static void
print_time(const char *label, const char *zone, time_t t)
{
	char out[64];

	if (t == 0)
		return;
	tz_format(zone, t, "%Y-%m-%d %H:%M %Z", out, sizeof(out));
	printf("  %-11s %s\n", label, out);
}

/* One message as text: "FILE: class" and what was read from it. */
static void
print_text(const char *path, const struct classification *cl,
    const struct cl_ctx *x, const struct contact *who)
{
	size_t i;
	const char *p, *nl;

	printf("%s: %s\n", path, classify_class_name(cl->cls));
	if (who != NULL)
		printf("  %-11s %s\n", "contact:", who->email);
	if (cl->bounced_rcpt != NULL)
		printf("  %-11s %s\n", "recipient:", cl->bounced_rcpt);
	if (cl->bounce_status != NULL)
		printf("  %-11s %s\n", "status:", cl->bounce_status);
	if (cl->bounce_reason != NULL)
		printf("  %-11s %s\n", "diagnostic:", cl->bounce_reason);
	print_time("back:", x->cx.contact_tz, cl->return_date);
	if (cl->cls == MSG_HUMAN) {
		printf("  %-11s %s\n", "intent:", classify_intent_name(cl->intent));
		if (cl->intent == INTENT_ACCEPT_SLOT)
			printf("  %-11s %d\n", "slot:", cl->slot_n);
		if (cl->intent == INTENT_PROPOSE_TIME)
			print_time("proposed:", x->cx.contact_tz, cl->proposed);
		for (i = 0; i < cl->n_referrals; i++)
			printf("  %-11s %s%s%s%s\n", "referral:",
			    cl->referrals[i].name, cl->referrals[i].email[0] &&
			    cl->referrals[i].name[0] ? " " : "",
			    cl->referrals[i].email[0] ? "<" : "",
			    cl->referrals[i].email[0] ? cl->referrals[i].email : "");
	}
	if (cl->reason != NULL)
		printf("  %-11s %s\n", "why:", cl->reason);
	if (cl->new_text != NULL) {
		printf("  text:\n");
		for (p = cl->new_text; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			printf("    | %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
			if (nl == NULL)
				break;
		}
	}
}

static void
print_json(struct json *j, const char *path, const struct classification *cl,
    const struct contact *who)
{
	size_t i;

	json_begin_object(j);
	json_kstr(j, "file", path);
	json_kstr(j, "class", classify_class_name(cl->cls));
	json_kstr(j, "contact", who ? who->email : NULL);
	json_kstr(j, "recipient", cl->bounced_rcpt);
	json_kstr(j, "status", cl->bounce_status);
	json_kstr(j, "diagnostic", cl->bounce_reason);
	json_ktime(j, "return_date", cl->return_date);
	json_kstr(j, "intent", cl->cls == MSG_HUMAN ?
	    classify_intent_name(cl->intent) : NULL);
	json_key(j, "slot");
	if (cl->intent == INTENT_ACCEPT_SLOT)
		json_int(j, cl->slot_n);
	else
		json_null(j);
	json_ktime(j, "proposed", cl->intent == INTENT_PROPOSE_TIME ?
	    cl->proposed : 0);
	json_kstr(j, "text", cl->new_text);
	json_key(j, "referrals");
	json_begin_array(j);
	for (i = 0; i < cl->n_referrals; i++) {
		json_begin_object(j);
		json_kstr(j, "name", cl->referrals[i].name);
		json_kstr(j, "email", cl->referrals[i].email);
		json_end_object(j);
	}
	json_end_array(j);
	json_kstr(j, "reason", cl->reason);
	json_end_object(j);
}

static void
print_error(struct json *j, const char *path, const char *err)
{
	if (j == NULL) {
		fprintf(stderr, "infoviewctl: %s: %s\n", path, err);
		return;
	}
	json_begin_object(j);
	json_kstr(j, "file", path);
	json_kstr(j, "error", err);
	json_end_object(j);
}

/* Reads and classifies one file; returns EXIT_OK or EXIT_FAILED. */
static int
classify_file(struct ctl *c, struct cl_ctx *x, const char *path,
    struct json *j)
{
	struct classification cl = { 0 };
	struct contact *who = NULL;
	struct inmsg *m = NULL;
	char *raw = NULL, *err = NULL;
	size_t len;
	int r;

	if ((r = util_read_file(path, MIME_MAX_MESSAGE + 1, &raw, &len)) < 0) {
		print_error(j, path, strerror(-r));
		return EXIT_FAILED;
	}
	if ((r = mime_parse_isolated(raw, len, &m, &err)) < 0) {
		char *msg = xasprintf("cannot parse: %s", err ? err : strerror(-r));

		print_error(j, path, msg);
		free(msg);
		free(err);
		free(raw);
		return EXIT_FAILED;
	}
	(void)classify_message(m, &x->cx, &cl);
	if (x->contact == NULL &&
	    (cl.cls == MSG_BOUNCE || cl.cls == MSG_COMPLAINT))
		who = report_contact(c, &cl);
	if (j != NULL)
		print_json(j, path, &cl, who ? who : x->contact);
	else
		print_text(path, &cl, x, who);
	store_contact_free(who);
	classify_done(&cl);
	mime_inmsg_free(m);
	free(raw);
	return EXIT_OK;
}

int
ctl_classify(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "contact", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct contact *contact = NULL;
	const char *who = NULL;
	struct json j;
	struct cl_ctx x;
	int ch, i, r, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': who = optarg; break;
		case 'j': c->json = true; break;
		default: goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if (who != NULL && ctl_contact_lookup(c, who, &contact) != EXIT_OK)
		return EXIT_FAILED;
	if ((r = ctx_load(c, contact, &x)) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		ctx_done(&x);
		store_contact_free(contact);
		return EXIT_FAILED;
	}
	if (c->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
	}
	for (i = optind; i < argc; i++)
		if (classify_file(c, &x, argv[i], c->json ? &j : NULL) != EXIT_OK)
			rc = EXIT_FAILED;
	if (c->json) {
		json_end_array(&j);
		json_finish(&j);
	}
	ctx_done(&x);
	store_contact_free(contact);
	return rc;
usage:
	fprintf(stderr, "usage: infoviewctl classify FILE.eml... "
	    "[--contact ID|EMAIL] [--json]\n");
	return EXIT_USAGE;
}
