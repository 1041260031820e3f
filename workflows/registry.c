/* registry.c: every workflow and activity type built into ttai programs
 * (ttaid, ttai-history replay). A type is added here once it exists. */
#include "workflows.h"

static const struct ttai_workflow_def *const builtin_workflows[] = {
    &wf_hello,
    &wf_counter,
    NULL,
};

static const struct ttai_activity_def *const builtin_activities[] = {
    &act_greet,
    NULL,
};

const struct ttai_registry wf_builtin_registry = {builtin_workflows, builtin_activities};
