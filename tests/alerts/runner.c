/* runner.c: the alert tests' program, `alerts_tests [NAME | --list]`
 * (tests/harness/harness.h). Each test runs as the activities tests do
 * (act_test.h), and the alert channels are unconfigured after it. */
#include "alerts_test.h"

#include "act_test.h"

char *test_payload_json(struct ttai_payload p)
{
    char *text = ttai_payload_to_json(p);
    ASSERT(text != NULL);
    return text;
}

static void teardown(void)
{
    struct ttai_err err;
    ASSERT_OK(alert_channels_configure(NULL, &err), &err);
    act_test_teardown();
}

int main(int argc, char **argv)
{
    static const struct test_hooks hooks = {act_test_setup, teardown};
    return test_main(argc, argv, &hooks);
}
