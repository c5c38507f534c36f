"""Register values as a person reads them: hex plus named fields, decoded on
the host from the same table the firmware uses (firmware/sysregs.py)."""
from .target import sysregs


def canonical_name(name):
    """The table's spelling of a register name, case-insensitively; else None."""
    for known in sysregs.REGISTERS:
        if known.lower() == name.lower():
            return known
    return None


def describe(name, value):
    fields = sysregs.format_fields(name, value) if name in sysregs.REGISTERS else ""
    text = "%s = 0x%016x" % (name, value)
    return text + ("  (%s)" % fields if fields else "")
