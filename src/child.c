/*
 * child.c - the one fork/pipe/deadline/rlimit/reap runner (see child.h).
 * Used by secret.c for password_command and by mime_in.c for parsing
 * untrusted mail in a short-lived process.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child side: ordinary signals, limits, then fn. Never returns. */
static void IV_NORETURN
child_main(const struct child_opts *o, child_fn fn, void *arg, int fd)
{
	static const int deflt[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
	    SIGXCPU, SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1,
	    SIGUSR2 };
	sigset_t none;
	size_t i;

	/* The daemon blocks and ignores signals for its event loop; the
	 * child gets the ordinary defaults back. */
	for (i = 0; i < nitems(deflt); i++)
		signal(deflt[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* No limit, no run: a child that was meant to be bounded and is not
	 * must not run unbounded. */
	if (o->cpu_seconds > 0) {
		struct rlimit cpu = { (rlim_t)o->cpu_seconds,
		    (rlim_t)o->cpu_seconds + 1 };

		if (setrlimit(RLIMIT_CPU, &cpu) < 0)
			_exit(1);
	}
	if (o->mem_bytes > 0) {
		struct rlimit as = { o->mem_bytes, o->mem_bytes };

		if (setrlimit(RLIMIT_AS, &as) < 0)
			_exit(1);
	}
	_exit(fn(fd, arg));
}

/* Reads fd into out until EOF, the deadline or out_max. */
static int
collect(int fd, const struct child_opts *o, struct buf *out)
{
	int64_t deadline = now_ms() + o->timeout_ms;
	char chunk[65536];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int pr;

		if (left <= 0)
			return -ETIMEDOUT;
		pr = poll(&pfd, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			return -ETIMEDOUT;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > o->out_max) {
			buf_add(out, chunk, o->out_max - out->len);
			return -EFBIG;
		}
		buf_add(out, chunk, (size_t)n);
	}
}

int
child_run(const struct child_opts *o, child_fn fn, void *arg,
    struct buf *out, int *ret_status)
{
	int fds[2], r, status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(o, fn, arg, fds[1]);
	}
	close(fds[1]);
	r = collect(fds[0], o, out);
	close(fds[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno == ECHILD) {
			status = -1;    /* SIGCHLD ignored: the status is gone */
			break;
		}
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (r == 0)
		*ret_status = status;
	return r;
}

const char *
child_status_text(int status)
{
	static char text[64];

	if (status == -1)
		snprintf(text, sizeof(text), "ended with an unknown status");
	else if (WIFSIGNALED(status))
		snprintf(text, sizeof(text), "was killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(text, sizeof(text), "exited with status %d",
		    WEXITSTATUS(status));
	return text;
}
