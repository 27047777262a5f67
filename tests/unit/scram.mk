unit-tests += scram
unit-scram-srcs := $(scram-srcs) $(core-srcs)
