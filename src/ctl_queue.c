/* ctl_queue.c - outreach, queue, inbox and referral commands. */
#include "autoconf.h"

#include <stdio.h>

#include "ctl.h"

int ctl_outreach(struct ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "infoviewctl: outreach: not available yet\n"); return EXIT_FAILED; }
int ctl_queue(struct ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "infoviewctl: queue: not available yet\n"); return EXIT_FAILED; }
int ctl_inbox(struct ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "infoviewctl: inbox: not available yet\n"); return EXIT_FAILED; }
int ctl_referral(struct ctl *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "infoviewctl: referral: not available yet\n"); return EXIT_FAILED; }
