/*
 * test_folders.c - finding Sent and Drafts (special-use, well-known names,
 * configured names), modified UTF-7 both ways, the provider presets, and
 * the child runner behind password commands and the isolated parse.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "child.h"
#include "config.h"
#include "folders.h"
#include "provider.h"
#include "util.h"

static void
test_mutf7(void **state)
{
	static const struct { const char *utf8, *wire; } cases[] = {
		{ "Sent", "Sent" },
		{ "Sent Items", "Sent Items" },
		{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
		{ "\xc3\x89l\xc3\xa9ments envoy\xc3\xa9s",
		  "&AMk-l&AOk-ments envoy&AOk-s" },
		{ "A&B", "A&-B" },
		/* RFC 3501 5.1.3's example */
		{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
		  "\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
		/* outside the BMP: a surrogate pair */
		{ "x\xf0\x9f\x93\xa8y", "x&2D3c6A-y" },
		{ "", "" },
	};
	static const char *bad_utf8[] = { "\xc3", "\xff", "a\xe2\x82", "\xed\xa0\x80" };
	static const char *bad_wire[] = { "&", "&AGE-", "&Jjo", "&2D3-", "&*-" };
	char *s;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		s = folders_mutf7_encode(cases[i].utf8);
		assert_non_null(s);
		assert_string_equal(s, cases[i].wire);
		free(s);
		s = folders_mutf7_decode(cases[i].wire);
		assert_string_equal(s, cases[i].utf8);
		free(s);
	}
	for (i = 0; i < nitems(bad_utf8); i++)
		assert_null(folders_mutf7_encode(bad_utf8[i]));
	/* a name that is not valid modified UTF-7 is shown as it is */
	for (i = 0; i < nitems(bad_wire); i++) {
		s = folders_mutf7_decode(bad_wire[i]);
		assert_string_equal(s, bad_wire[i]);
		free(s);
	}
}

static void
test_pick(void **state)
{
	struct imap_mailbox gmail[] = {
		{ (char *)"INBOX", 0 },
		{ (char *)"[Gmail]", IMAP_MB_NOSELECT },
		{ (char *)"[Gmail]/All Mail", 0 },
		{ (char *)"[Gmail]/Gesendet", IMAP_MB_SENT },
		{ (char *)"[Gmail]/Entw&APw-rfe", IMAP_MB_DRAFTS },
	};
	struct imap_mailbox plain[] = {
		{ (char *)"INBOX", 0 },
		{ (char *)"INBOX.Drafts", 0 },
		{ (char *)"Sent Messages", 0 },
		{ (char *)"sent", IMAP_MB_NOSELECT },
	};
	struct imap_mailbox none[] = { { (char *)"INBOX", 0 } };
	const char *how = NULL;
	char *name = NULL;

	(void)state;
	/* special-use wins, whatever the (localized) name */
	assert_int_equal(folders_pick(gmail, nitems(gmail), "auto",
	    IMAP_MB_SENT, &name, &how), 0);
	assert_string_equal(name, "[Gmail]/Gesendet");
	assert_string_equal(how, "special-use");
	util_freep(&name);
	assert_int_equal(folders_pick(gmail, nitems(gmail), "auto",
	    IMAP_MB_DRAFTS, &name, &how), 0);
	assert_string_equal(name, "[Gmail]/Entw&APw-rfe");
	util_freep(&name);
	/* a configured UTF-8 name is found in its wire form */
	assert_int_equal(folders_pick(gmail, nitems(gmail),
	    "[Gmail]/Entw\xc3\xbcrfe", IMAP_MB_DRAFTS, &name, &how), 0);
	assert_string_equal(name, "[Gmail]/Entw&APw-rfe");
	assert_string_equal(how, "configured");
	util_freep(&name);
	/* a configured name that is not there */
	name = (char *)"untouched";
	assert_int_equal(folders_pick(gmail, nitems(gmail), "Drafts",
	    IMAP_MB_DRAFTS, &name, &how), -ENOENT);
	assert_string_equal(name, "untouched");
	assert_int_equal(folders_pick(gmail, nitems(gmail), "Bad\xff",
	    IMAP_MB_DRAFTS, &name, &how), -EINVAL);
	/* no attributes: the usual names, not \Noselect ones, INBOX. prefix */
	name = NULL;
	assert_int_equal(folders_pick(plain, nitems(plain), "auto",
	    IMAP_MB_SENT, &name, &how), 0);
	assert_string_equal(name, "Sent Messages");
	assert_string_equal(how, "well-known name");
	util_freep(&name);
	assert_int_equal(folders_pick(plain, nitems(plain), "auto",
	    IMAP_MB_DRAFTS, &name, &how), 0);
	assert_string_equal(name, "INBOX.Drafts");
	util_freep(&name);
	assert_int_equal(folders_pick(none, nitems(none), "auto",
	    IMAP_MB_SENT, &name, &how), -ENOENT);
	assert_null(name);
}

