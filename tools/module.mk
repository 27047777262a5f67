natterctl-srcs := tools/natterctl/natterctl.c tools/natterctl/import.c $(core-srcs) \
                  $(jid-srcs) $(scram-srcs) $(store-srcs)
