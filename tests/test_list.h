/* Every test, one line each: TEST(module_case). CTest runs each in its own
 * process. Keep them grouped by module file. */

/* test_codec.c */
TEST(codec_roundtrip_every_type)
/* test_store.c */
TEST(store_smoke)
