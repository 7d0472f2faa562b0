/*
 * notify.h - systemd readiness, status and watchdog (the only module that
 * includes sd-daemon.h; every call is a no-op without libsystemd or when
 * not started by systemd).
 */
#ifndef IV_NOTIFY_H
#define IV_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* The watchdog interval in microseconds, 0 when there is none. */
uint64_t notify_watchdog_usec(void);

#endif
