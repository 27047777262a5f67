unit-tests += framer
unit-framer-srcs := $(xml-srcs) $(core-srcs)
