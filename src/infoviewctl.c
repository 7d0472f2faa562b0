/*
 * infoviewctl.c - the control CLI's main: global options, the
 * configuration and the database, then one command (see ctl.h and
 * infoviewctl(1)). It works on the daemon's database directly, which is
 * safe while the daemon runs (WAL, short write transactions), and wakes
 * the daemon after a change.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "contact", ctl_contact },
	{ "preview", ctl_preview },
	{ "outreach", ctl_outreach },
	{ "queue", ctl_queue },
	{ "inbox", ctl_inbox },
	{ "referral", ctl_referral },
	{ "meeting", ctl_meeting },
	{ "status", ctl_status },
	{ "classify", ctl_classify },
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: infoviewctl [-c FILE] [--json] COMMAND [ARGS]\n"
	    "\n"
	    "  contact add EMAIL [--name N] [--company C] [--role R] [--field F]\n"
	    "              [--referred-by NAME_OR_EMAIL] [--note TEXT] [--tz ZONE]\n"
	    "              [--var KEY=VALUE]...\n"
	    "  contact import FILE.csv [--field F]\n"
	    "  contact list [--state S] [--field F]\n"
	    "  contact show|stop|forget ID|EMAIL\n"
	    "  preview ID|EMAIL [TEMPLATE]\n"
	    "  outreach ID|EMAIL... | --field F | --all-new\n"
	    "  meeting schedule ID|EMAIL --at \"YYYY-MM-DD HH:MM\" [--tz ZONE]\n"
	    "          [--duration 30m] [--location TEXT]\n"
	    "  meeting reschedule MEETING --at ... [--tz ZONE]\n"
	    "  meeting cancel MEETING [--reason TEXT]\n"
	    "  meeting list\n"
	    "  meeting note MEETING [TEXT]   (no TEXT: $EDITOR)\n"
	    "  inbox\n"
	    "  referral list | referral accept N | referral dismiss N\n"
	    "  queue | queue retry [ID] | queue cancel ID\n"
	    "  status\n"
	    "  classify FILE.eml... [--contact ID|EMAIL]\n"
	    "  setup [--force] [flags]   (first run: asks, checks, writes the\n"
	    "          configuration; infoviewctl setup --help)\n"
	    "\n"
	    "  -c, --config FILE  configuration (default %s)\n"
	    "      --json         JSON on stdout for listings, show and status\n"
	    "  -h, --help         this text\n"
	    "      --version      the version\n"
	    "\n"
	    "Exit status: 0 success, 1 the command failed, 2 usage error,\n"
	    "78 bad configuration. See infoviewctl(1).\n",
	    config_default_path());
}

/* The entry of commands[] called name, or -1. */
static int
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	const char *path = NULL;
	char *err = NULL;
	int ch, cmd, rc = EXIT_FAILED;

	/* the user is told on stdout; the log's state changes are the
	 * daemon's (the event log records them for both) */
	log_init("infoviewctl", -1);
	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("infoviewctl %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	/* setup writes the configuration the others need. */
	if (strcmp(argv[0], "setup") == 0)
		return ctl_setup(path, argc, argv);
	if ((cmd = command_find(argv[0])) < 0) {
		fprintf(stderr, "infoviewctl: unknown command '%s'\n", argv[0]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (path == NULL)
		path = config_default_path();
	if (config_load(path, &c.cfg, &err) < 0) {
		fprintf(stderr, "%s", err ? err : "bad configuration\n");
		if (err != NULL && err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		free(err);
		return EXIT_CONFIG;
	}
	if (store_open(c.cfg->storage.database, &c.st, &err) < 0) {
		fprintf(stderr, "infoviewctl: %s\n", err ? err :
		    c.cfg->storage.database);
		free(err);
		goto out;
	}
	/* no-color.org: a NO_COLOR that is present and not empty. */
	c.color = isatty(STDOUT_FILENO) && str_empty(getenv("NO_COLOR"));
	/* Reset getopt for the command's own options. */
	optind = 0;
	rc = commands[cmd].fn(&c, argc, argv);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "infoviewctl: cannot write output\n");
		rc = EXIT_FAILED;
	}
out:
	store_close(c.st);
	config_free(c.cfg);
	return rc;
}
