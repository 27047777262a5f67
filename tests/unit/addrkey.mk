# Per-address keys for limits (IPv6 per /64) and the once-per-period refusal log.
unit-tests += addrkey
unit-addrkey-srcs := $(core-srcs)
