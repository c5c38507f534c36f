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
#define MICROPY_OPT_COMPUTED_GOTO           (1)
// Python frames on their own stack (port/main.c), never on the heap; deeper
// than the C stack lets Python recurse, so recursion ends with the usual error.
#define MICROPY_ENABLE_PYSTACK              (1)
#define MICROPY_PYSTACK_BYTES               (128 * 1024)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_WARNINGS                    (1)
#define MICROPY_ENABLE_SCHEDULER            (1)
// Per-source scheduler nodes (machine.Timer, IrqHandler callbacks): they need no queue slot.
#define MICROPY_KBD_EXCEPTION               (1)
// Without a driven interrupt controller, input is polled (mphalport.h), also
// from running code, so Ctrl-C stops a busy loop; one load and test otherwise.
extern uint32_t mphal_poll_countdown;
void mphal_poll(void);
#define MICROPY_VM_HOOK_LOOP                if (mphal_poll_countdown && --mphal_poll_countdown == 0) { mphal_poll(); }
#define MICROPY_HELPER_REPL                 (1)
// help(): this port's page (help.c); help('modules') lists the modules.
#define MICROPY_PY_BUILTINS_HELP            (1)
#define MICROPY_PY_BUILTINS_HELP_MODULES    (1)
#define MICROPY_PY_BUILTINS_HELP_TEXT       aarch64_el2_help_text
extern const char aarch64_el2_help_text[];
#define MICROPY_REPL_AUTO_INDENT            (1)
#define MICROPY_PERSISTENT_CODE_LOAD        (1)
#define MICROPY_READER_VFS                  (1)
#define MICROPY_VFS                         (1)

// Modules
#define MICROPY_PY_SYS_STDIO_BUFFER         (1)
#define MICROPY_PY_SELECT                   (1)     // mpremote mount polls stdin
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
#define MICROPY_PY_MACHINE_BOOTLOADER       (1)     // a new firmware over the UART (aarch64_chainload.c)
#define MICROPY_PY_MACHINE_TIMER            (0)     // port/machine_timer.c has its own
#define MICROPY_PY_MACHINE_PIN_BASE         (1)     // machine.PinBase, for Python-defined pins and Signal

// The rest of MicroPython's standard modules (README "Modules").
#define MICROPY_PY_ASYNCIO                  (1)     // Python part frozen from $(MPY_DIR)/extmod/asyncio
#define MICROPY_PY_DEFLATE_COMPRESS         (1)
#define MICROPY_PY_RE_MATCH_GROUPS          (1)
#define MICROPY_PY_RE_MATCH_SPAN_START_END  (1)
#define MICROPY_PY_IO_BUFFEREDWRITER        (1)
#define MICROPY_PY_MICROPYTHON_HEAP_LOCKED  (1)
#define MICROPY_PY_MARSHAL                  (1)
#define MICROPY_PY_RE_DEBUG                 (1)
#define MICROPY_PY_SYS_GETSIZEOF            (1)
#define MICROPY_PY_SYS_TRACEBACKLIMIT       (1)
#define MICROPY_PY_SYS_EXC_INFO             (1)
#define MICROPY_PY_FUNCTION_ATTRS_CODE      (1)
#define MICROPY_PY_BUILTINS_RANGE_BINOP     (1)
#define MICROPY_PY_BUILTINS_MEMORYVIEW_ITEMSIZE (1)
#define MICROPY_PY_ALL_INPLACE_SPECIAL_METHODS (1)
#define MICROPY_PY_COLLECTIONS_NAMEDTUPLE__ASDICT (1)
#define MICROPY_PY_MACHINE_DISABLE_IRQ_ENABLE_IRQ (1)  // CPU 0's IRQs, as MICROPY_BEGIN_ATOMIC_SECTION
// FAT and littlefs v1: MICROPY_VFS_FAT = 1, MICROPY_VFS_LFS1 = 1 in port/Makefile
#define MICROPY_FATFS_ENABLE_LFN            (1)
#define MICROPY_FATFS_LFN_CODE_PAGE         437
#define MICROPY_FATFS_RPATH                 (2)
#define MICROPY_FATFS_MAX_SS                (4096)
// SHA-1, MD5 and AES from Debian's Mbed TLS source (port/mbedtls_config_port.h);
// MicroPython's bundled copy is not in its Debian source.
#define MICROPY_SSL_MBEDTLS                 (1)
#define MICROPY_PY_HASHLIB_SHA1             (1)
#define MICROPY_PY_HASHLIB_MD5              (1)
#define MICROPY_PY_CRYPTOLIB                (1)
#define MICROPY_PY_CRYPTOLIB_CTR            (1)
#define MICROPY_PY_CRYPTOLIB_CONSTS         (1)
// machine.Timer (port/machine_timer.c) schedules each timer through its own
// node, so the queue keeps MicroPython's default depth.
#define MICROPY_SCHEDULER_STATIC_NODES      (1)
void machine_timer_deinit_all(void);
#define MICROPY_PORT_DEINIT_FUNC            machine_timer_deinit_all()

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
