# Python frozen into the firmware image.
freeze(".", ("sysregs.py", "pcpu.py", "vcpu.py"))
