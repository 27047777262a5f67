unit-tests += framer
unit-framer-srcs := $(xml-srcs) $(core-srcs) tests/unit/stubs/framer_run.c
