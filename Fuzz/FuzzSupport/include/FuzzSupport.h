#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/// One fuzz input: returns 0 (libFuzzer's contract); traps on a bug.
typedef int (*fuzz_one_input)(const uint8_t *data, size_t size);

/// Runs libFuzzer with `argc`/`argv` when the binary was linked with `-sanitize=fuzzer`;
/// otherwise feeds every file named in `argv` to `body` once (corpus replay) and returns 0.
int fuzz_main(int argc, char **argv, fuzz_one_input body);

#endif
