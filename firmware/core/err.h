#ifndef NATTER_CORE_ERR_H
#define NATTER_CORE_ERR_H
/* Return codes shared by every module: NT_OK or a negative NT_E*. */
enum {
	NT_OK      = 0,
	NT_ENOMEM  = -1,	/* allocation failed */
	NT_ELIMIT  = -2,	/* a configured limit was reached; nothing changed */
	NT_EINVAL  = -3,	/* malformed input */
	NT_EIO     = -4,	/* I/O or protocol failure on a connection */
	NT_EAGAIN  = -5,	/* try again when the connection is ready */
	NT_ENOENT  = -6,	/* not found (not an error to log) */
	NT_EEXIST  = -7,	/* already exists */
	NT_ESTORE  = -8,	/* the store failed */
	NT_EAUTH   = -9,	/* authentication failed */
	NT_ECLOSED = -10,	/* the peer closed the connection */
	NT_EBUSY   = -11,	/* locked by someone else */
	NT_EFULL   = -12,	/* the store has no room left (its map or the disk) */
};

/* A short lowercase text for an NT_E* code; never NULL. */
const char *nt_strerror(int rc);
#endif
