/* bcryptprimitives.dll for Wine 8.0, which lacks it: Rust's std (>= 1.78) takes its random
 * bytes from ProcessPrng. This one asks advapi32's RtlGenRandom (SystemFunction036), in chunks
 * it accepts. Built with mingw-w64 and copied into the test prefix's system32 (scripts/lib.sh need_cross). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
