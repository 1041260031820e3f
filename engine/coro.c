/* coro.c: coroutines for workflow code, and the run arena.
 *
 * A workflow's code runs on its own stack so that it can block in the
 * middle of ordinary C (an activity call, a sleep) and be resumed at the
 * next workflow task. Stacks are mmap'd with a guard page: the kernel backs
 * only the pages a workflow touches, which keeps idle cached workflows
 * small. Under AddressSanitizer every switch is announced with the fiber
 * hooks so that ASan tracks the right stack.
 *
 * Freed stacks go to a small free list and the next coroutine takes one
 * from there: mapping, protecting and unmapping a stack for every run
 * (with the page faults of its first use and the TLB shootdown of the
 * munmap, which interrupts the other cores) cost more than the rest of a
 * short workflow's life in the engine (docs/performance.md).
 */
#include "engine_int.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ENG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENG_ASAN 1
#endif
#endif

#ifdef ENG_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

static size_t page_bytes(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- Switching ---------------------------------------------------------------
 *
 * On x86-64 a switch is a few instructions of our own: save the callee-saved
 * registers and the SSE/x87 control words on the current stack, swap stack
 * pointers, restore. swapcontext() would also save and restore the signal
 * mask, a system call each way, which cost more than the rest of a workflow
 * task (see docs/performance.md). Elsewhere ucontext does the job. */
#if defined(__x86_64__)

void eng__ctx_switch(void **save_sp, void *load_sp);
void eng__ctx_start(void);

__asm__(".text\n"
        ".globl eng__ctx_switch\n"
        ".type eng__ctx_switch,@function\n"
        "eng__ctx_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $16, %rsp\n"
        "    stmxcsr 8(%rsp)\n"
        "    fnstcw (%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr 8(%rsp)\n"
        "    fldcw (%rsp)\n"
        "    addq $16, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size eng__ctx_switch,.-eng__ctx_switch\n"
        /* A new coroutine's first switch returns here with the coroutine in
         * %rbx (see stack_prepare). */
        ".globl eng__ctx_start\n"
        ".type eng__ctx_start,@function\n"
        "eng__ctx_start:\n"
        "    movq %rbx, %rdi\n"
        "    andq $-16, %rsp\n"
        "    call eng__coro_entry\n"
        "    ud2\n"
        ".size eng__ctx_start,.-eng__ctx_start\n");

/* Lays out a new stack as eng__ctx_switch leaves one, so that the first
 * switch to it "returns" into eng__ctx_start. */
static void *stack_prepare(struct eng_coro *c, void *top)
{
    uint64_t *sp = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15);
    *--sp = 0;                              /* alignment */
    *--sp = (uint64_t)(uintptr_t)eng__ctx_start;
    *--sp = 0;                              /* rbp */
    *--sp = (uint64_t)(uintptr_t)c;         /* rbx */
    *--sp = 0;                              /* r12 */
    *--sp = 0;                              /* r13 */
    *--sp = 0;                              /* r14 */
    *--sp = 0;                              /* r15 */
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    sp -= 2;
    memcpy((char *)sp + 8, &mxcsr, sizeof(mxcsr));
    memcpy(sp, &fpucw, sizeof(fpucw));
    return sp;
}

#define CTX_SWITCH(save, load) eng__ctx_switch(&(save), (load))
#else
static void coro_entry_ucontext(unsigned lo, unsigned hi);
#endif

void eng__coro_entry(struct eng_coro *c);

void eng__coro_entry(struct eng_coro *c)
{
#ifdef ENG_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->caller_stack_bottom, &c->caller_stack_size);
#endif
    c->fn(c->arg);
    c->finished = true;
    eng_coro_yield(c);
    TTAI_ASSERT(!"a finished coroutine was resumed");
}

