// bcryptprimitives.dll for Wine 8, which lacks it: Rust's standard library
// on Windows asks it for random bytes (ProcessPrng, Windows 10's). Built by
// the test harness, for the tests under Wine only; never shipped.
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return RtlGenRandom(data, (ULONG)len);
}
