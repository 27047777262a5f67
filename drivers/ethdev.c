/*
 * Ethernet ports for lwIP: a TAP device or a raw port through AF_PACKET (see ethdev.h).
 * Both give whole frames, one per read, on a non-blocking descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "core/err.h"
#include "core/log.h"
#include "drivers/ethdev.h"

enum ethdev_kind { ETHDEV_TAP, ETHDEV_PACKET };

struct ethdev {
	enum ethdev_kind kind;
	int fd;
	int lost;			/* the port went away; a TAP keeps its descriptor */
	uint8_t mac[6];
	char name[IFNAMSIZ];
};

static int  tap_open(struct ethdev *d, int quiet);
static void csum_complete(uint8_t *f, size_t n);
static int  packet_open(struct ethdev *d, int quiet);
static int  port_up(const char *name, int quiet);

/* Sets IFF_UP on the kernel's side of the port. */
static int port_up(const char *name, int quiet)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = NT_EIO;

	if (s < 0)
		goto out;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		goto out;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
			goto out;
	}
	rc = NT_OK;
out:
	if (rc != NT_OK && !quiet)
		log_err("ethdev %s: bringing it up: %s", name, strerror(errno));
	if (s >= 0)
		close(s);
	return rc;
}

/* Attaches fd (of /dev/net/tun) to the TAP device and brings it up. */
static int tap_attach(struct ethdev *d, int fd, int quiet)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		if (!quiet)
			log_err("ethdev %s: attaching to the TAP device: %s", d->name,
			        strerror(errno));
		return NT_EIO;
	}
	return port_up(d->name, quiet);
}

static int tap_open(struct ethdev *d, int quiet)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (!quiet)
			log_err("ethdev %s: /dev/net/tun: %s", d->name, strerror(errno));
		return NT_EIO;
	}
	if (tap_attach(d, fd, quiet) != NT_OK) {
		close(fd);
		return NT_EIO;
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = fd;
	d->lost = 0;
	return NT_OK;
}

/* The kernel must not answer on the box's port: IPv6 there would give it an address of its
 * own. Best effort; a kernel without IPv6 has nothing to turn off. */
static void packet_quiet_kernel(const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	if (write(fd, "1", 1) != 1)
		log_warn("ethdev %s: could not turn off the kernel's IPv6 on it", name);
	close(fd);
}

/* Receive offloads merge TCP segments into frames larger than the port's MTU, which a stack
 * of its own cannot take: turn GRO off on the port (best effort; most ports have none). */
static void port_no_gro(int fd, const char *name)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = 0 };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr) != 0 && errno != EOPNOTSUPP)
		log_debug("ethdev %s: turning GRO off: %s", name, strerror(errno));
}

/* Sums 16-bit big-endian words into a 32-bit accumulator. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n == 1)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

/* A frame the kernel itself sent (a veth peer, a virtual NIC) may leave its TCP or UDP
 * checksum to "the device"; this port is that device, so it fills the checksum in. */
static void csum_complete(uint8_t *f, size_t n)
{
	size_t l3 = 14, l4, len;
	uint32_t sum = 0;
	unsigned type = (unsigned)(f[12] << 8 | f[13]), proto;
	uint8_t *ck;

	if (type == 0x8100 && n >= 18) {	/* one VLAN tag */
		type = (unsigned)(f[16] << 8 | f[17]);
		l3 = 18;
	}
	if (type == 0x0800 && n >= l3 + 20) {
		l4 = l3 + (size_t)(f[l3] & 0x0f) * 4;
		len = (size_t)(f[l3 + 2] << 8 | f[l3 + 3]);
		if (len < l4 - l3 || l3 + len > n)
			return;
		len -= l4 - l3;
		proto = f[l3 + 9];
		sum = csum_add(sum, f + l3 + 12, 8);		/* source, destination */
	} else if (type == 0x86dd && n >= l3 + 40) {
		l4 = l3 + 40;				/* no extension headers: TCP/UDP only */
		len = (size_t)(f[l3 + 4] << 8 | f[l3 + 5]);
		proto = f[l3 + 6];
		if (l4 + len > n)
			return;
		sum = csum_add(sum, f + l3 + 8, 32);
	} else {
		return;
	}
	if (proto == 6 && len >= 20)
		ck = f + l4 + 16;
	else if (proto == 17 && len >= 8)
		ck = f + l4 + 6;
	else
		return;
	sum += proto + (uint32_t)len;
	ck[0] = ck[1] = 0;
	sum = csum_add(sum, f + l4, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (proto == 17 && sum == 0)
		sum = 0xffff;
	ck[0] = (uint8_t)(sum >> 8);
	ck[1] = (uint8_t)sum;
}

static int packet_open(struct ethdev *d, int quiet)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	struct ifreq ifr = { 0 };
	unsigned idx = if_nametoindex(d->name);
	int fd = -1, one = 1;

	if (idx == 0)
		goto fail;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		goto fail;
	sll.sll_ifindex = (int)idx;
	mr.mr_ifindex = (int)idx;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0 ||
	    /* Multicast (IPv6 neighbour discovery) and frames for the stack's MAC. */
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0 ||
	    /* Whether the kernel left a checksum for the device to fill (see csum_complete). */
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0 ||
	    ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
		goto fail;
	if (ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
		errno = EPROTONOSUPPORT;
		goto fail;
	}
	if (port_up(d->name, quiet) != NT_OK)
		goto fail_logged;
	packet_quiet_kernel(d->name);
	port_no_gro(fd, d->name);
	memcpy(d->mac, ifr.ifr_hwaddr.sa_data, 6);	/* the port's own address */
	d->fd = fd;
	return NT_OK;
fail:
	if (!quiet)
		log_err("ethdev %s: raw port: %s", d->name, strerror(errno));
fail_logged:
	if (fd >= 0)
		close(fd);
	return NT_EIO;
}

