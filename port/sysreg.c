// Any system register by encoding: MRS/MSR instructions are generated into
// this CPU's stub and executed under the fault guard. The stub keeps the last
// encoding, so a loop over the same register writes no code.
#include "py/mpconfig.h"
#include "cpu.h"
#include "exception.h"
#include "sysreg.h"

#define INSN_MRS_X0     0xd5300000u
#define INSN_MSR_X0     0xd5100000u
#define INSN_ISB        0xd5033fdfu
#define INSN_RET        0xd65f03c0u

// Make freshly written instructions visible to instruction fetch.
static void sync_icache(void *addr) {
    __asm__ volatile (
        "dc cvau, %0\n"
        "dsb ish\n"
        "ic ivau, %0\n"
        "dsb ish\n"
        "isb\n"
        :: "r" (addr) : "memory");
}

static void stub_set(uint32_t *stub, uint32_t insn, uint32_t next) {
    if (stub[0] != insn || stub[1] != next) {
        stub[0] = insn;
        stub[1] = next;
        if (next != INSN_RET) {
            stub[2] = INSN_RET;
        }
        sync_icache(stub);
    }
}

sysreg_result_t sysreg_read_enc(uint32_t enc) {
    cpu_local_t *cpu = this_cpu();
    stub_set(cpu->sysreg_read_stub, INSN_MRS_X0 | (enc << 5), INSN_RET);
    sysreg_result_t r;
    guard_begin(cpu);
    r.value = ((uint64_t (*)(void))(uintptr_t)cpu->sysreg_read_stub)();
    r.faulted = guard_end(cpu);
    r.esr = r.faulted ? cpu->guard_esr : 0;
    return r;
}

sysreg_result_t sysreg_write_enc(uint32_t enc, uint64_t value) {
    cpu_local_t *cpu = this_cpu();
    // The ISB makes the new value take effect before the stub returns.
    stub_set(cpu->sysreg_write_stub, INSN_MSR_X0 | (enc << 5), INSN_ISB);
    sysreg_result_t r;
    guard_begin(cpu);
    ((void (*)(uint64_t))(uintptr_t)cpu->sysreg_write_stub)(value);
    r.faulted = guard_end(cpu);
    r.esr = r.faulted ? cpu->guard_esr : 0;
    r.value = 0;
    return r;
}

sysreg_result_t sysreg_access_on(unsigned int cpu, uint32_t enc, bool write, uint64_t value) {
    (void)cpu;      // only the current CPU until secondaries run
    return write ? sysreg_write_enc(enc, value) : sysreg_read_enc(enc);
}
