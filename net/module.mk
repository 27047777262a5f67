net-srcs-$(CONFIG_NET_EPOLL) += net/epoll.c
net-srcs := net/timers.c $(net-srcs-y)
natterd-srcs += $(net-srcs)
