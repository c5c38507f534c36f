"""The guest platform: QEMU virt's memory map and interrupt numbers, so that a
kernel built for virt runs unchanged in a VM. The one source of these facts
for the VM's device tree (vm_devicetree) and for its device models.

    import vm_layout
    hex(vm_layout.UART_BASE), vm_layout.UART_INTID    # ('0x9000000', 33)
    hex(vm_layout.mpidr_affinity(9, gic_version=3))   # '0x9': Aff0 9, 16 per cluster
"""

# Guest physical (IPA) addresses, from QEMU's hw/arm/virt.c memory map.
RAM_BASE = 0x4000_0000
RAM_MAX = 255 << 30                 # virt's RAM region ends at 256 GiB

GICD_BASE, GICD_SIZE = 0x0800_0000, 0x1_0000        # distributor (v2 and v3)
GICC_BASE, GICC_SIZE = 0x0801_0000, 0x1_0000        # GICv2 CPU interface
GICR_BASE = 0x080A_0000                             # GICv3 redistributors
GICR_STRIDE = 0x2_0000              # one per CPU: RD_base and SGI_base frames, 64 KiB each
GICR_REGION_SIZE = 0xF6_0000        # virt's redistributor region: room for 123 CPUs
GICV2_MAX_CPUS = 8                  # GICv2 targets at most 8 CPUs

UART_BASE, UART_SIZE = 0x0900_0000, 0x1000          # PL011
UART_INTID = 33                     # SPI 1
APB_CLOCK_HZ = 24_000_000           # the fixed clock feeding the PL011 ("clk24mhz")

# Generic timer PPIs in the order the arm,armv8-timer binding lists them.
TIMER_SECURE_PHYS_INTID = 29
TIMER_PHYS_INTID = 30               # EL1 physical (CNTP)
TIMER_VIRT_INTID = 27               # EL1 virtual (CNTV): what a guest at EL1 uses
TIMER_HYP_PHYS_INTID = 26           # EL2 physical (CNTHP)
TIMER_INTIDS = (TIMER_SECURE_PHYS_INTID, TIMER_PHYS_INTID, TIMER_VIRT_INTID, TIMER_HYP_PHYS_INTID)

# Where QEMU puts a raw binary (and an arm64 Image's legacy text_offset).
FLAT_LOAD_OFFSET = 0x8_0000


def mpidr_affinity(index, gic_version=2):
    """The MPIDR affinity (Aff1.Aff0) of vCPU `index`, as QEMU virt numbers
    its CPUs: clusters of 8 with GICv2, of 16 (a GICv3 SGI target list) with
    GICv3. The device tree's cpu@N reg and the vCPU's VMPIDR_EL2 use it."""
    per_cluster = 8 if gic_version == 2 else 16
    return ((index // per_cluster) << 8) | (index % per_cluster)
