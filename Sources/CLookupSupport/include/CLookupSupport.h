#ifndef C_LOOKUP_SUPPORT_H
#define C_LOOKUP_SUPPORT_H

/// Asks the CPU to bring the cache line at `address` closer (for reading, high locality).
/// Batch lookups prefetch the buckets of the next keys while working on the current ones;
/// Swift has no public prefetch intrinsic, and this inline function costs no call.
static inline void lookup_prefetch(const void *address) {
  __builtin_prefetch(address, 0, 3);
}

#endif
