/*
 * control.h - wake-ups from infoviewctl to a running daemon: a datagram on
 * a Unix socket beside the database ("<database>.sock"). The message
 * carries no data; the daemon re-reads the database when woken, so a
 * change made with infoviewctl is acted on at once.
 */
#ifndef IV_CONTROL_H
#define IV_CONTROL_H

/* Binds the daemon's socket (replacing a stale one). Returns the fd, or
 * -1 when there is none to have (":memory:", path too long: logged). */
int control_listen(const char *db_path);
/* Reads and discards pending wake-ups. */
void control_drain(int fd);
void control_close(int fd, const char *db_path);
/* Sends a wake-up; silent when no daemon listens. */
void control_wake(const char *db_path);

#endif
