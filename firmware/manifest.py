# Python frozen into the firmware image.
freeze(".", ("_boot.py", "sysregs.py", "pcpu.py", "vcpu.py"))
