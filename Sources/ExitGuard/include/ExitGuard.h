#ifndef J2O_EXIT_GUARD_H
#define J2O_EXIT_GUARD_H

/// The CLI's own _exit and _Exit. `exit` and `quick_exit` run the handlers PackGuard registers,
/// but `_exit` skips every handler: a pack calling it would end a conversion with the pack's
/// exit code and no word. The executable therefore defines and exports both names, so a pack's
/// call binds here (the executable comes first in the dynamic linker's lookup order); the hook
/// runs once, then the process ends with exit_group as libc's `_exit` would.
///
/// Sets the function called before the process ends through `_exit` or `_Exit`. It may itself
/// end the process (PackGuard reports the pack in flight and exits 1); when it returns, the
/// process ends with the status it was given.
void j2o_set_exit_hook(void (*hook)(void));

#endif
