// Any system register by encoding: MRS/MSR instructions are generated into
// this CPU's stub and executed under the fault guard. The stub keeps the last
// encoding, so a loop over the same register writes no code.
#include "py/mpconfig.h"
#include "cpu.h"
#include "exception.h"
#include "smp.h"
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
    sysreg_result_t r = { 0 };
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
    sysreg_result_t r = { 0 };
    guard_begin(cpu);
    ((void (*)(uint64_t))(uintptr_t)cpu->sysreg_write_stub)(value);
    r.faulted = guard_end(cpu);
    r.esr = r.faulted ? cpu->guard_esr : 0;
    r.value = 0;
    return r;
}

#define ACCESS_WRITE    (1u << 16)      // above the 15 bits of an encoding
enum { ACCESS_DONE, ACCESS_FAULTED, ACCESS_REFUSED };

static sysreg_write_check_t write_check;

void sysreg_set_write_check(sysreg_write_check_t check) {
    write_check = check;
}

// Runs on the target CPU: arg = (encoding | ACCESS_WRITE, value, bits to
// keep), ret = (ACCESS_*, value, esr or the refusal's code). A write runs
// with IRQs masked (in the SGI's handler, or masked here on the caller's
// own CPU), so nothing changes the CPU's state between its checks and it.
static void sysreg_access_call(smp_mailbox_t *mb) {
    uint32_t enc = mb->arg[0] & (ACCESS_WRITE - 1);
    uint64_t value = mb->arg[1], keep = mb->arg[2];
    sysreg_result_t r;
    if (!(mb->arg[0] & ACCESS_WRITE)) {
        r = sysreg_read_enc(enc);
    } else {
        uint64_t daif = irq_save();
        r = keep ? sysreg_read_enc(enc) : (sysreg_result_t){ 0 };
        if (!r.faulted) {
            r.refused = ((r.value ^ value) & keep) ? SYSREG_REFUSED_KEPT : write_check ? write_check(enc, value) : 0;
        }
        if (!r.faulted && !r.refused) {
            r = sysreg_write_enc(enc, value);
        }
        irq_restore(daif);
    }
    mb->ret[0] = r.faulted ? ACCESS_FAULTED : r.refused ? ACCESS_REFUSED : ACCESS_DONE;
    mb->ret[1] = r.value;
    mb->ret[2] = r.faulted ? r.esr : (uint64_t)r.refused;
}

sysreg_result_t sysreg_access_on(unsigned int cpu, uint32_t enc, bool write, uint64_t value, uint64_t keep) {
    smp_mailbox_t call = { .arg = { enc | (write ? ACCESS_WRITE : 0), value, keep } };
    sysreg_result_t r = { 0 };
    r.error = smp_call(cpu, sysreg_access_call, &call);
    if (r.error == 0) {
        r.faulted = call.ret[0] == ACCESS_FAULTED;
        r.refused = call.ret[0] == ACCESS_REFUSED ? (int)call.ret[2] : 0;
        r.value = call.ret[1];
        r.esr = r.faulted ? call.ret[2] : 0;
    }
    return r;
}
