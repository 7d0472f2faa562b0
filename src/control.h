/*
 * control.h - wake-ups from infoviewctl to a running daemon: a datagram on
 * a Unix socket beside the database ("<database>.sock"). The message
 * carries no data; the daemon re-reads the database when woken.
 */
#ifndef IV_CONTROL_H
#define IV_CONTROL_H

/* Sends a wake-up to the daemon using database db_path; silent when no
 * daemon listens. */
void control_wake(const char *db_path);

#endif
