fuzz-targets += framer
fuzz-framer-srcs := $(xml-srcs) $(core-srcs)
