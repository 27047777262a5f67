unit-tests += jid
unit-jid-srcs := $(jid-srcs) $(core-srcs)
