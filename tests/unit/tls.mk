unit-tests += tls
unit-tls-srcs := $(tls-srcs) $(core-srcs) tests/unit/stubs/net_pipe.c tests/unit/stubs/tls_link.c tests/unit/stubs/tmpdir.c tests/unit/stubs/certfix.c
