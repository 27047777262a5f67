unit-tests += store_room
unit-store_room-srcs := $(store-srcs) $(core-srcs) tests/unit/stubs/tmpdir.c
