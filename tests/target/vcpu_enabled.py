# The names a one-line vcpu call needs, with virtualization on for CPU 0: the
# bad-input tests put one such line after this file. Prints whether CPU 0 is
# enabled.
import aarch64, machine, time, pcpu, vcpu
from vcpu import A64, code

p = pcpu.Aarch64PerCpu.new(0)
p.hardware_enable()
print(repr(p.is_enabled()))
