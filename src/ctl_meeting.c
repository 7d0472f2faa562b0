/*
 * ctl_meeting.c - `meeting schedule|reschedule|cancel|list|note`: the
 * user's decisions about meeting times, and notes from the conversation.
 * The daemon sends what these queue.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "json.h"
#include "plan.h"
#include "util.h"

struct meeting_opts {
	const char *at, *tz, *location, *reason;
	long duration;
};

/* Parses --at/--tz/--duration/--location/--reason after the positional
 * argument. Returns EXIT_OK or EXIT_USAGE (message printed). */
static int
meeting_parse(int argc, char **argv, struct meeting_opts *o)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "tz", required_argument, NULL, 'z' },
		{ "duration", required_argument, NULL, 'd' },
		{ "location", required_argument, NULL, 'l' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->at = optarg; break;
		case 'z': o->tz = optarg; break;
		case 'l': o->location = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'd':
			if (util_parse_duration(optarg, &o->duration) < 0 ||
			    o->duration < 60 || o->duration > 8 * 3600) {
				fprintf(stderr, "infoviewctl: --duration %s: use e.g. "
				    "\"30m\" (1 minute to 8 hours)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (o->tz != NULL && !tz_valid(o->tz)) {
		fprintf(stderr, "infoviewctl: --tz %s: unknown time zone\n", o->tz);
		return EXIT_USAGE;
	}
	if ((o->location && str_has_ctl(o->location, false)) ||
	    (o->reason && str_has_ctl(o->reason, false))) {
		fprintf(stderr, "infoviewctl: control characters are not allowed "
		    "in --location or --reason\n");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* --at "YYYY-MM-DD HH:MM" in zone -> UTC. */
static int
meeting_time(const char *at, const char *zone, time_t *ret)
{
	int y, mo, d, h, mi;

	if (at == NULL) {
		fprintf(stderr, "infoviewctl: --at \"YYYY-MM-DD HH:MM\" is required\n");
		return EXIT_USAGE;
	}
	if (util_parse_local_datetime(at, &y, &mo, &d, &h, &mi) < 0 ||
	    tz_local_to_utc(zone, y, mo, d, h, mi, ret) < 0) {
		fprintf(stderr, "infoviewctl: --at %s: use \"YYYY-MM-DD HH:MM\"\n", at);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Ends the transaction the caller began around a meeting change: commits
 * when r >= 0; prints err (or the store's words) on failure. */
static int
meeting_commit(struct ctl *c, int r, char *err)
{
	if ((r = store_tx_end(c->st, r)) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", err ? err : store_errmsg(c->st));
		free(err);
		return EXIT_FAILED;
	}
	free(err);
	ctl_wake(c);
	return EXIT_OK;
}

/*
 * A contact without a zone takes the --tz of the meeting agreed with them:
 * the invitation then shows the time in their zone beside the user's, and
 * later mail is timed for them. A zone set before is kept. 0 or -errno.
 */
static int
contact_adopt_zone(struct ctl *c, struct contact *ct, const char *tz,
    char **ret_err)
{
	struct contact_in in = { 0 };
	int64_t id;
	int r;

	if (tz == NULL || !str_empty(ct->tz))
		return 0;
	in.email = ct->email;
	in.tz = tz;
	if ((r = store_contact_upsert(c->st, &in, &id, NULL)) < 0) {
		*ret_err = xasprintf("contact %s: cannot record time zone %s: %s",
		    ct->email, tz, store_errmsg(c->st));
		return r;
	}
	free(ct->tz);
	ct->tz = xstrdup(tz);
	return 0;
}

static int
meeting_schedule(struct ctl *c, int argc, char **argv)
{
	struct meeting_opts o = { 0 };
	struct contact *ct = NULL;
	const char *zone;
	char *err = NULL, when[64];
	int64_t id = 0;
	time_t start;
	int rc, r;

	o.duration = c->cfg->meeting.duration;
	if ((rc = meeting_parse(argc, argv, &o)) != EXIT_OK || optind + 1 != argc)
		goto usage;
	if (ctl_contact_lookup(c, argv[optind], &ct) != EXIT_OK)
		return EXIT_FAILED;
	zone = o.tz ? o.tz : plan_contact_zone(c->cfg, ct);
	if ((rc = meeting_time(o.at, zone, &start)) != EXIT_OK)
		goto out;
	if (start < util_now())
		fprintf(stderr, "infoviewctl: warning: %s is in the past\n", o.at);
	if ((r = store_tx_begin(c->st)) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		rc = EXIT_FAILED;
		goto out;
	}
	r = contact_adopt_zone(c, ct, o.tz, &err);
	if (r == 0)
		r = plan_meeting_create(c->st, c->cfg, ct, start,
		    start + o.duration,
		    zone, o.location, false, NULL, &id, &err);
	rc = meeting_commit(c, r, err);
	if (rc == EXIT_OK)
		printf("meeting %lld with %s on %s; invitation queued\n",
		    (long long)id, ct->email, tz_format(zone, start,
		    "%a %Y-%m-%d %H:%M %Z", when, sizeof(when)));
out:
	store_contact_free(ct);
	return rc;
usage:
	fprintf(stderr, "usage: infoviewctl meeting schedule ID|EMAIL --at "
	    "\"YYYY-MM-DD HH:MM\" [--tz ZONE] [--duration 30m] [--location TEXT]\n");
	return EXIT_USAGE;
}

/* The meeting named on the command line, by id. */
static int
meeting_arg(struct ctl *c, const char *arg, struct meeting **ret)
{
	char *end;
	long long id = strtoll(arg, &end, 10);

	if (*end != '\0' || id <= 0 || store_meeting_get(c->st, id, ret) < 0) {
		fprintf(stderr, "infoviewctl: no meeting '%s' (see `infoviewctl "
		    "meeting list`)\n", arg);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int
meeting_change(struct ctl *c, int argc, char **argv, bool cancel)
{
	struct meeting_opts o = { 0 };
	struct meeting *m = NULL;
	char *err = NULL, when[64];
	const char *zone;
	time_t start;
	int rc, r;

	if (meeting_parse(argc, argv, &o) != EXIT_OK || optind + 1 != argc) {
		fprintf(stderr, cancel ? "usage: infoviewctl meeting cancel MEETING "
		    "[--reason TEXT]\n" : "usage: infoviewctl meeting reschedule "
		    "MEETING --at \"YYYY-MM-DD HH:MM\" [--tz ZONE]\n");
		return EXIT_USAGE;
	}
	if (meeting_arg(c, argv[optind], &m) != EXIT_OK)
		return EXIT_FAILED;
	zone = o.tz ? o.tz : m->tz[0] ? m->tz : c->cfg->identity.timezone;
	if (!cancel && (rc = meeting_time(o.at, zone, &start)) != EXIT_OK)
		goto out;
	if ((r = store_tx_begin(c->st)) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		rc = EXIT_FAILED;
		goto out;
	}
	if (cancel) {
		/* The error text is set by the call: read it after. */
		r = plan_meeting_cancel(c->st, c->cfg, m->id, o.reason, &err);
		rc = meeting_commit(c, r, err);
		if (rc == EXIT_OK)
			printf("meeting %lld cancelled; cancellation queued\n",
			    (long long)m->id);
	} else {
		r = plan_meeting_reschedule(c->st, c->cfg, m->id, start, start +
		    (o.duration ? o.duration : m->end - m->start), zone, &err);
		rc = meeting_commit(c, r, err);
		if (rc == EXIT_OK)
			printf("meeting %lld moved to %s; update queued\n",
			    (long long)m->id, tz_format(zone, start,
			    "%a %Y-%m-%d %H:%M %Z", when, sizeof(when)));
	}
out:
	store_meeting_free(m);
	return rc;
}

static int
meeting_list(struct ctl *c)
{
	struct meeting **v;
	struct contact *ct;
	struct json j;
	char when[64];
	size_t n, i;

	if (store_meeting_list(c->st, 0, &v, &n) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		return EXIT_FAILED;
	}
	if (c->json) {
		json_init(&j, stdout);
		json_begin_array(&j);
	} else if (n == 0)
		printf("no meetings yet\n");
	else
		printf("%-4s %-24s %-10s %-12s %-4s %s\n", "ID", "WHEN", "STATE",
		    "RSVP", "PAST", "WITH");
	for (i = 0; i < n; i++) {
		const struct meeting *m = v[i];
		const char *email = "?";

		ct = NULL;
		if (store_contact_get(c->st, m->contact_id, &ct) == 0)
			email = ct->email;
		if (c->json) {
			json_begin_object(&j);
			json_kint(&j, "id", m->id);
			json_kint(&j, "contact_id", m->contact_id);
			json_kstr(&j, "email", email);
			json_kstr(&j, "name", ct ? ct->name : "");
			json_ktime(&j, "start", m->start);
			json_ktime(&j, "end", m->end);
			json_kstr(&j, "tz", m->tz);
			json_kstr(&j, "location", m->location);
			json_kstr(&j, "state", store_meeting_state_name(m->state));
			json_kstr(&j, "rsvp", store_meeting_rsvp_name(m->rsvp));
			json_kstr(&j, "comment", m->rsvp_comment);
			json_kstr(&j, "uid", m->uid);
			json_kint(&j, "sequence", m->sequence);
			json_kstr(&j, "notes", m->notes);
			json_kbool(&j, "past", m->end <= util_now());
			json_end_object(&j);
		} else
			printf("%-4lld %-24s %-10s %-12s %-4s %s\n", (long long)m->id,
			    tz_format(m->tz[0] ? m->tz : c->cfg->identity.timezone,
			    m->start, "%a %Y-%m-%d %H:%M %Z", when, sizeof(when)),
			    store_meeting_state_name(m->state), store_meeting_rsvp_name(m->rsvp), m->end <= util_now() ? "yes" : "no",
			    email);
		store_contact_free(ct);
	}
	if (c->json) {
		json_end_array(&j);
		json_finish(&j);
	}
	store_meetings_free(v, n);
	return EXIT_OK;
}

/* Runs the user's editor ($VISUAL, else $EDITOR, else vi) on path, the
 * way git does: through the shell, so EDITOR may carry arguments.
 * Returns EXIT_OK or EXIT_FAILED (message printed). */
static int
run_editor(const char *path)
{
	const char *editor = getenv("VISUAL");
	char *cmd;
	pid_t pid;
	int status;

	if (str_empty(editor))
		editor = getenv("EDITOR");
	if (str_empty(editor))
		editor = "vi";
	cmd = xasprintf("%s \"$1\"", editor);
	fflush(stdout);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "infoviewctl: cannot start the editor: %s\n",
		    strerror(errno));
		free(cmd);
		return EXIT_FAILED;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "infoviewctl: waiting for the editor: %s\n",
			    strerror(errno));
			return EXIT_FAILED;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "infoviewctl: the editor (%s) failed; notes "
		    "unchanged\n", editor);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* The notes as edited in the user's editor, starting from `current`.
 * Returns EXIT_OK and *ret, or EXIT_FAILED (message printed). */
static int
edit_notes(const char *current, char **ret)
{
	const char *tmp = getenv("TMPDIR");
	char *path, *text = NULL;
	size_t len;
	FILE *f;
	int fd, rc = EXIT_FAILED, r;

	path = xasprintf("%s/infoviewctl-notes.XXXXXX", str_empty(tmp) ? "/tmp" :
	    tmp);
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "infoviewctl: cannot make a file to edit: %s\n",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	fputs(current, f);
	if (!str_empty(current) && current[strlen(current) - 1] != '\n')
		fputc('\n', f);
	if (fclose(f) != 0) {
		fprintf(stderr, "infoviewctl: %s: %s\n", path, strerror(errno));
		goto out_unlink;
	}
	if ((rc = run_editor(path)) != EXIT_OK)
		goto out_unlink;
	if ((r = util_read_file(path, NOTES_MAX + 1, &text, &len)) < 0) {
		fprintf(stderr, "infoviewctl: %s: %s\n", path, r == -EFBIG ?
		    "notes are too long" : strerror(-r));
		rc = EXIT_FAILED;
		goto out_unlink;
	}
	if (strlen(text) != len) {
		fprintf(stderr, "infoviewctl: the notes contain a NUL byte\n");
		free(text);
		rc = EXIT_FAILED;
		goto out_unlink;
	}
	*ret = text;
out_unlink:
	unlink(path);
out:
	free(path);
	return rc;
}

/* `meeting note MEETING [TEXT]`: TEXT is added to the notes; without it
 * the notes open in the user's editor and the saved text replaces them. */
static int
meeting_note_cmd(struct ctl *c, int argc, char **argv)
{
	struct meeting *m = NULL;
	char *err = NULL, *edited = NULL;
	bool redraft = false;
	int rc, r;

	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: infoviewctl meeting note MEETING [TEXT]\n");
		return EXIT_USAGE;
	}
	if (meeting_arg(c, argv[1], &m) != EXIT_OK)
		return EXIT_FAILED;
	if (argc == 2 && (rc = edit_notes(m->notes, &edited)) != EXIT_OK)
		goto out;
	if (argc == 2 && strcmp(str_trim(edited), m->notes) == 0) {
		printf("meeting %lld: notes unchanged\n", (long long)m->id);
		rc = EXIT_OK;
		goto out;
	}
	if (store_tx_begin(c->st) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", store_errmsg(c->st));
		rc = EXIT_FAILED;
		goto out;
	}
	r = plan_meeting_note(c->st, c->cfg, m->id,
	    argc == 3 ? argv[2] : edited,
	    argc == 3, &redraft, &err);
	rc = meeting_commit(c, r, err);
	if (rc == EXIT_OK)
		printf("meeting %lld: notes saved%s\n", (long long)m->id,
		    redraft ? "; a new thank-you draft with them goes to "
		    "your Drafts folder" : "");
out:
	free(edited);
	store_meeting_free(m);
	return rc;
}

int
ctl_meeting(struct ctl *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "note") == 0)
		return meeting_note_cmd(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "schedule") == 0)
		return meeting_schedule(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "reschedule") == 0)
		return meeting_change(c, argc - 1, argv + 1, false);
	if (argc >= 2 && strcmp(argv[1], "cancel") == 0)
		return meeting_change(c, argc - 1, argv + 1, true);
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "list") == 0))
		return meeting_list(c);
	fprintf(stderr, "usage: infoviewctl meeting schedule|reschedule|cancel|"
	    "list|note ...\n");
	return EXIT_USAGE;
}
