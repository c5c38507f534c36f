/* PSCI over SMCCC: the call itself (HVC or SMC, as the device tree's /psci
   method says) and the checks of the functions that need no other CPU. */
#include "testguest.h"

enum conduit psci_conduit = CONDUIT_HVC;

/* SMCCC 1.0: arguments and results in x0-x3; x4-x17 may be changed. */
#define SMCCC_CLOBBERS "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", \
    "x16", "x17", "memory"

int64_t psci_call_via(enum conduit conduit, uint32_t function, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = function;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    if (conduit == CONDUIT_SMC) {
        __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : SMCCC_CLOBBERS);
    } else {
        __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : SMCCC_CLOBBERS);
    }
    return (int64_t)x0;
}

int64_t psci_call(uint32_t function, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return psci_call_via(psci_conduit, function, a1, a2, a3);
}

const char *psci_result_name(int64_t result)
{
    switch (result) {
    case 0: return "SUCCESS";
    case -1: return "NOT_SUPPORTED";
    case -2: return "INVALID_PARAMETERS";
    case -3: return "DENIED";
    case -4: return "ALREADY_ON";
    case -5: return "ON_PENDING";
    case -6: return "INTERNAL_FAILURE";
    case -7: return "NOT_PRESENT";
    case -8: return "DISABLED";
    case -9: return "INVALID_ADDRESS";
    default: return "?";
    }
}

void psci_checks(void)
{
    int64_t version = psci_call(PSCI_VERSION, 0, 0, 0);
    uint32_t major = (uint32_t)version >> 16, minor = (uint32_t)version & 0xffff;
    /* PSCI 0.2 introduced PSCI_VERSION; 1.x is what Linux and the VM speak. */
    check(version >= 0 && (major >= 1 || (major == 0 && minor >= 2)),
          "psci version %u.%u (0x%lx)", major, minor, (uint64_t)version);

    /* PSCI_FEATURES is PSCI 1.0's: 0.2 may answer NOT_SUPPORTED. */
    int64_t features = psci_call(PSCI_FEATURES, PSCI_CPU_ON_64, 0, 0);
    check(features == PSCI_SUCCESS || (major == 0 && features == PSCI_NOT_SUPPORTED),
          "psci features of CPU_ON: %ld (%s)", features, psci_result_name(features));

    /* 0: uniprocessor Trusted OS that can migrate, 1: that cannot,
       2: none or none that needs migrating; NOT_SUPPORTED is allowed too. */
    int64_t migrate = psci_call(PSCI_MIGRATE_INFO_TYPE, 0, 0, 0);
    check(migrate == 0 || migrate == 1 || migrate == 2 || migrate == PSCI_NOT_SUPPORTED,
          "psci migrate info type: %ld", migrate);

    int64_t unknown = psci_call(PSCI_UNKNOWN_FUNCTION, 0, 0, 0);
    check(unknown == PSCI_NOT_SUPPORTED, "psci unknown function 0x%x: %ld (%s)",
          PSCI_UNKNOWN_FUNCTION, unknown, psci_result_name(unknown));
}
