#ifndef NATTER_XMPP_NS_H
#define NATTER_XMPP_NS_H
/* XML namespaces used across xmpp/. */
#define NS_CLIENT	"jabber:client"
#define NS_STREAMS	"urn:ietf:params:xml:ns:xmpp-streams"
#define NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"
#define NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_PING		"urn:xmpp:ping"
#define NS_DELAY	"urn:xmpp:delay"
#define NS_DISCO_INFO	"http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS	"http://jabber.org/protocol/disco#items"
#define NS_OFFLINE	"msgoffline"
#endif
