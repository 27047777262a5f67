fuzz-targets += store
fuzz-store-srcs := $(store-srcs) $(core-srcs)
