/*
 * control.h - wake-ups from infoviewctl to a running daemon: a datagram on
 * a Unix socket beside the database. The message carries no data; the
 * daemon re-reads the database when woken.
 */
#ifndef IV_CONTROL_H
#define IV_CONTROL_H

#endif
