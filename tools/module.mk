natterctl-srcs := tools/natterctl/natterctl.c tools/natterctl/import.c \
                  tools/natterctl/settings.c firmware/core/setupcode.c $(core-srcs) \
                  $(jid-srcs) $(scram-srcs) $(store-srcs)
