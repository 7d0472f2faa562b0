/*
 * folders.h - which mailbox is the user's Sent folder and which is
 * Drafts (infoviewd.conf(5), imap.sent and imap.drafts): a configured
 * name is used as given; "auto" takes the mailbox with the RFC 6154
 * special-use attribute (\Sent, \Drafts) from LIST, else the first
 * well-known name that exists ("Sent", "Sent Items", "[Gmail]/Sent Mail",
 * ...). Names on the wire are modified UTF-7 (RFC 3501 5.1.3); names in
 * the config file and in messages are UTF-8.
 */
#ifndef IV_FOLDERS_H
#define IV_FOLDERS_H

#include <stddef.h>

#include "imap.h"

/*
 * Picks the mailbox for use (IMAP_MB_SENT or IMAP_MB_DRAFTS) from the
 * LIST result v. Returns 0 with *ret_name (wire form, allocated) and
 * *ret_how ("special-use", "well-known name", "configured"), or -ENOENT
 * (nothing found, or the configured name is not among the mailboxes),
 * or -EINVAL (a configured name that is not valid UTF-8).
 */
int folders_pick(const struct imap_mailbox *v, size_t n,
    const char *configured, unsigned use, char **ret_name,
    const char **ret_how);

/* UTF-8 -> modified UTF-7 (allocated), NULL when s is not valid UTF-8. */
char *folders_mutf7_encode(const char *s);
/* Modified UTF-7 -> UTF-8 for people (allocated); a name that is not
 * valid modified UTF-7 comes back as it is. */
char *folders_mutf7_decode(const char *s);

#endif
