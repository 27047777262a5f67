unit-tests += net
unit-net-srcs := $(core-srcs) net/timers.c net/epoll.c
