/*
 * The setup code (see setupcode.h), kept under an internal name in the settings table.
 * Symbols that look alike (0/O, 1/I) are left out: people read it off a log and type it.
 */
#include <string.h>
#include <sys/random.h>
#include "core/err.h"
#include "core/setupcode.h"

#define SETUP_KEY "setup.code"

static const char setup_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

static int setup_code_valid(const char *c, size_t n)
{
	if (n != SETUP_CODE_LEN || c[4] != '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (i != 4 && (c[i] == '\0' || strchr(setup_alphabet, c[i]) == NULL))
			return 0;
	return 1;
}

int setup_code_get(struct store_txn *t, char out[SETUP_CODE_LEN + 1])
{
	unsigned char r[8];
	size_t len;
	int rc = store_setting_get(t, SETUP_KEY, out, SETUP_CODE_LEN, &len);

	if (rc == NT_OK && setup_code_valid(out, len)) {
		out[len] = '\0';
		return NT_OK;
	}
	if (rc != NT_OK && rc != NT_ENOENT && rc != NT_ELIMIT)
		return rc;
	/* None yet, or not one of ours: make a new one. */
	if (!store_txn_writable(t))
		return NT_ENOENT;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return NT_EIO;
	for (size_t i = 0, j = 0; i < SETUP_CODE_LEN; i++) {
		if (i == 4) {
			out[i] = '-';
			continue;
		}
		out[i] = setup_alphabet[r[j++] & 31];	/* 256 is a multiple of 32: uniform */
	}
	out[SETUP_CODE_LEN] = '\0';
	return store_setting_put(t, SETUP_KEY, out, SETUP_CODE_LEN);
}

int setup_code_matches(const char code[SETUP_CODE_LEN + 1], const char *typed)
{
	char norm[SETUP_CODE_LEN];
	unsigned char diff = 0;
	size_t n = 0;

	for (; *typed != '\0'; typed++) {
		char ch = *typed;

		if (ch == ' ' || ch == '-' || ch == '\t')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (n == 4)
			norm[n++] = '-';
		if (n >= sizeof(norm))
			return 0;		/* too long */
		norm[n++] = ch;
	}
	if (n != sizeof(norm))
		return 0;
	for (size_t i = 0; i < sizeof(norm); i++)
		diff |= (unsigned char)(norm[i] ^ code[i]);
	return diff == 0;
}

int setup_code_renew(struct store_txn *t)
{
	char code[SETUP_CODE_LEN + 1];
	int rc = store_setting_del(t, SETUP_KEY);

	if (rc != NT_OK && rc != NT_ENOENT)
		return rc;
	return setup_code_get(t, code);
}
