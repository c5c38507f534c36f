# Python frozen into the firmware image.
freeze(".", ("_boot.py", "sysregs.py", "pcpu_status.py", "pcpu.py", "vcpu.py"))
