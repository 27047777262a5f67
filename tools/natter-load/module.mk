# natter-load: the XMPP load generator the benchmarks drive (tools/bench/). A host tool on
# OpenSSL (libssl-dev): its ECC is faster than mbedTLS's, so the generator is not what a
# benchmark measures. Not part of a cross build (CROSS_COMPILE) of the firmware.
natter-load-srcs := tools/natter-load/main.c tools/natter-load/gen.c tools/natter-load/conn.c \
                    tools/natter-load/xmpp.c tools/natter-load/xml.c tools/natter-load/sasl.c \
                    tools/natter-load/stats.c tools/natter-load/scen_basic.c \
                    tools/natter-load/scen_cycles.c \
                    tools/natter-load/scen_chat.c tools/natter-load/scen_roster.c \
                    firmware/core/base64.c firmware/core/log.c firmware/core/err.c
NATTER_LOAD_LIBS = $(or $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null),-lssl -lcrypto)

$(O)/natter-load: $(call objs,$(natter-load-srcs))
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(NATTER_LOAD_LIBS)

ifeq ($(CROSS_COMPILE),)
all: $(O)/natter-load
endif
