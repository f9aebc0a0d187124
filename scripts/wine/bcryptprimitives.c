/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the Windows test build under
 * Wine 8 (Debian 12), which lacks it. Rust's standard library has imported `ProcessPrng`
 * from it since Rust 1.78, to seed `HashMap`'s keys; this fills the buffer from
 * `RtlGenRandom` (advapi32's SystemFunction036), which Wine has.
 *
 * Built and installed into the test prefix by scripts/windows-wine.sh; never shipped.
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!RtlGenRandom(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
