/* Compiled and linked at configure time (tests/fuzz/meson.build): clang can build libFuzzer
 * targets here only if this links with the fuzz targets' flags. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
