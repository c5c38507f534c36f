# The test guest (guests/testguest), which QEMU's loader put at ADDRESS
# (SIZE bytes), in a VM with CPUS vCPUs, a test device, and MODE on its
# command line. Prints (stop reason, status, vCPU, IPA, the guest's console).
import io, vm

ADDRESS = globals().get("ADDRESS", 0x70000000)
SIZE = globals().get("SIZE")
CPUS = globals().get("CPUS", 1)
MODE = globals().get("MODE", "")
MS = globals().get("MS", 20000)
BLOCK = globals().get("BLOCK")          # VM(stage2_block=); None: the board's

with vm.VM(ram=64 << 20, cpus=CPUS, cmdline="console=ttyAMA0 " + MODE, console_out=io.BytesIO(),
           stage2_block=BLOCK) as v:
    v.add_device(0x0B000000, 0x1000, vm.RegisterFile())
    v.load(address=ADDRESS, size=SIZE)
    stop = v.run(timeout_ms=MS, console=False)
    out = v.uart.out.getvalue().decode()
    block = v.stage2_block
print(repr((stop.reason, stop.status, stop.vcpu, stop.ipa, out, block)))
