/* bench_activities.h: `ttai-bench activities` (bench_activities.c). */
#ifndef TTAI_BENCH_ACTIVITIES_H
#define TTAI_BENCH_ACTIVITIES_H

#define ENG_LATENCY_MAX 65536

/* Runs the activity benchmark with its own argv (argv[0] is "activities");
 * returns the exit status. */
int bench_activities_main(int argc, char **argv);

#endif
