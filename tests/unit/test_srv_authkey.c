/* SPDX-License-Identifier: ISC */
/*
 * test_srv_authkey: pre-auth and API key texts: the generated format, the
 * prefix and hash parse gives back, a wrong key (one digit changed, the other
 * kind, malformed) refused, and the masked form that lists show.
 */
#include <ctype.h>

#include "weft-server/authkey.h"
#include "testutil.h"

static bool all_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static void check_format(enum authkey_kind kind, const char *tag)
{
	char text[AUTHKEY_TEXT_MAX], text2[AUTHKEY_TEXT_MAX];
	char prefix[AUTHKEY_PREFIX_LEN + 1], prefix2[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN], hash2[AUTHKEY_HASH_LEN];
	size_t tl = strlen(tag);

	authkey_generate(kind, text, prefix, hash);
	assert_int_equal(strlen(text), tl + AUTHKEY_PREFIX_LEN + 1 + AUTHKEY_SECRET_LEN);
	assert_true(strncmp(text, tag, tl) == 0);
	assert_int_equal(strlen(prefix), AUTHKEY_PREFIX_LEN);
	assert_true(all_lower_hex(prefix, AUTHKEY_PREFIX_LEN));
	assert_memory_equal(text + tl, prefix, AUTHKEY_PREFIX_LEN);
	assert_int_equal(text[tl + AUTHKEY_PREFIX_LEN], '-');
	assert_true(all_lower_hex(text + tl + AUTHKEY_PREFIX_LEN + 1, AUTHKEY_SECRET_LEN));

	/* Parsing the text gives the same prefix and hash. */
	assert_int_equal(authkey_parse(kind, text, prefix2, hash2), 0);
	assert_string_equal(prefix2, prefix);
	assert_true(authkey_hash_eq(hash, hash2));

	/* Two keys differ in prefix, secret and hash. */
	authkey_generate(kind, text2, prefix2, hash2);
	assert_string_not_equal(text, text2);
	assert_string_not_equal(prefix, prefix2);
	assert_false(authkey_hash_eq(hash, hash2));
}

static void test_generate(void **state)
{
	(void)state;
	check_format(AUTHKEY_PREAUTH, "wkey-auth-");
	check_format(AUTHKEY_API, "wkey-api-");
}

static void test_wrong_key(void **state)
{
	char text[AUTHKEY_TEXT_MAX], bad[AUTHKEY_TEXT_MAX];
	char prefix[AUTHKEY_PREFIX_LEN + 1], p2[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN], h2[AUTHKEY_HASH_LEN];
	size_t len;

	(void)state;
	authkey_generate(AUTHKEY_PREAUTH, text, prefix, hash);
	len = strlen(text);
	/* Each secret digit changed: parses (same prefix), hash differs. */
	for (size_t i = strlen("wkey-auth-") + AUTHKEY_PREFIX_LEN + 1; i < len; i++) {
		memcpy(bad, text, len + 1);
		bad[i] = bad[i] == '0' ? '1' : '0';
		assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, p2, h2), 0);
		assert_string_equal(p2, prefix);
		assert_false(authkey_hash_eq(hash, h2));
	}
	/* A pre-auth key is not an API key, nor the other way round. */
	assert_int_equal(authkey_parse(AUTHKEY_API, text, p2, h2), -EINVAL);
	snprintf(bad, sizeof(bad), "wkey-api-%s", text + strlen("wkey-auth-"));
	assert_int_equal(authkey_parse(AUTHKEY_API, bad, p2, h2), 0);
	assert_false(authkey_hash_eq(hash, h2)); /* the tag is hashed too */
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, p2, h2), -EINVAL);
}

static void test_parse_rejects(void **state)
{
	char text[AUTHKEY_TEXT_MAX], bad[AUTHKEY_TEXT_MAX + 8];
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN];
	size_t len, tl = strlen("wkey-auth-");

	(void)state;
	authkey_generate(AUTHKEY_PREAUTH, text, prefix, hash);
	len = strlen(text);
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, "", prefix, hash), -EINVAL);
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, "wkey-auth-", prefix, hash), -EINVAL);
	/* one character short, one long, trailing newline */
	snprintf(bad, sizeof(bad), "%.*s", (int)len - 1, text);
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	snprintf(bad, sizeof(bad), "%s0", text);
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	snprintf(bad, sizeof(bad), "%s\n", text);
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	/* upper-case hex, non-hex, the dash moved or missing, a different tag */
	memcpy(bad, text, len + 1);
	bad[tl] = 'A';
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	memcpy(bad, text, len + 1);
	bad[len - 1] = 'g';
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	memcpy(bad, text, len + 1);
	bad[tl + AUTHKEY_PREFIX_LEN] = '0';
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	memcpy(bad, text, len + 1);
	bad[tl + AUTHKEY_PREFIX_LEN] = 'x';
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	memcpy(bad, text, len + 1);
	bad[0] = 'W';
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	memcpy(bad, text, len + 1);
	bad[tl - 1] = '_';
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH, bad, prefix, hash), -EINVAL);
	/* Headscale-style keys are not ours. */
	assert_int_equal(authkey_parse(AUTHKEY_PREAUTH,
				       "0123456789abcdef0123456789abcdef0123456789abcdef", prefix,
				       hash),
			 -EINVAL);
}

static void test_masked(void **state)
{
	char text[AUTHKEY_TEXT_MAX], out[AUTHKEY_TEXT_MAX];
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN];
	char want[64];

	(void)state;
	authkey_generate(AUTHKEY_API, text, prefix, hash);
	authkey_masked(AUTHKEY_API, prefix, out);
	snprintf(want, sizeof(want), "wkey-api-%s-***", prefix);
	assert_string_equal(out, want);
	assert_null(strstr(out, text + strlen("wkey-api-") + AUTHKEY_PREFIX_LEN + 1));
	authkey_masked(AUTHKEY_PREAUTH, prefix, out);
	snprintf(want, sizeof(want), "wkey-auth-%s-***", prefix);
	assert_string_equal(out, want);
}

static void test_hash_eq(void **state)
{
	uint8_t a[AUTHKEY_HASH_LEN], b[AUTHKEY_HASH_LEN];

	(void)state;
	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(authkey_hash_eq(a, b));
	for (size_t i = 0; i < AUTHKEY_HASH_LEN; i++) {
		b[i] ^= 0x01;
		assert_false(authkey_hash_eq(a, b));
		b[i] ^= 0x01;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),      cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_parse_rejects), cmocka_unit_test(test_masked),
		cmocka_unit_test(test_hash_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
