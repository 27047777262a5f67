core-srcs  := firmware/core/err.c firmware/core/log.c firmware/core/buf.c \
              firmware/core/keycount.c firmware/core/settings.c firmware/core/addrkey.c
xml-srcs   := firmware/xml/framer.c firmware/xml/xml.c
jid-srcs   := firmware/xmpp/jid.c
scram-srcs := firmware/xmpp/scram.c firmware/core/base64.c
store-srcs := firmware/store/store.c firmware/store/schema.c firmware/store/migrate.c \
              firmware/store/accounts.c firmware/store/offline.c \
              firmware/store/settings.c
tls-srcs   := firmware/tls/tls.c firmware/tls/cert.c
http-srcs  := firmware/web/http.c

natterd-srcs += $(core-srcs) $(xml-srcs) $(jid-srcs) $(scram-srcs) $(store-srcs) $(tls-srcs) \
                $(http-srcs) firmware/web/web.c firmware/web/setup.c \
                firmware/core/main.c firmware/core/natterd.c firmware/core/board.c \
                firmware/core/privs.c firmware/core/setupcode.c \
                firmware/xmpp/c2s.c firmware/xmpp/sasl.c firmware/xmpp/router.c \
                firmware/xmpp/stanza.c firmware/xmpp/message.c firmware/xmpp/presence.c \
                firmware/xmpp/iq.c firmware/xmpp/disco.c firmware/xmpp/offline.c \
                firmware/xmpp/credcheck.c

