/* alerts_test.h: what the alert tests share. The runner, assertions and
 * helpers are the harness's (tests/harness/harness.h); runner.c runs each
 * test with libcurl set up and the alert channels cleared after it. */
#ifndef TTAI_TEST_ALERTS_H
#define TTAI_TEST_ALERTS_H

#include "harness.h"

#include "activities.h"
#include "alerts/alert.h"
#include "alerts/channels.h"
#include "alerts/format.h"
#include "alerts/router.h"

/* A payload's JSON text (asserting it converts); ttai_free(). */
char *test_payload_json(struct ttai_payload p);

#endif
