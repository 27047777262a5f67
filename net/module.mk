# The poller (epoll.c) waits for every descriptor, whichever stack carries the connections;
# lwip.c adds natterd's own TCP/IP stack on an Ethernet port from drivers/ethdev.c.
net-lwip := $(filter y,$(CONFIG_NET_LWIP) $(CONFIG_NET_BOTH))
net-srcs := net/timers.c net/epoll.c $(if $(net-lwip),net/lwip.c drivers/ethdev.c)
natterd-srcs += $(net-srcs)

ifneq ($(net-lwip),)
LWIP_CFLAGS := $(shell $(PKG_CONFIG) --cflags lwip 2>/dev/null)
LWIP_LIBS   := $(or $(shell $(PKG_CONFIG) --libs lwip 2>/dev/null),-llwip) -lpthread
$(O)/net/lwip.o: ALL_CFLAGS += $(LWIP_CFLAGS)
LDLIBS += $(LWIP_LIBS)
endif
