#ifndef NATTER_TESTS_FRAMER_RUN_H
#define NATTER_TESTS_FRAMER_RUN_H
/*
 * Test-only: runs the XML stream framer over a document cut in different ways and records
 * its events, for test_framer.c and test_framer_ns.c. Failures are cmocka assertions.
 */
#include <stddef.h>
#include <mxml.h>
#include "xml/framer.h"

#define NS_CLIENT "jabber:client"
#define HDR_OPEN "<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'"
#define HDR HDR_OPEN ">"
#define DECL "<?xml version='1.0'?>"
#define MAX_EVENTS 64
#define FRAMER_LIM_DEFAULT { 65536, 32, 32 }

struct rec {
	enum xml_ev_type type;
	enum xml_err err;
	char ns[96];
	char name[48];
	char *xml;		/* the serialised node, or NULL */
};

struct run {
	struct rec ev[MAX_EVENTS];
	size_t n;
	size_t used;		/* bytes consumed in all */
};

enum split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

/* Frees the recorded serialisations. */
void run_free(struct run *r);
/* Feeds s[0..len) cut as `how` says, recording each event until an error or the close. */
void run_feed(const struct xml_limits *lim, const char *s, size_t len, enum split how,
	      unsigned seed, struct run *r);
void assert_same_runs(const struct run *a, const struct run *b);
/* Runs s whole into r, and checks byte-at-a-time and random splits give the same events. */
void run_all(const struct xml_limits *lim, const char *s, size_t len, struct run *r);
/* The error the document s ends with, or XML_ERR_NONE; same for every way of splitting it. */
enum xml_err doc_err_lim(const struct xml_limits *lim, const char *s);
enum xml_err doc_err(const char *s);
/* The same, for body after HDR. */
enum xml_err stream_err_lim(const struct xml_limits *lim, const char *body);
enum xml_err stream_err(const char *body);
/* The one element event of body after HDR; its tree is returned (caller frees). ev's
 * strings point to ns and name, which must hold them. */
mxml_node_t *one_element(const char *body, struct xml_event *out, char *ns, char *name);
#endif
