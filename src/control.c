/* control.c - wake-ups from infoviewctl to the daemon (see control.h). */
#include "autoconf.h"

#include "control.h"

void
control_wake(const char *db_path)
{
	(void)db_path;
}
