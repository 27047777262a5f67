#ifndef NATTER_XMPP_CREDCHECK_H
#define NATTER_XMPP_CREDCHECK_H
/*
 * A session remembers a short tag of the credentials it logged in with (a hash of the
 * account's stored SCRAM keys), so that a new password, set from anywhere (natterctl passwd,
 * the first-run page, in-band), ends the account's other sessions: an admin who resets a
 * stolen password throws the thief out.
 */
struct c2s;
struct natterd;

/* At authentication: tags s with its account's credentials as the store has them now.
 * NT_OK; NT_ENOENT when the account is gone; the store's errors (s stays untagged, and an
 * untagged session ends at the next change of the accounts). */
int  credcheck_remember(struct c2s *s);
/* After the accounts changed: ends, with a stream error, every authenticated session whose
 * account was deleted or whose credentials are no longer the ones it logged in with. */
void credcheck_sessions(struct natterd *d);
#endif
