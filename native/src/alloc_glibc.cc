// glibc ptmalloc: counters from mallinfo2(), release with malloc_trim(0).
#include <gnu/libc-version.h>
#include <malloc.h>

#include "alloc.h"

namespace leaklab::alloc {

const char* Name() { return "glibc"; }

std::string Version() { return gnu_get_libc_version(); }

nlohmann::json Stats() {
  const struct mallinfo2 mi = mallinfo2();
  nlohmann::json j;
  j["arena"] = mi.arena;        // bytes in sbrk/mmap'ed arenas (non-mmapped chunks)
  j["uordblks"] = mi.uordblks;  // in-use bytes in arenas
  j["fordblks"] = mi.fordblks;  // free bytes in arenas
  j["hblkhd"] = mi.hblkhd;      // bytes in individually mmapped chunks
  j["keepcost"] = mi.keepcost;  // releasable top-of-heap bytes
  j["allocated_bytes"] = mi.uordblks + mi.hblkhd;
  j["free_bytes"] = mi.fordblks;
  // ptmalloc does not track memory it madvise()d away but kept mapped (malloc_trim
  // releases inside arenas without a counter), so this is unknowable here.
  j["unmapped_bytes"] = nullptr;
  return j;
}

void ReleaseThread() {}  // ptmalloc has only tcache, which malloc_trim does not need.

void ReleaseProcess() { malloc_trim(0); }

const char* ReleaseCall() { return "malloc_trim(0)"; }

}  // namespace leaklab::alloc
