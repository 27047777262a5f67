natterctl-srcs := tools/natterctl/natterctl.c $(core-srcs) $(jid-srcs) $(scram-srcs) \
                  $(store-srcs)
