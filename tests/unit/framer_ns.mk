unit-tests += framer_ns
unit-framer_ns-srcs := $(xml-srcs) $(core-srcs) tests/unit/stubs/framer_run.c
