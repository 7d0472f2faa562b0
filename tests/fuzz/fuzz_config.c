/*
 * fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * Each input is written to a private file (mode 0600, inside a directory
 * made once per process under $TMPDIR) and handed to config_load, the
 * same path SIGHUP and `infoviewd -t` take. A valid result is freed
 * again; an error list is freed. The directory also holds "inc.conf" so
 * that an @include of a plain name resolves; an input whose @include line
 * holds '/' or '\' is skipped, so the target reads nothing outside its
 * directory. Names such as "." and "" still reach libconfig on purpose.
 *
 * Build with --enable-fuzzing; run as
 *   fuzz_config -max_total_time=600 tests/fuzz/corpus/config
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[4096];
static char path[4096 + 32];

static void
cleanup(void)
{
	char inc[sizeof(dir) + 32];

	unlink(path);
	snprintf(inc, sizeof(inc), "%s/inc.conf", dir);
	unlink(inc);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char inc[sizeof(dir) + 32];
	FILE *f;

	(void)argc;
	(void)argv;
	log_init("fuzz_config", 0);
	snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX",
	    tmp != NULL && *tmp == '/' && strlen(tmp) < 1024 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/infoviewd.conf", dir);
	snprintf(inc, sizeof(inc), "%s/inc.conf", dir);
	if ((f = fopen(inc, "w")) == NULL) {
		perror(inc);
		exit(1);
	}
	fputs("imap = { host = \"imap.example.org\"; user = \"u\"; };\n", f);
	fclose(f);
	/* keep the shipped-template lookup inside our directory too */
	setenv("INFOVIEWD_TEMPLATES_SHIPPED", dir, 1);
	return 0;
}

/* True when an @include in the input could reach outside dir. */
static bool
include_escapes(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while ((p = memmem(p, (size_t)(end - p), "@include", 8)) != NULL) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *e = nl ? nl : end;

		if (memchr(p, '/', (size_t)(e - p)) != NULL ||
		    memchr(p, '\\', (size_t)(e - p)) != NULL)
			return true;
		p += 8;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char *errs = NULL;
	int fd;

	if (size > 256 * 1024 || include_escapes(data, size))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (config_load(path, &c, &errs) == 0) {
		if (c == NULL)
			abort();        /* success must hand back a config */
		config_free(c);
	}
	free(errs);
	return 0;
}
