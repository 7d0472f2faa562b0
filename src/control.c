/*
 * control.c - wake-ups from infoviewctl to the daemon (see control.h).
 * A datagram socket keeps it connectionless: the CLI never waits for the
 * daemon, and a daemon that is not running costs the CLI nothing.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

/* Fills sun with "<db_path>.sock"; -ENAMETOOLONG when it does not fit. */
static int
control_addr(const char *db_path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (str_empty(db_path) || strcmp(db_path, ":memory:") == 0)
		return -ENOENT;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s.sock",
	    db_path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int
control_listen(const char *db_path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	if ((r = control_addr(db_path, &sun)) < 0) {
		if (r == -ENAMETOOLONG)
			log_warnx("%s.sock: path too long for a socket; infoviewctl "
			    "changes are seen at the next pass", db_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		log_warn("control socket");
		return -1;
	}
	unlink(sun.sun_path);
	old = umask(0077);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0) {
		log_warn("%s", sun.sun_path);
		close(fd);
		return -1;
	}
	return fd;
}

void
control_drain(int fd)
{
	char b[64];

	while (fd >= 0 && recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

void
control_close(int fd, const char *db_path)
{
	struct sockaddr_un sun;

	if (fd < 0)
		return;
	close(fd);
	if (control_addr(db_path, &sun) == 0)
		unlink(sun.sun_path);
}

void
control_wake(const char *db_path)
{
	struct sockaddr_un sun;
	int fd;

	if (control_addr(db_path, &sun) < 0)
		return;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, "w", 1, MSG_DONTWAIT, (struct sockaddr *)&sun,
	    sizeof(sun));
	close(fd);
}
