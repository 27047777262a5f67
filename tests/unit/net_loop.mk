unit-tests += net_loop
unit-net_loop-srcs := $(core-srcs) net/timers.c net/epoll.c
