/* alerts_test.h: what the alert tests share. The assertions are the
 * activities tests' (tests/activities/act_test.h); runner.c provides the
 * helpers that header declares and this suite uses. */
#ifndef TTAI_TEST_ALERTS_H
#define TTAI_TEST_ALERTS_H

#include "act_test.h"

#include <jansson.h>

#include "alerts/alert.h"
#include "alerts/channels.h"
#include "alerts/format.h"
#include "alerts/router.h"

/* Parses JSON text (asserting it is JSON); json_decref(). */
json_t *test_json(const char *text);
/* Asserts that two JSON values are equal, printing both when not. */
#define ASSERT_JSON_EQ(got, want)                                               \
    test__json_eq(__FILE__, __LINE__, #got, (got), (want))
void test__json_eq(const char *file, int line, const char *what, const json_t *got,
                   const json_t *want);

/* True when some file under dir (recursively) holds needle. */
bool test_dir_has(const char *dir, const char *needle);

/* A payload's JSON text (asserting it converts); ttai_free(). */
char *test_payload_json(struct ttai_payload p);

#endif
