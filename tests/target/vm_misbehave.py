# Guests that misbehave, each in a VM of its own: prints [(name, reason, message)].
import io, vm
from vm_asm import *

GUESTS = {
    "wild_load": movx(1, 0x700000000) + [A64.ldr(2, 1), A64.b(0)],
    "low_load": movx(1, 0x30000000) + [A64.ldr(2, 1), A64.b(0)],
    "wfi_forever": [0xD50343DF, 0xD503207F, A64.b(-1)],        # msr daifset, #3; wfi; b .-4
    "udf": [0x00000000],
    "hvc_other": [A64.hvc(0x42), A64.b(0)],
    "flood": movx(5, 0x09000000) + movx(6, 0x41) + [ldst(STRB, 6, 5, 0), A64.b(-1)],
    "ldp_to_mmio": movx(5, TEST_DEVICE) + [0xA94008A1, A64.b(0)],   # ldp x1, x2, [x5]: no syndrome
    "model_raises": movx(5, TEST_DEVICE) + [ldst(STRB, 6, 5, 0), A64.b(0)],
}


class Broken(vm.RegisterFile):
    def write(self, offset, width, value):
        raise OSError("broken at %d" % offset)


out = []
for name, words in GUESTS.items():
    with vm.VM(ram=2 << 20, cpus=1, console_out=io.BytesIO()) as v:
        v.add_device(TEST_DEVICE, 0x1000, Broken() if name == "model_raises" else vm.RegisterFile())
        v.write(ENTRY, code(*words))
        v.entry = ENTRY
        stop = v.run(timeout_ms=300, console=False)
        out.append((name, stop.reason, stop.message, stop.ipa, len(v.uart.out.getvalue())))
print(repr(out))
