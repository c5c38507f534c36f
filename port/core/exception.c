// EL2 synchronous exceptions: guarded-access recovery, fault reports, and the
// IRQ entries of both vector tables.
#include <stdio.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "genhdr/sysregs.h"
#include "cpu.h"
#include "exception.h"
#include "gic.h"

static void (*fault_resume)(void);

void exception_set_fault_resume(void (*resume)(void)) {
    fault_resume = resume;
}

static const char *const exception_kind_names[4] = { "synchronous", "IRQ", "FIQ", "SError" };
static const char *const exception_source_names[4] = {
    "current EL with SP_EL0", "current EL with SP_ELx", "lower EL in AArch64", "lower EL in AArch32",
};

static const exception_class_def_t *exception_class(uint32_t ec) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(exception_class_table); ++i) {
        if (exception_class_table[i].ec == ec) {
            return &exception_class_table[i];
        }
    }
    return NULL;
}

const char *exception_class_name(uint32_t ec) {
    const exception_class_def_t *c = exception_class(ec);
    return c ? c->name : "reserved";
}

qstr exception_class_qstr(uint32_t ec) {
    const exception_class_def_t *c = exception_class(ec);
    return c ? c->qname : MP_QSTR_reserved;
}

// Write straight to the UART: the report must get out whatever state the runtime is in.
static void report_fault(const char *what, trap_frame_t *frame, uint64_t kind) {
    uint64_t esr = SYSREG_READ(esr_el2);
    uint32_t ec = FIELD_GET(ESR_EL2_EC, esr);
    mp_printf(&mp_plat_print,
        "\n*** %s: %s exception from %s on CPU %u\n"
        "    ESR_EL2=0x%016lx (EC=0x%02x %s, ISS=0x%07lx)\n"
        "    ELR_EL2=0x%016lx FAR_EL2=0x%016lx SPSR_EL2=0x%016lx\n",
        what, exception_kind_names[EXC_TYPE(kind)], exception_source_names[EXC_SOURCE(kind)], cpu_index(),
        esr, (unsigned)ec, exception_class_name(ec), FIELD_GET(ESR_EL2_ISS, esr),
        frame->elr, SYSREG_READ(far_el2), frame->spsr);
}

static bool in_guarded_code(cpu_local_t *cpu, uint64_t pc) {
    return (pc >= (uint64_t)__guarded_start && pc < (uint64_t)__guarded_end)
           || (pc >= (uint64_t)cpu->sysreg_read_stub && pc < (uint64_t)(cpu->sysreg_read_stub + 2))
           || (pc >= (uint64_t)cpu->sysreg_write_stub && pc < (uint64_t)(cpu->sysreg_write_stub + 3));
}

void el2_sync_exception(trap_frame_t *frame, uint64_t kind) {
    cpu_local_t *cpu = this_cpu();
    if (cpu->guard_active && in_guarded_code(cpu, frame->elr)) {
        cpu->guard_esr = SYSREG_READ(esr_el2);
        cpu->guard_far = SYSREG_READ(far_el2);
        cpu->guard_elr = frame->elr;
        cpu->guard_faulted = true;
        cpu->guard_active = false;
        frame->elr += 4;                // skip the faulting instruction
        return;
    }
    report_fault("fault", frame, kind);
    if (fault_resume != NULL && cpu_index() == 0 && cpu->irq_depth == 0 && MP_STATE_THREAD(nlr_top) != NULL) {
        // Resume in fault_resume with IRQs on; the stack is intact.
        cpu->fault_esr = SYSREG_READ(esr_el2);
        cpu->fault_far = SYSREG_READ(far_el2);
        cpu->fault_elr = frame->elr;
        frame->elr = (uint64_t)fault_resume;
        frame->spsr &= ~SPSR_EL2_I;     // IRQs on again: the REPL needs them
        return;
    }
    mp_printf(&mp_plat_print, "    halted\n");
    halt();
}

void invalid_exception(trap_frame_t *frame, uint64_t kind) {
    report_fault("invalid exception", frame, kind);
    mp_printf(&mp_plat_print, "    halted\n");
    halt();
}

void host_irq_entry(trap_frame_t *frame, uint64_t kind) {
    (void)frame;
    (void)kind;
    cpu_local_t *cpu = this_cpu();
    cpu->irq_depth++;
    host_irq_handler();
    cpu->irq_depth--;
}

// exception_vector_base_vcpu, IRQ at EL2: this CPU's IRQ_HANDLER, as in the reference.
// The reference panics without one; we count it, say so once, and let the
// host handler service the interrupt so nothing is lost.
void vcpu_irq_entry(trap_frame_t *frame, uint64_t kind) {
    (void)frame;
    (void)kind;
    cpu_local_t *cpu = this_cpu();
    cpu->irq_depth++;
    irq_handler_fn_t handler = cpu->irq_handler;
    if (handler) {
        cpu->irq_count++;
        handler();
    } else {
        if (cpu->irq_no_handler++ == 0) {
            mp_printf(&mp_plat_print, "\n[CPU %u: IRQ on the vCPU vectors with no IRQ_HANDLER; using the host handler]\n", cpu_index());
        }
        host_irq_handler();
    }
    cpu->irq_depth--;
}

bool guard_end(cpu_local_t *cpu) {
    cpu->guard_active = false;
    __asm__ volatile ("" ::: "memory");
    return cpu->guard_faulted;
}
