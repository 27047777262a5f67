#include "core/err.h"

const char *nt_strerror(int rc)
{
	switch (rc) {
	case NT_OK:      return "ok";
	case NT_ENOMEM:  return "out of memory";
	case NT_ELIMIT:  return "limit reached";
	case NT_EINVAL:  return "invalid input";
	case NT_EIO:     return "i/o error";
	case NT_EAGAIN:  return "try again";
	case NT_ENOENT:  return "not found";
	case NT_EEXIST:  return "already exists";
	case NT_ESTORE:  return "store error";
	case NT_EAUTH:   return "authentication failed";
	case NT_ECLOSED: return "connection closed";
	case NT_EBUSY:   return "busy";
	case NT_EFULL:   return "store full";
	default:         return "unknown error";
	}
}
