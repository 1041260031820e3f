/* bench_e2e.h: `ttai-bench e2e` (bench_e2e.c). */
#ifndef TTAI_BENCH_E2E_H
#define TTAI_BENCH_E2E_H

/* Runs the end-to-end benchmark through ttaid's HTTP API with its own argv
 * (argv[0] is "e2e"); returns the exit status. */
int bench_e2e_main(int argc, char **argv);

#endif
