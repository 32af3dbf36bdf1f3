#ifndef C_LOOKUP_SUPPORT_H
#define C_LOOKUP_SUPPORT_H

/// Asks the CPU to bring the cache line at `address` closer (for reading, high locality).
/// Batch lookups prefetch the buckets of the next keys while working on the current ones;
/// Swift has no public prefetch intrinsic, and this inline function costs no call.
static inline void lookup_prefetch(const void *address) {
  __builtin_prefetch(address, 0, 3);
}

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// A probe of a 64-byte tag group: bit i (i < 12) set when tag byte i equals `tag`, and bit
/// 15 set when the high bit of byte 15 (the group's "keys went on past me" flag) is. `group`
/// is 16-byte aligned. With SSE2 (every x86-64): one load, one compare and two byte-mask
/// extractions; a byte loop elsewhere. See `TupleTagGroup` in the Lookup module.
static inline unsigned lookup_tag_group_probe(const void *group, unsigned char tag) {
#if defined(__SSE2__)
  __m128i bytes = _mm_load_si128((const __m128i *)group);
  unsigned equal = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8((char)tag)));
  unsigned high = (unsigned)_mm_movemask_epi8(bytes);
  return (equal & 0xFFFu) | (high & 0x8000u);
#else
  const unsigned char *bytes = (const unsigned char *)group;
  unsigned result = (unsigned)(bytes[15] & 0x80) << 8;
  for (unsigned i = 0; i < 12; i++) result |= (unsigned)(bytes[i] == tag) << i;
  return result;
#endif
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
