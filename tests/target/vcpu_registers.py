# Registers written before run() reach the guest and its results come back,
# through memory too. Prints (x2, x30, x4, PC, SP).
import pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.add_imm(2, 1, 1), A64.add_imm(30, 29, 5), A64.str(2, 28),
                          A64.ldr(4, 28), A64.hvc(0)))
v.regs[1] = 41
v.regs[29] = 2**40
v.regs[28] = vcpu.GUEST_IPA + 0x8000
v.run()
print(repr((v.regs[2], v.regs[30], v.regs[4], v.pc, v.sp)))
