"""The console: input that arrives at any moment never leaves it deaf, the
transmit wait is bounded, and on the Pi the receive pin has its pull-up.

A byte sent before the firmware sets its UART up used to leave QEMU virt's
console deaf for ever: QEMU's PL011 holds one byte until LCR_H.FEN is set,
stops offering input while that byte is unread, and the set-up's LCR_H write
empties the FIFO without telling it to offer input again."""
import subprocess

import pytest

from conftest import qemu_url, require_image
from host_tools import boards, connect
from qemu_pipe import PipeQemu

PORT = boards.PROJECT_TOP / "port"


@pytest.mark.parametrize("early", [b"\r", b"\r\n", b"x" * 40])
def test_input_sent_before_the_uart_is_set_up_leaves_the_console_working(board, early):
    require_image(board)
    with PipeQemu(board) as q:
        q.write(early)
        q.wait_taken(len(early) - 1)    # QEMU is stopped: one byte is in the UART before the firmware runs
        q.resume()
        q.expect(b">>> ")
        q.write(b"\r")          # a clean line, whatever the early bytes left on it
        q.expect(b">>> ")
        q.write(b"print(6 * 7)\r")
        assert b"42" in q.expect(b">>> ", timeout=10)


def test_input_during_a_soft_reset_is_not_lost(board):
    require_image(board)
    with PipeQemu(board) as q:
        q.resume()
        q.expect(b">>> ")
        q.write(b"\x04print(6 * 7)\r")       # typed while the firmware resets
        out = q.expect(b"42\r\n>>> ", timeout=10)
        assert b"MPY: soft reboot" in out


def test_the_pi_routes_uart0_to_gpio_14_15_with_a_pull_up_on_rxd():
    require_image("RPI4")
    with connect(qemu_url("RPI4"), timeout=10) as t:
        gpfsel1, pulls = t.eval("(lambda m: (m[0xfe200004], m[0xfe2000e4]))(__import__('machine').mem32)")
    assert (gpfsel1 >> 12) & 7 == 4 and (gpfsel1 >> 15) & 7 == 4      # GPIO 14 and 15: ALT0 (UART0)
    assert (pulls >> 28) & 3 == 0                                      # TXD: driven, no pull
    assert (pulls >> 30) & 3 == 1                                      # RXD: pull-up


# -- the transmit wait -------------------------------------------------------
# QEMU's PL011 never reports a full transmit FIFO (a blocked reader blocks
# QEMU itself), so the bound is checked on the host: the driver compiled
# for this machine against a register block in memory whose FR says "full",
# and a counter that advances 1 ms per look.

FAKE_BOARD = """\
#include <stdint.h>
extern uint32_t fake_uart[];
#define BOARD_UART_BASE         ((uintptr_t)fake_uart)
#define BOARD_UART_CLOCK_HZ     48000000U
#define BOARD_UART_INTID        33
#define BOARD_UART_ROUTE_GPIO   0
"""

FAKE_MAIN = r"""
#include <stdbool.h>
#include <stdio.h>
#include "uart_pl011.h"
#include "gic.h"

uint32_t fake_uart[0x400];
#define FR fake_uart[0x18 / 4]
#define DR fake_uart[0]
static uint64_t now, looks;
uint64_t timer_counter(void) { looks++; return now += 1000000; }     /* 1 ms per look, 1 GHz */
uint64_t timer_frequency(void) { return 1000000000; }
void gic_set_handler(unsigned int intid, gic_handler_t handler) { (void)intid; (void)handler; }
void gic_set_poll(unsigned int intid, gic_pending_fn_t pending) { (void)intid; (void)pending; }
void gic_enable_irq(unsigned int intid) { (void)intid; }

int main(void) {
    uart_init();
    FR = 1 << 5;                    /* TXFF: the transmitter has stopped */
    DR = 0;
    uint64_t t0 = now;
    uart_tx_strn("hello", 5);
    printf("first %llu ms, DR %u\n", (unsigned long long)((now - t0) / 1000000), DR);
    looks = 0;
    uart_tx_strn("again", 5);
    printf("second %llu looks\n", (unsigned long long)looks);
    FR = 1 << 4;                    /* room again (and nothing received) */
    uart_tx_strn("x", 1);
    printf("after DR %c\n", DR);
    return 0;
}
"""


def test_a_stopped_transmitter_costs_one_bounded_wait_not_a_hang(tmp_path):
    (tmp_path / "mpconfigboard.h").write_text(FAKE_BOARD)
    (tmp_path / "main.c").write_text(FAKE_MAIN)
    exe = tmp_path / "uart"
    subprocess.run(["cc", "-std=gnu99", "-Wall", "-Werror", "-I", str(tmp_path), "-I", str(PORT / "core"),
                    "-o", str(exe), str(tmp_path / "main.c"), str(PORT / "core" / "uart_pl011.c")],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=20).stdout
    first, second, after = out.splitlines()
    ms = int(first.split()[1])
    assert 100 <= ms <= 110 and first.endswith("DR 0")     # gave up after its 100 ms, wrote nothing
    assert second == "second 0 looks"                       # still stalled: dropped without waiting
    assert after == "after DR x"                            # the transmitter moves again: so does output

