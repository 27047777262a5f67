#ifndef NATTER_DRIVERS_ETHDEV_H
#define NATTER_DRIVERS_ETHDEV_H
/*
 * A network port that moves whole Ethernet frames for natterd's own TCP/IP stack (net/lwip.c):
 *   "tap"     a TAP device (development, tests, QEMU), made when missing;
 *   "packet"  a raw Ethernet port through an AF_PACKET socket, on a board that gives one of
 *             its ports to the box (the kernel keeps no address of its own on it).
 * The descriptor is non-blocking; the owner watches it and reads until NT_EAGAIN.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ETHDEV_FRAME_MAX 1518	/* 1500 bytes of payload, the header and a VLAN tag */

struct ethdev;

/* Opens ifname as kind ("tap" or "packet") and brings the port up. NT_OK; NT_EINVAL for an
 * unknown kind or a bad name; NT_EIO when the port cannot be opened (logged). */
int  ethdev_open(struct ethdev **out, const char *kind, const char *ifname);
/* The descriptor to watch for readability; -1 while the port is lost. */
int  ethdev_fd(const struct ethdev *d);
/* The MAC address the stack should use on the port (the same across reopens). */
void ethdev_mac(const struct ethdev *d, uint8_t mac[6]);
const char *ethdev_name(const struct ethdev *d);
/* Reads one frame: its length, NT_EAGAIN (none now), or NT_EIO (the port is gone: close it
 * with ethdev_lose() and try ethdev_reopen() later). */
ssize_t ethdev_recv(struct ethdev *d, void *buf, size_t cap);
/* Sends one frame. NT_OK; NT_EAGAIN (the queue is full: dropped, as a NIC would); NT_EIO. */
int  ethdev_send(struct ethdev *d, const void *frame, size_t n);
/* Marks a port that went away: a raw port's socket is closed; a TAP device keeps its
 * descriptor (only root may open /dev/net/tun) to attach again. */
void ethdev_lose(struct ethdev *d);
/* Opens the port again after ethdev_lose(), once it exists again; NT_OK or NT_EIO (not
 * logged: the caller retries). */
int  ethdev_reopen(struct ethdev *d);
/* NULL-safe. */
void ethdev_free(struct ethdev *d);
#endif