static void
test_presets(void **state)
{
	const struct provider_preset *p;
	size_t n, i;

	(void)state;
	p = provider_all(&n);
	assert_int_equal(n, 7);
	for (i = 0; i < n; i++) {
		/* every row names its servers and a method config accepts */
		assert_true(strncmp(p[i].smtp_url, "smtp", 4) == 0);
		assert_non_null(p[i].imap_host);
		assert_true(p[i].imap_port > 0);
		assert_true(strcmp(p[i].auth, "password") == 0 ||
		    strcmp(p[i].auth, "xoauth2") == 0);
		assert_true(provider_find(p[i].name) == &p[i]);
		assert_non_null(strstr(provider_names(), p[i].name));
	}
	assert_string_equal(provider_find("outlook")->auth, "xoauth2");
	assert_string_equal(provider_find("OFFICE365")->auth, "xoauth2");
	assert_string_equal(provider_find("gmail")->save_sent, "false");
	assert_string_equal(provider_find("icloud")->save_sent, "true");
	assert_null(provider_find(""));
	assert_null(provider_find(NULL));
}

static int
child_echo(int fd, void *arg)
{
	return write(fd, arg, strlen(arg)) < 0 ? 3 : 7;
}

static int
child_hang(int fd, void *arg)
{
	(void)fd;
	(void)arg;
	pause();
	return 0;
}

static int
child_flood(int fd, void *arg)
{
	char buf[1024];

	(void)arg;
	memset(buf, 'x', sizeof(buf));
	for (;;)
		if (write(fd, buf, sizeof(buf)) < 0)
			return 1;
}

static int
child_spin(int fd, void *arg)
{
	volatile unsigned long n = 0;

	(void)fd;
	(void)arg;
	for (;;)
		n++;
	return 0;
}

static void
test_child(void **state)
{
	struct child_opts o = { .timeout_ms = 5000, .out_max = 64 };
	struct buf b;
	int status = -2;

	(void)state;
	buf_init(&b);
	assert_int_equal(child_run(&o, child_echo, (void *)"hello", &b,
	    &status), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	assert_string_equal(child_status_text(status), "exited with status 7");
	buf_done(&b);

	/* a child that never answers is killed at the deadline */
	o.timeout_ms = 200;
	assert_int_equal(child_run(&o, child_hang, NULL, &b, &status),
	    -ETIMEDOUT);
	buf_done(&b);

	/* more output than allowed: killed, -EFBIG, what fits kept */
	o.timeout_ms = 5000;
	assert_int_equal(child_run(&o, child_flood, NULL, &b, &status), -EFBIG);
	assert_int_equal(b.len, 64);
	buf_done(&b);

	/* the CPU limit ends a spinning child with SIGXCPU */
	o.cpu_seconds = 1;
	o.timeout_ms = 10000;
	assert_int_equal(child_run(&o, child_spin, NULL, &b, &status), 0);
	assert_true(WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU ||
	    WTERMSIG(status) == SIGKILL));
	assert_non_null(strstr(child_status_text(status), "killed by signal"));
	buf_done(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutf7),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
