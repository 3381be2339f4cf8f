#include "ExitGuard.h"

#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static void (*_Atomic exit_hook)(void);
// Set on the first call: the hook may end the process through _exit itself, and a second thread
// ending at the same time must not run the hook again.
static atomic_flag hook_ran = ATOMIC_FLAG_INIT;

void j2o_set_exit_hook(void (*hook)(void)) { atomic_store(&exit_hook, hook); }

static _Noreturn void end_process(int status) {
    void (*hook)(void) = atomic_load(&exit_hook);
    if (hook && !atomic_flag_test_and_set(&hook_ran)) hook();
    for (;;) syscall(SYS_exit_group, status);
}

_Noreturn void _exit(int status) { end_process(status); }
_Noreturn void _Exit(int status) { end_process(status); }
