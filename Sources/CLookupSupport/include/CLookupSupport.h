#ifndef C_LOOKUP_SUPPORT_H
#define C_LOOKUP_SUPPORT_H

/// Asks the CPU to bring the cache line at `address` closer (for reading, high locality).
/// Batch lookups prefetch the buckets of the next keys while working on the current ones;
/// Swift has no public prefetch intrinsic, and this inline function costs no call.
static inline void lookup_prefetch(const void *address) {
  __builtin_prefetch(address, 0, 3);
}

#include <stddef.h>

/// Allocates `bytes` for a lookup table, aligned to a cache line. Tables of 2 MiB or more are
/// aligned to 2 MiB and marked for transparent huge pages (`MADV_HUGEPAGE`), so that random
/// probes into a large table do not also miss the TLB on every lookup. Returns NULL on failure.
/// Free with `lookup_table_free`.
void *lookup_table_allocate(size_t bytes);

/// Frees a table from `lookup_table_allocate`.
void lookup_table_free(void *table);

#endif
