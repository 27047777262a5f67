# natter-load's SCRAM client against the RFC examples and natterd's SCRAM server. The client is
# on OpenSSL: "-lcrypto" as an extra prerequisite, which GNU make resolves to the library's
# path and puts after the objects of the rule that links.
unit-tests += load_scram
unit-load_scram-srcs := tools/natter-load/sasl.c $(scram-srcs) $(core-srcs)
$(O)/tests/unit/test_load_scram: -lcrypto
