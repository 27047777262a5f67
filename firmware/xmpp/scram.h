#ifndef NATTER_XMPP_SCRAM_H
#define NATTER_XMPP_SCRAM_H
/* SCRAM (RFC 5802, RFC 7677) on the server side, with channel binding for the -PLUS variants
 * (tls-server-end-point, RFC 5929; tls-exporter, RFC 9266), and the credential derivation
 * natterctl uses. Messages are the decoded SASL payloads. */
#include <stddef.h>
#include <stdint.h>

enum scram_hash { SCRAM_SHA_1, SCRAM_SHA_256 };

#define SCRAM_KEY_MAX   32	/* SHA-256 output */
#define SCRAM_SALT_MAX  32
#define SCRAM_NONCE_LEN 24	/* random bytes behind the server's nonce part, before base64 */
#define SCRAM_MSG_MAX   1024	/* longest SCRAM message accepted or produced */
#define JID_MAX_GS2     320	/* room for "n,a=<authzid>," with a long bare JID */
#define SCRAM_CB_MAX    64	/* longest channel binding data: a SHA-512 certificate hash */
#define SCRAM_CB_ALTS   2	/* accepted values of one binding type (see struct scram_cb) */

enum scram_cb_type { SCRAM_CB_SERVER_END_POINT, SCRAM_CB_EXPORTER, SCRAM_CB_TYPES };

/* One binding type's data on this connection. len 0: the connection cannot give this type. */
struct scram_cb_data {
	uint8_t len;
	uint8_t data[SCRAM_CB_MAX];
};

/* What the server offers an exchange. offered: the stream advertised -PLUS mechanisms (a
 * client's "y" flag is then a downgrade). plus: the client picked a -PLUS mechanism (it must
 * send "p=<type>"). data[type][alt]: the values the client's c= may carry for each type;
 * tls-exporter has two on TLS 1.2, where RFC 5705 tells "no context" from "empty context"
 * and clients differ; each is matched exactly. */
struct scram_cb {
	int offered, plus;
	struct scram_cb_data data[SCRAM_CB_TYPES][SCRAM_CB_ALTS];
};

/* The type's name as in "p=<name>" and XEP-0440 ("tls-server-end-point", "tls-exporter"). */
const char *scram_cb_name(enum scram_cb_type t);

/* What the store keeps instead of a password. Key lengths are scram_hash_len(hash). */
struct scram_creds {
	uint32_t iterations;
	uint8_t salt_len;
	uint8_t salt[SCRAM_SALT_MAX];
	uint8_t stored_key[SCRAM_KEY_MAX];
	uint8_t server_key[SCRAM_KEY_MAX];
};

size_t scram_hash_len(enum scram_hash h);

/* SASLprep (RFC 4013) of a password, then SaltedPassword, StoredKey and ServerKey.
 * NT_EINVAL when the password fails SASLprep or is empty (also: SCRAM_MSG_MAX bytes or more,
 * a salt of 0 or more than SCRAM_SALT_MAX bytes, 0 iterations). */
int scram_creds_make(enum scram_hash h, const char *password, size_t pwlen,
                     const uint8_t *salt, size_t salt_len, uint32_t iterations,
                     struct scram_creds *out);
/* For SASL PLAIN: NT_OK when password matches creds, NT_EAUTH when not, NT_EINVAL when it
 * fails SASLprep. Costs one PBKDF2. Compares in constant time. */
int scram_check_password(enum scram_hash h, const struct scram_creds *c, const char *password,
                         size_t pwlen);
/* Deterministic credentials for an unknown user, so a SCRAM exchange for a missing account
 * looks like one for a real account with a wrong password. secret is a server-wide key. */
void scram_creds_fake(enum scram_hash h, const char *user, const uint8_t *secret,
                      size_t secret_len, uint32_t iterations, struct scram_creds *out);

struct scram_server {
	enum scram_hash hash;
	int state;
	struct scram_creds creds;
	char gs2_header[JID_MAX_GS2];
	struct scram_cb_data cb[SCRAM_CB_ALTS];	/* the binding c= must carry, or none */
	char client_first_bare[SCRAM_MSG_MAX];
	char server_first[SCRAM_MSG_MAX];
	char nonce[2 * SCRAM_MSG_MAX / 4];	/* client nonce + server nonce */
};

/* Parses client-first-message. cb is what this exchange may bind to; NULL: no binding at
 * all (no -PLUS offered, not a -PLUS mechanism). On NT_OK user holds the SASLprep'd, unescaped
 * username. NT_EINVAL: malformed (malformed-request), including "m=" extensions, a gs2 header
 * that does not fit gs2_header, a -PLUS mechanism without "p=", "p=" without one, or a binding
 * type the connection cannot give. NT_EAUTH: an authzid other than the user (accepted: "a="
 * equal to the unescaped username or to "username@<anything>"), or the "y" flag while cb
 * says -PLUS was offered (a downgrade). NT_ELIMIT: the username does not fit user_cap. */
int scram_server_start(struct scram_server *s, enum scram_hash h, const struct scram_cb *cb,
                       const char *msg, size_t n, char *user, size_t user_cap);
/* Makes server-first-message with a fresh nonce, for creds of the user (real or fake).
 * Writes a NUL-terminated message to out. NT_EINVAL when not right after scram_server_start
 * or for unusable creds; NT_ELIMIT when cap is too small; NT_EIO when the DRBG fails. */
int scram_server_first(struct scram_server *s, const struct scram_creds *c, char *out,
                       size_t cap);
/* Checks client-final-message. NT_OK: out holds server-final-message ("v=..."); NT_EAUTH:
 * wrong proof, or c= carries the gs2 header but not the connection's binding data (a man in
 * the middle; not-authorized); NT_EINVAL: malformed, nonce or gs2 header mismatch, or not
 * right after scram_server_first (one attempt per exchange); NT_ELIMIT: cap too small. */
int scram_server_final(struct scram_server *s, const char *msg, size_t n, char *out,
                       size_t cap);
/* Wipes keys and state. */
void scram_server_clear(struct scram_server *s);

/* Tests only: after scram_server_start, makes the next scram_server_first use nonce (printable
 * ASCII without ',') as the server's nonce part instead of fresh random bytes, so the RFC 5802
 * and RFC 7677 examples can be replayed. NT_EINVAL in any other state or when it is malformed
 * or too long. */
int scram_server_set_nonce_for_test(struct scram_server *s, const char *nonce);

/* SASL PLAIN (RFC 4616): splits "authzid\0authcid\0password". Pointers go into msg; lengths
 * are returned. NT_EINVAL when malformed (missing NULs, empty authcid or password). */
int sasl_plain_parse(const char *msg, size_t n, const char **authzid, size_t *authzid_len,
                     const char **authcid, size_t *authcid_len, const char **pass,
                     size_t *pass_len);
#endif
