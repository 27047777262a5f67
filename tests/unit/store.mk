unit-tests += store
unit-store-srcs := $(store-srcs) $(core-srcs) tests/unit/stubs/tmpdir.c
