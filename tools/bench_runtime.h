/* bench_runtime.h: `ttai-bench runtime` (bench_runtime.c). */
#ifndef TTAI_BENCH_RUNTIME_H
#define TTAI_BENCH_RUNTIME_H

/* Runs the runtime benchmark with its own argv (argv[0] is "runtime");
 * returns the exit status. */
int bench_runtime_main(int argc, char **argv);

#endif
