// glibc ptmalloc: counters from mallinfo2(), release with malloc_trim(0).
#include <gnu/libc-version.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "alloc.h"

namespace leaklab::alloc {
namespace {

// Number of arenas, from malloc_info()'s XML (one <heap nr="..."> per arena).
int CountArenas() {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (f == nullptr) return -1;
  malloc_info(0, f);
  std::fclose(f);
  int n = 0;
  for (const char* p = buf; (p = std::strstr(p, "<heap nr=")) != nullptr; ++p) ++n;
  std::free(buf);
  return n;
}

}  // namespace

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
  j["arenas"] = CountArenas();  // MALLOC_ARENA_MAX shows here
  return j;
}

void ReleaseThread() {}  // ptmalloc has only tcache, which malloc_trim does not need.

void ReleaseProcess() { malloc_trim(0); }

const char* ReleaseCall() { return "malloc_trim(0)"; }

bool ProfileDump(const std::string&, std::string* error) {
  *error = "glibc malloc has no heap profiler: profile the jemalloc or tcmalloc variant";
  return false;
}

}  // namespace leaklab::alloc
