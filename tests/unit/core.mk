unit-tests += core
unit-core-srcs := $(core-srcs)
