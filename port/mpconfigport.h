// MicroPython configuration of the AArch64 EL2 port.
#include <stdint.h>
#include "mpconfigboard.h"

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#define MICROPY_HW_BOARD_NAME               BOARD_NAME " (" BOARD_MACHINE ")"
// Any AArch64 core: the banner names the actual one, from MIDR_EL1 (port/banner.c).
#define MICROPY_HW_MCU_NAME                 "AArch64 at EL2"
#define MICROPY_PY_SYS_PLATFORM             "aarch64el2"

// Runtime
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_MALLOC_USES_ALLOCATED_SIZE  (1)
#define MICROPY_MEM_STATS                   (1)
// A deep GC mark stack: long chains (a nested list, a linked list) then
// overflow it rarely, and each overflow costs a rescan of the 32 MiB heap.
#define MICROPY_ALLOC_GC_STACK_SIZE         (4096)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE (256)
#define MICROPY_STACK_CHECK                 (1)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_WARNINGS                    (1)
#define MICROPY_ENABLE_SCHEDULER            (1)
// CPU 0 runs every Python callback, and cannot while it waits in C for a
// cross-call (up to SMP_CALL_TIMEOUT_MS = 100 ms for a slow CPU): the queue
// holds that long of a 1 kHz machine.Timer, so none is dropped meanwhile.
#define MICROPY_SCHEDULER_DEPTH             (128)
// Per-source scheduler nodes (IrqHandler callbacks): they need no queue slot.
#define MICROPY_SCHEDULER_STATIC_NODES      (1)
#define MICROPY_KBD_EXCEPTION               (1)
// Without a driven interrupt controller, input is polled (mphalport.h), also
// from running code, so Ctrl-C stops a busy loop; one load and test otherwise.
extern uint32_t mphal_poll_countdown;
void mphal_poll(void);
#define MICROPY_VM_HOOK_LOOP                if (mphal_poll_countdown && --mphal_poll_countdown == 0) { mphal_poll(); }
#define MICROPY_HELPER_REPL                 (1)
#define MICROPY_REPL_AUTO_INDENT            (1)
#define MICROPY_PERSISTENT_CODE_LOAD        (1)
#define MICROPY_READER_VFS                  (1)
#define MICROPY_VFS                         (1)

// Modules
#define MICROPY_PY_SYS_STDIO_BUFFER         (1)
#define MICROPY_PY_SELECT                   (1)     // mpremote mount polls stdin
#define MICROPY_PY_ASYNCIO                  (0)
#define MICROPY_PY_TIME                     (1)
#define MICROPY_PY_TIME_TIME_TIME_NS        (1)
#define MICROPY_PY_TIME_INCLUDEFILE         "port/modtime.c"
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (0)
#define MICROPY_PY_OS                       (1)
#define MICROPY_PY_OS_UNAME                 (1)
#define MICROPY_PY_OS_UNAME_RELEASE_DYNAMIC (0)
#define MICROPY_PY_RANDOM_SEED_INIT_FUNC    (port_random_seed())
static inline uint32_t port_random_seed(void) {
    uint64_t c;
    __asm__ volatile ("mrs %0, cntpct_el0" : "=r" (c));
    return (uint32_t)(c ^ (c >> 32));
}
#define MICROPY_PY_MACHINE                  (1)
#define MICROPY_PY_MACHINE_INCLUDEFILE      "port/modmachine.c"
#define MICROPY_PY_MACHINE_MEMX             (0)     // port/modmachine.c has guarded mem8/16/32
#define MICROPY_PY_MACHINE_RESET            (1)
#define MICROPY_PY_MACHINE_TIMER            (1)
#define MICROPY_PY_MACHINE_PIN_BASE         (0)

// Types
#define MP_SSIZE_MAX                        (0x7fffffffffffffff)
#define UINT_FMT                            "%lu"
#define INT_FMT                             "%ld"
typedef int64_t mp_int_t;
typedef uint64_t mp_uint_t;
typedef long mp_off_t;

#include <alloca.h>

// lib/libm_dbl has no log2
#define MP_NEED_LOG2                        (1)

#define MP_STATE_PORT MP_STATE_VM

// IRQ masking at EL2 protects state shared with interrupt handlers.
static inline uint64_t port_irq_save(void) {
    uint64_t daif;
    __asm__ volatile ("mrs %0, daif\n msr daifset, #2" : "=r" (daif) :: "memory");
    return daif;
}
static inline void port_irq_restore(uint64_t daif) {
    __asm__ volatile ("msr daif, %0" :: "r" (daif) : "memory");
}
#define MICROPY_BEGIN_ATOMIC_SECTION()      port_irq_save()
#define MICROPY_END_ATOMIC_SECTION(state)   port_irq_restore(state)
#define MICROPY_PY_PENDSV_ENTER             uint64_t atomic_state = port_irq_save()
#define MICROPY_PY_PENDSV_EXIT              port_irq_restore(atomic_state)
