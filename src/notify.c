/* notify.c - sd_notify messages for Type=notify (see notify.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
/* Sends "READY=1\nSTATUS=..." style state; status may be NULL. */
static void
notify_send(const char *state, const char *status)
{
	if (status != NULL)
		sd_notifyf(0, "%s%sSTATUS=%s", state ? state : "",
		    state ? "\n" : "", status);
	else if (state != NULL)
		sd_notify(0, state);
}

void notify_ready(const char *status) { notify_send("READY=1", status); }
void notify_status(const char *status) { notify_send(NULL, status); }
void notify_reloading(void) { notify_send("RELOADING=1", NULL); }
void notify_stopping(void) { notify_send("STOPPING=1", NULL); }
void notify_watchdog(void) { notify_send("WATCHDOG=1", NULL); }

uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
#else
void notify_ready(const char *status) { (void)status; }
void notify_status(const char *status) { (void)status; }
void notify_reloading(void) { }
void notify_stopping(void) { }
void notify_watchdog(void) { }
uint64_t notify_watchdog_usec(void) { return 0; }
#endif