#if !defined(__x86_64__)
static void coro_entry_ucontext(unsigned lo, unsigned hi)
{
    eng__coro_entry((struct eng_coro *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

/* ---- Stacks ------------------------------------------------------------------
 *
 * A freed stack keeps its mapping and guard page and goes to a free list
 * shared by every thread (runs are created and freed on the engine thread,
 * on API threads for queries of closed runs, and by offline replay). The
 * list is bounded: a pooled stack keeps the pages its last workflow
 * touched, so the bound caps the memory held for reuse (256 stacks of
 * 256 KiB: at most 64 MiB, usually a few pages each) and the mappings it
 * adds to the ones counted by the engine's cache limit. 256 rather than
 * fewer: a hundred monitors that start or close together (ttai-bench e2e
 * W2) went past 64, and every stack past the bound cost an mmap at the
 * start and an munmap with its TLB shootdown at the close, on the engine
 * thread: 2.0-2.4 ms in the round that closed them, 0.4-0.7 ms with 256. */
#define STACK_POOL_MAX 256

static struct {
    pthread_mutex_t mu;
    size_t count;
    struct { void *mem; size_t bytes; } free[STACK_POOL_MAX];
} stack_pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A stack of stack_bytes (a multiple of the page) with a PROT_NONE guard
 * page below it; NULL when out of mappings. */
static void *stack_get(size_t stack_bytes)
{
    pthread_mutex_lock(&stack_pool.mu);
    for (size_t i = stack_pool.count; i-- > 0;) {
        if (stack_pool.free[i].bytes != stack_bytes)
            continue;
        void *mem = stack_pool.free[i].mem;
        stack_pool.free[i] = stack_pool.free[--stack_pool.count];
        pthread_mutex_unlock(&stack_pool.mu);
        return mem;
    }
    pthread_mutex_unlock(&stack_pool.mu);
    size_t page = page_bytes();
    void *mem = mmap(NULL, stack_bytes + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    if (mprotect(mem, page, PROT_NONE) != 0) {
        munmap(mem, stack_bytes + page);
        return NULL;
    }
    return mem;
}

static void stack_put(void *mem, size_t stack_bytes)
{
    pthread_mutex_lock(&stack_pool.mu);
    if (stack_pool.count < STACK_POOL_MAX) {
        stack_pool.free[stack_pool.count].mem = mem;
        stack_pool.free[stack_pool.count].bytes = stack_bytes;
        stack_pool.count++;
        mem = NULL;
    }
    pthread_mutex_unlock(&stack_pool.mu);
    if (mem != NULL)
        munmap(mem, stack_bytes + page_bytes());
}

int eng_coro_init(struct eng_coro *c, size_t stack_bytes, void (*fn)(void *), void *arg)
{
    memset(c, 0, sizeof(*c));
    size_t page = page_bytes();
    stack_bytes = (stack_bytes + page - 1) / page * page;
    void *mem = stack_get(stack_bytes);
    if (mem == NULL)
        return TTAI_ENOMEM;
    c->stack = mem;
    c->stack_bytes = stack_bytes;
    c->fn = fn;
    c->arg = arg;
#if defined(__x86_64__)
    c->sp = stack_prepare(c, (char *)mem + page + stack_bytes);
#else
    getcontext(&c->ctx);
    c->ctx.uc_stack.ss_sp = (char *)mem + page;
    c->ctx.uc_stack.ss_size = stack_bytes;
    c->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->ctx, (void (*)(void))coro_entry_ucontext, 2, (unsigned)(p & 0xffffffffu),
                (unsigned)(p >> 32));
#endif
    return TTAI_OK;
}

void eng_coro_resume(struct eng_coro *c)
{
    TTAI_ASSERT(!c->finished);
#ifdef ENG_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, (char *)c->stack + page_bytes(), c->stack_bytes);
#endif
#if defined(__x86_64__)
    CTX_SWITCH(c->caller_sp, c->sp);
#else
    swapcontext(&c->caller, &c->ctx);
#endif
#ifdef ENG_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

void eng_coro_yield(struct eng_coro *c)
{
#ifdef ENG_ASAN
    __sanitizer_start_switch_fiber(c->finished ? NULL : &c->asan_fake_stack,
                                   c->caller_stack_bottom, c->caller_stack_size);
#endif
#if defined(__x86_64__)
    CTX_SWITCH(c->sp, c->caller_sp);
#else
    swapcontext(&c->ctx, &c->caller);
#endif
#ifdef ENG_ASAN
    __sanitizer_finish_switch_fiber(c->asan_fake_stack, &c->caller_stack_bottom,
                                    &c->caller_stack_size);
#endif
}

void eng_coro_release(struct eng_coro *c)
{
    if (c->stack == NULL)
        return;
#ifdef ENG_ASAN
    /* A parked coroutine's frames never returned: clear their poisoning,
     * or ASan would see it in the next coroutine that runs on this stack
     * (or in whatever is mapped here next). */
    __asan_unpoison_memory_region((char *)c->stack + page_bytes(), c->stack_bytes);
#endif
    stack_put(c->stack, c->stack_bytes);
    c->stack = NULL;
}

/* ---- Arena ------------------------------------------------------------------ */

struct eng_arena_chunk {
    struct eng_arena_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK_BYTES 4000

void *eng_arena_alloc(struct eng_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct eng_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < size) {
        size_t cap = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
        c = ttai_malloc(sizeof(*c) + cap);
        TTAI_ASSERT(c != NULL); /* workflow code has no error path for memory */
        c->next = a->head;
        c->used = 0;
        c->size = cap;
        a->head = c;
        a->bytes += sizeof(*c) + cap;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

void eng_arena_release(struct eng_arena *a)
{
    struct eng_arena_chunk *c = a->head;
    while (c != NULL) {
        struct eng_arena_chunk *next = c->next;
        ttai_free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes = 0;
}
