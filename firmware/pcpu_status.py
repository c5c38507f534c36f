# The per-CPU status table: one formatter for pcpu.status() at the REPL and
# for the host CLI (`aarch64-el2 status`), so both print the same thing.
#
# Plain Python: runs on MicroPython and CPython. A row is a dict with the keys
# pcpu.status() gives (cpu_id, enabled, vbar_el2, vectors,
# ori_exception_vector_base, hcr_el2, hcr_fields, irq_handler, irq_count).

HEADER = "CPU  enabled  VBAR_EL2            vectors  saved VBAR          HCR_EL2             IRQ_HANDLER  IRQs"


def format_row(r):
    return "%-4d %-8s 0x%016x  %-8s 0x%016x  0x%016x  %-12s %d\n     HCR_EL2: %s" % (
        r["cpu_id"], "yes" if r["enabled"] else "no", r["vbar_el2"], r["vectors"],
        r["ori_exception_vector_base"], r["hcr_el2"], "set" if r["irq_handler"] else "-",
        r["irq_count"], " ".join(r["hcr_fields"]) or "-")


def format_table(rows):
    return "\n".join([HEADER] + [format_row(r) for r in rows])
