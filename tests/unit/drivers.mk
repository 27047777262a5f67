unit-tests += drivers
unit-drivers-srcs := $(core-srcs) net/timers.c net/epoll.c $(drivers-srcs) tests/unit/stubs/tmpdir.c
