fuzz-targets += sasl
fuzz-sasl-srcs := $(scram-srcs) $(core-srcs)
