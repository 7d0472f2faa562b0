/*
 * secret.c - reads the SMTP and IMAP secrets (passwords or OAuth2 access
 * tokens) from the configured source; see secret.h. Commands run through
 * child.c. Messages name the key or the file, never a secret's value.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "secret.h"
#include "util.h"

#define SECRET_MAX      4096    /* bytes of a secret we accept (tokens of
                                   Microsoft's run to about 2,500) */

/* "(mode 0644)" wording: what group/other may do with a file. */
static const char *
exposure(mode_t mode)
{
	if (mode & (S_IRGRP | S_IROTH))
		return "readable";
	if (mode & (S_IWGRP | S_IWOTH))
		return "writable";
	return "accessible";
}

void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

bool
secret_configured(const struct credentials *cr)
{
	return !str_empty(cr->command) || !str_empty(cr->file) ||
	    !str_empty(cr->password);
}

/*
 * Turns len bytes in buf into the secret: one trailing newline (LF or
 * CRLF) dropped; a secret that is empty or holds NUL, CR or LF is refused
 * because it would break the SMTP and IMAP command lines.
 * Returns 0 and *ret (allocated), or -EINVAL with *ret_err naming source.
 */
static int
secret_finish(const struct credentials *cr, const char *source, char *buf,
    size_t len, char **ret, char **ret_err)
{
	const char *what = cr->token ? "token" : "password";

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		*ret_err = xasprintf("%s gave an empty %s", source, what);
		return -EINVAL;
	}
	if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL ||
	    memchr(buf, '\r', len) != NULL) {
		*ret_err = xasprintf("%s gave a %s with a line break or "
		    "NUL byte in it", source, what);
		return -EINVAL;
	}
	*ret = xstrndup(buf, len);
	return 0;
}

int
secret_file_check(const char *key, const char *path, char **why)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		*why = xasprintf("%s \"%s\": cannot read: %s", key, str_shown(path),
		    strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = xasprintf("%s \"%s\" is not a file", key, str_shown(path));
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		*why = xasprintf("%s \"%s\" is %s by others (mode %04o); "
		    "chmod 600 it", key, str_shown(path), exposure(st.st_mode),
		    (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * Reads a secret file of at most SECRET_MAX bytes. With private set, the
 * file must have no group or other permission bits. Returns 0 and *ret,
 * -ENOENT quietly (*ret_err set anyway), or a negative errno and *ret_err.
 */
static int
read_secret_file(const struct credentials *cr, const char *source,
    const char *path, bool private, char **ret, char **ret_err)
{
	char buf[SECRET_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		r = -errno;
		*ret_err = xasprintf("%s \"%s\": cannot read: %s", source,
		    str_shown(path), strerror(errno));
		return r;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*ret_err = xasprintf("%s \"%s\" is not a file", source, str_shown(path));
		r = -EINVAL;
		goto out;
	}
	if (private && (st.st_mode & 077)) {
		*ret_err = xasprintf("%s \"%s\" is %s by others (mode %04o); "
		    "chmod 600 it", source, str_shown(path), exposure(st.st_mode),
		    (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = -errno;
			*ret_err = xasprintf("%s \"%s\": cannot read: %s", source,
			    str_shown(path), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SECRET_MAX) {
		*ret_err = xasprintf("%s \"%s\" is longer than %d bytes", source,
		    str_shown(path), SECRET_MAX);
		r = -EFBIG;
		goto out;
	}
	r = secret_finish(cr, source, buf, len, ret, ret_err);
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* The command's child: stdin from /dev/null, stdout to the pipe, stderr
 * inherited (the journal gets what a helper says about itself). */
static int
command_child(int fd, void *arg)
{
	const char *cmd = arg;
	int devnull;

	if ((devnull = open("/dev/null", O_RDONLY)) != -1)
		dup2(devnull, STDIN_FILENO);
	if (dup2(fd, STDOUT_FILENO) < 0)
		return 126;
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	return 127;
}

/*
 * Runs cmd with /bin/sh -c and takes its stdout as the secret. Returns 0
 * and *ret, or a negative errno with *ret_err naming the key and the exit
 * status, never the output.
 */
static int
run_command(const struct credentials *cr, const char *key, const char *cmd,
    char **ret, char **ret_err)
{
	struct child_opts o = { .timeout_ms = SECRET_COMMAND_TIMEOUT * 1000L,
	    .out_max = SECRET_MAX };
	struct buf out;
	int r, status = -1;

	buf_init(&out);
	r = child_run(&o, command_child, (void *)cmd, &out, &status);
	if (r == -ETIMEDOUT)
		*ret_err = xasprintf("%s did not finish within %d seconds", key,
		    SECRET_COMMAND_TIMEOUT);
	else if (r == -EFBIG)
		*ret_err = xasprintf("%s printed more than %d bytes", key,
		    SECRET_MAX);
	else if (r < 0)
		*ret_err = xasprintf("%s: cannot run: %s", key, strerror(-r));
	else if (status != -1 && (!WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)) {
		*ret_err = xasprintf("%s %s", key, child_status_text(status));
		r = -EIO;
	} else
		r = secret_finish(cr, key, out.data ? out.data : "", out.len,
		    ret, ret_err);
	if (out.data != NULL)
		explicit_bzero(out.data, out.len);
	buf_done(&out);
	return r;
}

int
secret_get(const struct credentials *cr, char **ret, char **ret_err)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char key[64], *path, *err = NULL, *secret = NULL;
	int r;

	if (!str_empty(creds)) {
		path = xasprintf("%s/%s-password", creds, cr->service);
		snprintf(key, sizeof(key), "credential %s-password", cr->service);
		r = read_secret_file(cr, key, path, false, &secret, &err);
		free(path);
		if (r == 0)
			goto done;
		if (r != -ENOENT)
			goto fail;
		util_freep(&err);
	}
	if (!str_empty(cr->command)) {
		snprintf(key, sizeof(key), "%s.password_command", cr->service);
		if ((r = run_command(cr, key, cr->command, &secret, &err)) < 0)
			goto fail;
	} else if (!str_empty(cr->file)) {
		snprintf(key, sizeof(key), "%s.password_file", cr->service);
		if ((r = read_secret_file(cr, key, cr->file, true, &secret,
		    &err)) < 0)
			goto fail;
	} else if (!str_empty(cr->password))
		secret = xstrdup(cr->password);
done:
	*ret = secret;
	return 0;
fail:
	*ret_err = err;
	return r;
}