int ethdev_open(struct ethdev **out, const char *kind, const char *ifname)
{
	struct ethdev *d;
	int rc;

	*out = NULL;
	if (ifname == NULL || ifname[0] == '\0' || strlen(ifname) >= IFNAMSIZ ||
	    strchr(ifname, '/') != NULL) {
		log_err("ethdev: '%s' is not a network interface name", ifname ? ifname : "");
		return NT_EINVAL;
	}
	if (kind == NULL || (strcmp(kind, "tap") != 0 && strcmp(kind, "packet") != 0)) {
		log_err("ethdev: unknown driver '%s' (tap or packet)", kind ? kind : "");
		return NT_EINVAL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NT_ENOMEM;
	d->kind = strcmp(kind, "tap") == 0 ? ETHDEV_TAP : ETHDEV_PACKET;
	d->fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", ifname);
	/* A TAP device's stack needs a MAC of its own: random, locally administered, unicast,
	 * kept across reopens so the peer's neighbour cache stays right. */
	if (getrandom(d->mac, sizeof(d->mac), 0) != (ssize_t)sizeof(d->mac)) {
		log_err("ethdev %s: getrandom: %s", d->name, strerror(errno));
		free(d);
		return NT_EIO;
	}
	d->mac[0] = (uint8_t)((d->mac[0] & 0xfe) | 0x02);
	rc = d->kind == ETHDEV_TAP ? tap_open(d, 0) : packet_open(d, 0);
	if (rc != NT_OK) {
		free(d);
		return rc;
	}
	*out = d;
	return NT_OK;
}

int ethdev_fd(const struct ethdev *d)
{
	return d->lost ? -1 : d->fd;
}

void ethdev_mac(const struct ethdev *d, uint8_t mac[6])
{
	memcpy(mac, d->mac, 6);
}

const char *ethdev_name(const struct ethdev *d)
{
	return d->name;
}

ssize_t ethdev_recv(struct ethdev *d, void *buf, size_t cap)
{
	for (;;) {
		struct sockaddr_ll from = { 0 };
		ssize_t r;

		if (d->fd < 0 || d->lost)
			return NT_EIO;
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} ctl;
		struct iovec iov = { buf, cap };
		struct msghdr mh = { &from, sizeof(from), &iov, 1, &ctl, sizeof(ctl), 0 };
		int partial = 0;

		if (d->kind == ETHDEV_TAP) {
			r = read(d->fd, buf, cap);
		} else {
			r = recvmsg(d->fd, &mh, MSG_TRUNC);
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); r > 0 && cm != NULL;
			     cm = CMSG_NXTHDR(&mh, cm)) {
				struct tpacket_auxdata aux;

				if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA)
					continue;
				memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
				partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
			}
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return NT_EAGAIN;
			log_debug("ethdev %s: read: %s", d->name, strerror(errno));
			return NT_EIO;
		}
		if (r == 0 && d->kind == ETHDEV_TAP)
			return NT_EIO;
		/* A raw port also shows the frames the box itself sent, and may hand over a
		 * frame longer than the buffer (MSG_TRUNC gives its real length): skip both. */
		if (d->kind == ETHDEV_PACKET && from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if ((size_t)r > cap || r < 14)
			continue;
		if (partial)
			csum_complete(buf, (size_t)r);
		return r;
	}
}

int ethdev_send(struct ethdev *d, const void *frame, size_t n)
{
	for (;;) {
		ssize_t r;

		if (d->fd < 0 || d->lost)
			return NT_EIO;
		r = d->kind == ETHDEV_TAP ? write(d->fd, frame, n) : send(d->fd, frame, n, 0);
		if (r == (ssize_t)n)
			return NT_OK;
		if (r >= 0)
			return NT_EIO;	/* a device never takes part of a frame */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return NT_EAGAIN;
		return NT_EIO;
	}
}

/* Only root may open /dev/net/tun, and natterd has dropped root by now: a TAP device keeps
 * its descriptor, which can attach again once the device is back. */
void ethdev_lose(struct ethdev *d)
{
	d->lost = 1;
	if (d->kind == ETHDEV_TAP)
		return;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int ethdev_reopen(struct ethdev *d)
{
	if (!d->lost)
		return NT_OK;
	/* A device that was deleted is waited for, not made again: whoever took it away (an
	 * admin, a test) brings it back with its addresses. */
	if (if_nametoindex(d->name) == 0)
		return NT_EIO;
	if (d->kind == ETHDEV_PACKET) {
		if (packet_open(d, 1) != NT_OK)
			return NT_EIO;
		d->lost = 0;
		return NT_OK;
	}
	if (d->fd >= 0 && tap_attach(d, d->fd, 1) == NT_OK) {
		d->lost = 0;
		return NT_OK;
	}
	return tap_open(d, 1);		/* a fresh descriptor, while natterd is root */
}

void ethdev_free(struct ethdev *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}
