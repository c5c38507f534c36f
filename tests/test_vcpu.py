"""A tiny EL1 guest proves each HCR_EL2 bit hardware_enable() sets."""
import pytest

from host_tools import TargetError

SETUP = ("import pcpu, vcpu, aarch64, machine, time\n"
         "from vcpu import A64, code\n"
         "p = pcpu.Aarch64PerCpu.new(0)\n"
         "p.hardware_enable()\n")


def run(target, body, timeout=None):
    return target.exec(SETUP + body, timeout)


def test_hvc_exits_with_ec_0x16_and_the_immediate(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.movz(0, 7), A64.hvc(0x42)))\n"
                      "e = v.run()\n"
                      "print(repr((e.kind, e.ec, e.ec_name, e.iss & 0xffff, e.elr, v.regs[0])))")
    assert eval(out) == ("sync", 0x16, "HVC64", 0x42, 0x4000_0008, 7)


def test_smc_is_trapped_by_tsc_and_resumes_after_it(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.smc(0), A64.movz(3, 9), A64.hvc(1)))\n"
                      "e1 = v.run()\n"
                      "e2 = v.run()\n"
                      "print(repr((e1.ec, e1.elr, e2.ec, e2.iss & 0xffff, v.regs[3])))")
    assert eval(out) == (0x17, 0x4000_0004, 0x16, 1, 9)


def test_load_outside_stage2_is_a_data_abort_with_the_ipa(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.movz(1, 0x8000, 16), A64.ldr(0, 1)))\n"
                      "e = v.run()\n"
                      "print(repr((e.ec, e.ec_name, e.ipa, e.far, e.elr)))")
    assert eval(out) == (0x24, "DABT_LOWER", 0x8000_0000, 0x8000_0000, 0x4000_0004)


def test_timer_irq_during_a_busy_loop_exits_and_the_host_handles_it(target):
    out = run(target, "fired = []\n"
                      "t = machine.Timer(mode=machine.Timer.ONE_SHOT, period=20, callback=lambda t: fired.append(1))\n"
                      "v = vcpu.Aarch64VCpu(code(A64.b(0)))\n"
                      "kinds = []\n"
                      "while not fired and len(kinds) < 100:\n"
                      " kinds.append(v.run(timeout_ms=1000).kind)\n"
                      " time.sleep_ms(1)\n"      # the scheduler runs the callback here
                      "print(repr((fired, kinds[-1], v.pc)))")
    fired, kind, pc = eval(out)
    assert fired == [1] and kind == "irq" and pc == 0x4000_0000


def test_the_guest_runs_aarch64_at_el1(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.mrs(0, 'CurrentEL'), A64.movz(1, 0xffff, 48), A64.hvc(0)))\n"
                      "v.run()\n"
                      "print(repr((v.regs[0] >> 2, v.regs[1])))")
    assert eval(out) == (1, 0xFFFF << 48)      # EL1, and a 64-bit register: AArch64 (RW)


def test_registers_go_in_and_come_back(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.add_imm(2, 1, 1), A64.add_imm(30, 29, 5), A64.str(2, 28), A64.ldr(4, 28), A64.hvc(0)))\n"
                      "v.regs[1] = 41\n"
                      "v.regs[29] = 2**40\n"
                      "v.regs[28] = vcpu.GUEST_IPA + 0x8000\n"
                      "v.run()\n"
                      "print(repr((v.regs[2], v.regs[30], v.regs[4], v.pc, v.sp)))")
    assert eval(out) == (42, 2**40 + 5, 42, 0x4000_0014, 0x4001_0000)


def test_timeout_stops_a_guest_that_never_exits(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.b(0)))\n"
                      "t0 = time.ticks_ms()\n"
                      "e = v.run(timeout_ms=1)\n"
                      "while e.kind == 'irq': e = v.run(timeout_ms=50)\n"
                      "print(repr((e.kind, aarch64.read_sysreg('VBAR_EL2') == aarch64.VCPU_VECTORS)))")
    assert eval(out) == ("timeout", True)
    assert target.eval("6 * 7") == 42


def test_ctrl_c_stops_a_guest_that_never_exits(console):
    console.send("import pcpu, vcpu; from vcpu import A64, code; pcpu.Aarch64PerCpu.new(0).hardware_enable()\r")
    console.expect(">>> ")
    console.send("v = vcpu.Aarch64VCpu(code(A64.b(0)))\r")
    console.expect(">>> ")
    console.send("while True: v.run()\r\r")
    console.expect("... \r\n")
    console.send("\x03")
    assert "KeyboardInterrupt" in console.expect(">>> ")
    console.send("import aarch64; print(aarch64.read_sysreg('HCR_EL2') & 1, 6 * 7)\r")
    assert "1 42" in console.expect(">>> ")


def test_run_is_refused_while_disabled_and_after_disable(target, firmware):
    out = target.exec("import pcpu, vcpu\nfrom vcpu import A64, code\n"
                      "v = vcpu.Aarch64VCpu(code(A64.hvc(0)))\n"
                      "try:\n v.run()\nexcept pcpu.AxError as e:\n print(e.kind)\n"
                      "p = pcpu.Aarch64PerCpu.new(0)\np.hardware_enable()\nprint(v.run().ec)\n"
                      "p.hardware_disable()\n"
                      "try:\n v.run()\nexcept pcpu.AxError as e:\n print(e.kind)\n")
    assert out.split() == ["BadState", "22", "BadState"]
    assert target.read_sysreg("VBAR_EL2") == firmware.symbol("host_exception_vectors")


@pytest.mark.parametrize("cpu", [1, 2, 3])
def test_a_guest_runs_on_the_cpu_it_names(target, cpu):
    out = target.exec("import pcpu, vcpu\nfrom vcpu import A64, code\n"
                      "pcpu.Aarch64PerCpu.new(%d).hardware_enable()\n"
                      "v = vcpu.Aarch64VCpu(code(A64.mrs(0, 'MPIDR_EL1'), A64.hvc(3)), cpu_id=%d)\n"
                      "e = v.run()\nprint(repr((e.ec, v.regs[0] & 0xff)))" % (cpu, cpu))
    assert eval(out) == (0x16, cpu)


def test_null_hypercalls_are_answered_in_c(target):
    out = run(target, "v = vcpu.Aarch64VCpu(code(A64.movz(2, 1000), A64.hvc(vcpu.NULL_HVC), A64.subs_imm(2, 2, 1), A64.bne(-2), A64.hvc(7)))\n"
                      "e = v.run()\n"
                      "print(repr((e.iss & 0xffff, v.stats())))")
    assert eval(out) == (7, (1001, 1000))


@pytest.mark.parametrize("code,exc", [
    ("vcpu.Aarch64VCpu(b'')", "ValueError"),
    ("vcpu.Aarch64VCpu(b'abc')", "ValueError"),
    ("vcpu.Aarch64VCpu(123)", "TypeError"),
    ("vcpu.Aarch64VCpu(code(A64.hvc(0)), cpu_id=9)", "AxError"),
    ("vcpu.Aarch64VCpu(code(A64.hvc(0))).regs[31]", "IndexError"),
    ("vcpu.Aarch64VCpu(code(A64.hvc(0))).run(timeout_ms=0)", "ValueError"),
])
def test_bad_vcpu_input(target, code, exc):
    with pytest.raises(TargetError) as e:
        target.exec(SETUP + code)
    assert e.value.type == exc
    assert target.eval("6 * 7") == 42
