/* workflows.h: the workflow types built into ttai programs. */
#ifndef TTAI_WORKFLOWS_H
#define TTAI_WORKFLOWS_H

#include "ttai.h"

/* Samples (workflows/samples): hello and counter, with their activities. */
extern const struct ttai_workflow_def wf_hello;
extern const struct ttai_workflow_def wf_counter;
extern const struct ttai_activity_def act_greet;
extern const struct ttai_registry wf_samples_registry;

/* Every built-in type (registry.c): what ttaid runs and ttai-history
 * replays. */
extern const struct ttai_registry wf_builtin_registry;

#endif
