# The per-CPU status: pcpu.status()'s rows, and the one table formatter used
# by pcpu.status() at the REPL and by the host CLI (`aarch64-el2 status`),
# so both print the same thing.
#
# format_row/format_table are plain Python (MicroPython and CPython; the host
# imports this file as host_tools.target.pcpu_status). A row is a dict:
# cpu_id, enabled, vbar_el2, vectors, ori_exception_vector_base, hcr_el2,
# hcr_fields, irq_handler, irq_count, irq_total, irq_no_handler, timer_ticks.

HEADER = "CPU  enabled  VBAR_EL2            vectors  saved VBAR          HCR_EL2             IRQ_HANDLER  IRQs"


def format_row(r):
    return "%-4d %-8s 0x%016x  %-8s 0x%016x  0x%016x  %-12s %d\n     HCR_EL2: %s" % (
        r["cpu_id"], "yes" if r["enabled"] else "no", r["vbar_el2"], r["vectors"],
        r["ori_exception_vector_base"], r["hcr_el2"], "set" if r["irq_handler"] else "-",
        r["irq_count"], " ".join(r["hcr_fields"]) or "-")


def format_table(rows):
    return "\n".join([HEADER] + [format_row(r) for r in rows])


class Status:
    """pcpu.status(): `rows` is plain data (one dict per CPU); the repr is the table."""

    def __init__(self, rows):
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def __repr__(self):
        return format_table(self.rows)


def vectors_name(vbar):
    import aarch64
    if vbar == aarch64.VCPU_VECTORS:
        return "vcpu"
    if vbar == aarch64.HOST_VECTORS:
        return "host"
    return "other"


def cpu_row(cpu):
    """One CPU's row, read on the target."""
    import aarch64
    import pcpu
    vbar = aarch64.read_sysreg("VBAR_EL2", cpu)
    hcr = aarch64.read_sysreg("HCR_EL2", cpu)
    through_handler, total, no_handler, timer_ticks = aarch64.irq_counts(cpu)
    return {
        "cpu_id": cpu,
        "enabled": bool(hcr & pcpu.HCR_EL2.VM),
        "vbar_el2": vbar,
        "vectors": vectors_name(vbar),
        "ori_exception_vector_base": pcpu.ORI_EXCEPTION_VECTOR_BASE[cpu],
        "hcr_el2": hcr,
        "hcr_fields": [name for name, v in pcpu.HCR_EL2.decode(hcr) if v],
        "irq_handler": aarch64.get_irq_handler(cpu) is not None,
        "irq_count": through_handler,
        "irq_total": total,
        "irq_no_handler": no_handler,
        "timer_ticks": timer_ticks,
    }


def status():
    import aarch64
    return Status([cpu_row(cpu) for cpu in range(aarch64.cpu_count())])
