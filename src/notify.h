/*
 * notify.h - systemd readiness and watchdog (the only module that includes
 * sd-daemon.h; a no-op build without libsystemd).
 */
#ifndef IV_NOTIFY_H
#define IV_NOTIFY_H

#endif
