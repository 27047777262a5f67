#ifndef NATTER_CORE_PRIVS_H
#define NATTER_CORE_PRIVS_H
/*
 * Started as root, natterd opens its ports, devices and files, then becomes an unprivileged
 * user for the rest of its life. Started as anyone else, it stays who it is.
 */

/* Sets PR_SET_NO_NEW_PRIVS whoever runs it. As root: gives the data dir and what is in it
 * to user (not following symbolic links, and leaving files with more than one name alone:
 * the unprivileged user may have planted them), then switches to user's uid, gid and groups
 * for good. keep_net: keep CAP_NET_ADMIN and CAP_NET_RAW, which lwIP needs to reattach its
 * port after it was unplugged. user "root" (or not running as root): nothing changes. NT_OK;
 * NT_ENOENT for an unknown user; NT_EIO when a step fails (all logged). */
int privs_drop(const char *user, const char *datadir, int keep_net);
#endif
