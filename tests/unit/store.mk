unit-tests += store
unit-store-srcs := $(store-srcs) $(core-srcs)
