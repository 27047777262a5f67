fuzz-targets += jid
fuzz-jid-srcs := $(jid-srcs) $(core-srcs)
