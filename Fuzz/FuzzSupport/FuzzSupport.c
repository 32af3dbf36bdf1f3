// The entry point shared by the fuzz targets (see FuzzSupport.h).
//
// SwiftPM links an executable's `main` to a symbol named after its module
// (`<Target>_main`), which would hide libFuzzer's own `main`; each target therefore defines
// that symbol and calls `fuzz_main`, which starts libFuzzer through `LLVMFuzzerRunDriver`
// (weak: absent when the binary was built without the fuzzer runtime).
#include "FuzzSupport.h"
#include <stdio.h>
#include <stdlib.h>

extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size))
    __attribute__((weak));

int fuzz_main(int argc, char **argv, fuzz_one_input body) {
  if (LLVMFuzzerRunDriver) return LLVMFuzzerRunDriver(&argc, &argv, body);
  int replayed = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') continue;  // libFuzzer options mean nothing here
    FILE *file = fopen(argv[i], "rb");
    if (!file) { fprintf(stderr, "cannot read %s\n", argv[i]); return 1; }
    size_t capacity = 1 << 16, size = 0;
    uint8_t *data = malloc(capacity);
    size_t n;
    while (data && (n = fread(data + size, 1, capacity - size, file)) > 0) {
      size += n;
      if (size == capacity) data = realloc(data, capacity *= 2);
    }
    fclose(file);
    if (!data) return 1;
    body(data, size);
    free(data);
    replayed++;
  }
  printf("replayed %d inputs without a crash (no fuzzer runtime linked)\n", replayed);
  return 0;
}
