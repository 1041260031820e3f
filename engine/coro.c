/* coro.c: coroutines for workflow code (ucontext), and the run arena.
 *
 * A workflow's code runs on its own stack so that it can block in the
 * middle of ordinary C (an activity call, a sleep) and be resumed at the
 * next workflow task. Stacks are mmap'd with a guard page: the kernel backs
 * only the pages a workflow touches, which keeps idle cached workflows
 * small. Under AddressSanitizer every switch is announced with the fiber
 * hooks so that ASan tracks the right stack.
 */
#include "engine_int.h"

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
#endif

static size_t page_bytes(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static void coro_entry(unsigned lo, unsigned hi)
{
    struct eng_coro *c = (struct eng_coro *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
#ifdef ENG_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->caller_stack_bottom, &c->caller_stack_size);
#endif
    c->fn(c->arg);
    c->finished = true;
    eng_coro_yield(c);
    TTAI_ASSERT(!"a finished coroutine was resumed");
}

int eng_coro_init(struct eng_coro *c, size_t stack_bytes, void (*fn)(void *), void *arg)
{
    memset(c, 0, sizeof(*c));
    size_t page = page_bytes();
    stack_bytes = (stack_bytes + page - 1) / page * page;
    void *mem = mmap(NULL, stack_bytes + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return TTAI_ENOMEM;
    if (mprotect(mem, page, PROT_NONE) != 0) {
        munmap(mem, stack_bytes + page);
        return TTAI_ENOMEM;
    }
    c->stack = mem;
    c->stack_bytes = stack_bytes;
    c->fn = fn;
    c->arg = arg;
    getcontext(&c->ctx);
    c->ctx.uc_stack.ss_sp = (char *)mem + page;
    c->ctx.uc_stack.ss_size = stack_bytes;
    c->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->ctx, (void (*)(void))coro_entry, 2, (unsigned)(p & 0xffffffffu),
                (unsigned)(p >> 32));
    return TTAI_OK;
}

void eng_coro_resume(struct eng_coro *c)
{
    TTAI_ASSERT(!c->finished);
#ifdef ENG_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, (char *)c->stack + page_bytes(), c->stack_bytes);
#endif
    swapcontext(&c->caller, &c->ctx);
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
    swapcontext(&c->ctx, &c->caller);
#ifdef ENG_ASAN
    __sanitizer_finish_switch_fiber(c->asan_fake_stack, &c->caller_stack_bottom,
                                    &c->caller_stack_size);
#endif
}

void eng_coro_release(struct eng_coro *c)
{
    if (c->stack != NULL)
        munmap(c->stack, c->stack_bytes + page_bytes());
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
