// Table allocation with transparent huge pages (see CLookupSupport.h).
#define _GNU_SOURCE
#include "CLookupSupport.h"
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

void *lookup_table_allocate(size_t bytes) {
  const size_t huge = (size_t)2 << 20;
  void *table = NULL;
  size_t alignment = bytes >= huge ? huge : 64;
  if (posix_memalign(&table, alignment, bytes) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= huge) (void)madvise(table, bytes - bytes % huge, MADV_HUGEPAGE);
#endif
  return table;
}

void lookup_table_free(void *table) { free(table); }
