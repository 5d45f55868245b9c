/* SPDX-License-Identifier: ISC */
/* test_buf: cursor bounds, latched errors, writer growth and limits. */
#include <errno.h>

#include "core/buf.h"
#include "testutil.h"

static void test_cursor(void **state)
{
	const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct buf_cursor c;
	uint8_t u8, out[4];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *ref;

	(void)state;
	buf_cursor_init(&c, data, sizeof(data));
	assert_int_equal(buf_get_u8(&c, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(buf_get_be16(&c, &u16), 0);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(buf_get_le32(&c, &u32), 0);
	assert_int_equal(u32, 0x07060504);
	assert_int_equal(buf_remaining(&c), 4);
	assert_int_equal(buf_get_be64(&c, &u64), -EMSGSIZE);
	assert_true(c.err);
	/* Latched: even a fitting read now fails. */
	assert_int_equal(buf_get_u8(&c, &u8), -EMSGSIZE);

	buf_cursor_init(&c, data, sizeof(data));
	assert_int_equal(buf_get_le64(&c, &u64), 0);
	assert_int_equal(u64, 0x0807060504030201ULL);
	assert_int_equal(buf_get_ref(&c, &ref, 3), 0);
	assert_ptr_equal(ref, data + 8);
	assert_int_equal(buf_get_bytes(&c, out, 1), -EMSGSIZE);

	buf_cursor_init(&c, data, sizeof(data));
	assert_int_equal(buf_skip(&c, 7), 0);
	assert_int_equal(buf_get_be32(&c, &u32), 0);
	assert_int_equal(u32, 0x08090a0b);
	assert_int_equal(buf_get_le16(&c, &u16), -EMSGSIZE);
	/* SIZE_MAX must not wrap the bound check. */
	buf_cursor_init(&c, data, sizeof(data));
	assert_int_equal(buf_skip(&c, SIZE_MAX), -EMSGSIZE);
}

static void test_writer_fixed(void **state)
{
	uint8_t mem[8];
	struct buf_writer w;

	(void)state;
	buf_writer_fixed(&w, mem, sizeof(mem));
	assert_int_equal(buf_put_be32(&w, 0x01020304), 0);
	assert_int_equal(buf_put_le32(&w, 0x08070605), 0);
	assert_int_equal(w.len, 8);
	assert_memory_equal(mem, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(buf_put_u8(&w, 9), -ENOSPC);
	assert_true(w.err);
	buf_writer_free(&w);
}

static void test_writer_growable(void **state)
{
	struct buf_writer w;
	uint8_t *p;
	size_t len;

	(void)state;
	buf_writer_growable(&w, 1000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&w, "%03d,", i), 0);
	assert_int_equal(w.len, 400);
	assert_memory_equal(w.p, "000,001,", 8);
	assert_int_equal(buf_put_bytes(&w, "x", 0), 0);
	/* The limit holds. */
	uint8_t big[700] = { 0 };
	assert_int_equal(buf_put_bytes(&w, big, sizeof(big)), -ENOSPC);
	assert_true(w.err);
	p = buf_writer_steal(&w, &len);
	assert_int_equal(len, 400);
	free(p);
	buf_writer_growable(&w, 64);
	assert_int_equal(buf_put_be64(&w, 1), 0);
	assert_int_equal(buf_put_be16(&w, 2), 0);
	assert_int_equal(buf_put_le64(&w, 3), 0);
	assert_int_equal(buf_put_str(&w, "abc"), 0);
	assert_int_equal(w.len, 21);
	buf_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_writer_fixed),
		cmocka_unit_test(test_writer_growable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
