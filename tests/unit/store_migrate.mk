unit-tests += store_migrate
unit-store_migrate-srcs := $(store-srcs) $(core-srcs) tests/unit/stubs/tmpdir.c
