/*
 * Dropping root for good (see privs.h). Capabilities are set with the raw syscalls: the two
 * we may keep do not justify a library.
 */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "core/err.h"
#include "core/log.h"
#include "core/privs.h"

static uid_t privs_uid;
static gid_t privs_gid;
static int privs_chown_failed;

static int privs_chown_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)flag;
	(void)f;
	if ((st->st_uid != privs_uid || st->st_gid != privs_gid) &&
	    lchown(path, privs_uid, privs_gid) != 0) {
		log_err("natterd: chown %s: %s", path, strerror(errno));
		privs_chown_failed = 1;
	}
	return 0;
}

/* Keeps exactly CAP_NET_ADMIN and CAP_NET_RAW, effective and permitted. */
static int privs_keep_net_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2] = { { 0 } };
	uint32_t keep = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);

	c[0].effective = c[0].permitted = keep;
	return syscall(SYS_capset, &h, c) == 0 ? NT_OK : NT_EIO;
}

int privs_drop(const char *user, const char *datadir, int keep_net)
{
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || strcmp(user, "root") == 0) {
		if (geteuid() == 0)
			log_warn("natterd: running as root (--user root); an appliance should not");
		return NT_OK;
	}
	if ((pw = getpwnam(user)) == NULL) {
		log_err("natterd: no user '%s' to run as; create it (the board's init script "
		        "does) or name another with --user", user);
		return NT_ENOENT;
	}
	if (pw->pw_uid == 0) {
		log_err("natterd: user '%s' is root; name an unprivileged user", user);
		return NT_EINVAL;
	}
	privs_uid = pw->pw_uid;
	privs_gid = pw->pw_gid;
	privs_chown_failed = 0;
	if (nftw(datadir, privs_chown_one, 16, FTW_PHYS) != 0 || privs_chown_failed) {
		log_err("natterd: cannot give %s to %s", datadir, user);
		return NT_EIO;
	}
	if (keep_net && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0)
		goto fail;
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		goto fail;
	if (setuid(0) == 0) {		/* must be impossible now */
		log_err("natterd: still able to become root after dropping it");
		return NT_EIO;
	}
	if (keep_net && (privs_keep_net_caps() != NT_OK ||
	                 prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0))
		goto fail;
	log_info("natterd: running as %s (uid %u)%s", user, (unsigned)pw->pw_uid,
	         keep_net ? ", keeping CAP_NET_ADMIN and CAP_NET_RAW for lwIP's port" : "");
	return NT_OK;
fail:
	log_err("natterd: dropping root for %s: %s", user, strerror(errno));
	return NT_EIO;
}
