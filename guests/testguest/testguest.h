/* The test guest's parts and what they share. One .c file per concern:
   console.c (PL011 and printing), fdt.c (device tree reader), psci.c (SMCCC
   calls and PSCI checks), smp.c (secondaries by CPU_ON), exceptions.c (its
   own EL1 vectors), mmio.c (the test device), modes.c (misbehaviour),
   main.c (the order of it all), string.c (what the compiler may call). */
#ifndef TESTGUEST_H
#define TESTGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arm.h"

/* Linker and start.S symbols. */
extern char _start[], _end[];
extern char exception_vectors[];
void secondary_entry(void);
extern volatile uint64_t secondary_bad_context;   /* a CPU_ON context id >= MAX_CPUS */

/* main.c */
void testguest_main(uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3);
extern unsigned int failures;
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t bootarg_number(const char *key, uint64_t dflt);  /* the bootargs word key=<decimal> */
void finish(void) __attribute__((noreturn));
void park(void) __attribute__((noreturn));

/* console.c: every line starts with "testguest: " and ends with CR LF. */
#define PL011_FALLBACK_BASE     0x09000000ul
void console_init(uint64_t base);
uint64_t console_uart_base(void);             /* the PL011 the console writes to */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vsay(const char *fmt, va_list ap, const char *ending);

/* string.c */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* fdt.c: node handles are offsets into the structure block, -1 = none. */
const char *fdt_init(uint64_t address);            /* NULL, or why the blob is no tree */
uint32_t fdt_total_size(void);
int fdt_root(void);
int fdt_path(const char *path);                    /* "/cpus"; "memory" matches "memory@..." */
int fdt_first_child(int node);
int fdt_next_sibling(int node);
int fdt_parent(int node);
const char *fdt_name(int node);
const void *fdt_prop(int node, const char *name, int *len);
const char *fdt_prop_string(int node, const char *name);  /* NULL unless a terminated string */
uint32_t fdt_prop_u32(int node, const char *name, uint32_t dflt);
int fdt_find_compatible(int after, const char *compatible);  /* after = -1: from the start */
bool fdt_reg(int node, int index, uint64_t *base, uint64_t *size);
uint64_t fdt_cells(const void *p, uint32_t cells);

/* psci.c */
#define PSCI_VERSION            0x84000000u
#define PSCI_CPU_OFF            0x84000002u
#define PSCI_MIGRATE_INFO_TYPE  0x84000006u
#define PSCI_SYSTEM_OFF         0x84000008u
#define PSCI_FEATURES           0x8400000Au
#define PSCI_CPU_ON_64          0xC4000003u
#define PSCI_AFFINITY_INFO_64   0xC4000004u
#define PSCI_UNKNOWN_FUNCTION   0x840000FFu       /* no PSCI function has this id */

#define PSCI_SUCCESS            0
#define PSCI_NOT_SUPPORTED      (-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_ALREADY_ON         (-4)
#define AFFINITY_ON             0
#define AFFINITY_OFF            1
#define AFFINITY_ON_PENDING     2

enum conduit { CONDUIT_HVC, CONDUIT_SMC };
extern enum conduit psci_conduit;                 /* from the device tree's /psci method */
int64_t psci_call(uint32_t function, uint64_t a1, uint64_t a2, uint64_t a3);
int64_t psci_call_via(enum conduit conduit, uint32_t function, uint64_t a1, uint64_t a2, uint64_t a3);
const char *psci_result_name(int64_t result);
void psci_checks(void);

/* smp.c */
struct cpu_node { uint64_t mpidr; };
extern struct cpu_node cpus[MAX_CPUS];
extern unsigned int cpu_count;                    /* cpu@ nodes in the tree (may exceed MAX_CPUS) */
extern int boot_cpu;                              /* our index in cpus[], -1 if not found */
void smp_checks(void);
void secondary_main(uint64_t context_id) __attribute__((noreturn));

/* A bounded wait: a time limit on the generic timer, and a count of
   tries in case the counter does not move. */
struct deadline { uint64_t end; uint64_t tries_left; };
struct deadline deadline_after_ms(uint64_t ms);
bool deadline_passed(struct deadline *d);

/* exceptions.c */
struct exception_frame { uint64_t x[31]; uint64_t elr; uint64_t spsr; uint64_t stamp; };
struct trap_record { bool taken; uint64_t esr, elr, far; };
void exceptions_install(void);
void trap_expect(uint64_t skip);                  /* the next sync exception is expected: ELR += skip */
struct trap_record trap_result(void);             /* what it saw, and disarm */
void exception_checks(void);
void exception_handler(uint64_t vector, struct exception_frame *frame);
extern void (*irq_handler)(struct exception_frame *frame);   /* IRQs at EL1h go here if set */

/* mmio.c */
#define TEST_DEVICE_COMPATIBLE  "aarch64-el2,test-device"
#define TEST_DEVICE_SIZE        256
void mmio_checks(uint64_t base);
void mmio_checks_from_tree(void);
extern uint8_t mmio_ram_page[TEST_DEVICE_SIZE];   /* mode=mmio-ram: the checks on plain RAM */

/* timing.c: mode=vtimer and mode=console, what an interrupt and a console byte cost */
void mode_vtimer(void);
void mode_console(void);

/* rtc.c: mode=rtc, QEMU virt's PL031 interrupt (INTID 34) taken through the GIC */
void mode_rtc(void);

/* modes.c */
bool run_mode(const char *mode);                  /* false: no such mode */

#endif
