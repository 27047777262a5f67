/*
 * Dropping root for good (see privs.h). Capabilities are set with the raw syscalls: the two
 * we may keep do not justify a library.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "core/err.h"
#include "core/log.h"
#include "core/privs.h"

#define PRIVS_DEPTH_MAX 16		/* the data dir is flat; deeper is not ours */

/* Gives name (in the directory at) to uid:gid, and a directory's entries too. The tree
 * belongs to the user we drop to, who may have planted links in it: each step is opened
 * without following symbolic links and checked on its descriptor, so nothing can be swapped
 * in between, and a file with more than one name is left alone: it may be a hard link to a
 * file of root's (such as /etc/shadow). Returns the number of entries that could not be
 * given. */
static unsigned privs_give(int at, const char *name, uid_t uid, gid_t gid, unsigned depth)
{
	/* The data dir itself is the admin's choice and may be a link; nothing inside is. */
	int fd = openat(at, name, O_PATH | O_CLOEXEC | (depth > 0 ? O_NOFOLLOW : 0));
	unsigned failed = 0;
	struct dirent *e;
	struct stat st;
	DIR *dir;
	int rd;

	if (fd < 0 || fstat(fd, &st) != 0) {
		log_err("natterd: %s: %s", name, strerror(errno));
		failed = 1;
		goto out;
	}
	if (S_ISLNK(st.st_mode))
		goto out;		/* a link is never followed, nor its target given away */
	if (!S_ISDIR(st.st_mode) && (!S_ISREG(st.st_mode) || st.st_nlink != 1)) {
		log_warn("natterd: %s is %s: not giving it to the service user", name,
			 S_ISREG(st.st_mode) ? "a file with other names (a hard link)" :
			 "not a file or folder");
		goto out;
	}
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
		log_err("natterd: chown %s: %s", name, strerror(errno));
		failed = 1;
	}
	if (!S_ISDIR(st.st_mode))
		goto out;
	if (depth >= PRIVS_DEPTH_MAX) {
		log_warn("natterd: %s is too deep in the data dir: not looking inside", name);
		goto out;
	}
	if ((rd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dir = fdopendir(rd)) == NULL) {
		log_err("natterd: cannot read %s: %s", name, strerror(errno));
		if (rd >= 0)
			close(rd);
		failed = 1;
		goto out;
	}
	while ((e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			failed += privs_give(dirfd(dir), e->d_name, uid, gid, depth + 1);
	closedir(dir);
out:
	if (fd >= 0)
		close(fd);
	return failed;
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

	/* natterd runs nothing, so nothing it could ever be tricked into running may gain
	 * privileges (set-user-ID programs, file capabilities); kept across execve. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) {
		log_err("natterd: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return NT_EIO;
	}
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
	if (privs_give(AT_FDCWD, datadir, pw->pw_uid, pw->pw_gid, 0) != 0) {
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
