unit-tests += tls_cert
unit-tls_cert-srcs := $(tls-srcs) $(core-srcs) tests/unit/stubs/net_pipe.c tests/unit/stubs/tmpdir.c tests/unit/stubs/certfix.c
