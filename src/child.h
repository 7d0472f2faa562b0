/*
 * child.h - the one way infoviewd runs something in a child process: a
 * password or token command, and the isolated parse of a stranger's mail.
 * A pipe carries the child's output back, a deadline bounds the wait, the
 * child gets ordinary signal dispositions and optional CPU and memory
 * limits, and the child is always reaped (killed first when it overran).
 */
#ifndef IV_CHILD_H
#define IV_CHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct child_opts {
	long timeout_ms;        /* wait at most this long for the output */
	size_t out_max;         /* more output than this: killed, -EFBIG */
	long cpu_seconds;       /* RLIMIT_CPU (soft; hard one more), 0: none */
	size_t mem_bytes;       /* RLIMIT_AS, 0: none */
};

/*
 * Runs in the child with the write end of the result pipe; what it
 * returns becomes the exit status. It may exec instead of returning.
 */
typedef int (*child_fn)(int out_fd, void *arg);

/*
 * Forks, runs fn(out_fd, arg) in the child with o's limits, and collects
 * what it writes to out_fd into *out until EOF. Returns 0 with the raw
 * wait status in *ret_status (-1 when it was lost because SIGCHLD is
 * ignored), or -ETIMEDOUT (deadline passed), -EFBIG (output over
 * out_max), or the negative errno of pipe, fork, poll or read; the child
 * is killed and reaped in every case. *out holds what arrived either way.
 */
int child_run(const struct child_opts *o, child_fn fn, void *arg,
    struct buf *out, int *ret_status);

/* Words for a wait status that is not a clean exit 0 ("exited with status
 * 3", "was killed by signal 9"), in a static buffer. */
const char *child_status_text(int status);

#endif
