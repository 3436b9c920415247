// glibc ptmalloc: counters from mallinfo2(), release with malloc_trim(0).
#include <gnu/libc-version.h>
#include <malloc.h>

#include <cstdio>
#include <cstring>

#include "alloc.h"

namespace leaklab::alloc {
namespace {

// Counts "<heap nr=" tags (one per arena) in malloc_info()'s XML as it streams through,
// so that nothing is buffered or allocated: the FILE is made once, with a static stdio
// buffer, and reused.
class ArenaCounter {
 public:
  int Count() {
    if (file_ == nullptr) {
      cookie_io_functions_t io{};
      io.write = &ArenaCounter::Write;
      file_ = fopencookie(this, "w", io);
      if (file_ == nullptr) return -1;
      setvbuf(file_, buffer_, _IOFBF, sizeof buffer_);
    }
    matched_ = 0;
    count_ = 0;
    if (malloc_info(0, file_) != 0) return -1;
    std::fflush(file_);
    return count_;
  }

 private:
  static ssize_t Write(void* self, const char* data, size_t size) {
    auto* c = static_cast<ArenaCounter*>(self);
    static constexpr char kTag[] = "<heap nr=";
    static constexpr size_t kLen = sizeof kTag - 1;
    for (size_t i = 0; i < size; ++i) {
      // '<' occurs in the tag only at its start, so a mismatch restarts at 0 or 1.
      if (data[i] == kTag[c->matched_]) {
        if (++c->matched_ == kLen) {
          ++c->count_;
          c->matched_ = 0;
        }
      } else {
        c->matched_ = data[i] == '<' ? 1 : 0;
      }
    }
    return static_cast<ssize_t>(size);
  }

  FILE* file_ = nullptr;
  char buffer_[4096];
  size_t matched_ = 0;
  int count_ = 0;
};

ArenaCounter g_arenas;  // Stats() runs on the admin thread only

}  // namespace

const char* Name() { return "glibc"; }

std::string Version() { return gnu_get_libc_version(); }

void Stats(StatsOut& out, bool full) {
  const struct mallinfo2 mi = mallinfo2();
  out.Int("arena", mi.arena);        // bytes in sbrk/mmap'ed arenas (non-mmapped chunks)
  out.Int("uordblks", mi.uordblks);  // in-use bytes in arenas
  out.Int("fordblks", mi.fordblks);  // free bytes in arenas
  out.Int("hblkhd", mi.hblkhd);      // bytes in individually mmapped chunks
  out.Int("keepcost", mi.keepcost);  // releasable top-of-heap bytes
  out.Int("allocated_bytes", mi.uordblks + mi.hblkhd);
  out.Int("free_bytes", mi.fordblks);
  // ptmalloc does not track memory it madvise()d away but kept mapped (malloc_trim
  // releases inside arenas without a counter), so this is unknowable here.
  out.Null("unmapped_bytes");
  if (full) out.IntOrNull("arenas", g_arenas.Count());  // MALLOC_ARENA_MAX shows here
}

CallResult ReleaseThread() { return {}; }  // ptmalloc has only tcache, which malloc_trim does not need.

// malloc_trim returns 1 if it gave memory back, 0 if there was none to give: it cannot fail.
CallResult ReleaseProcess() {
  CallResult r;
  r.call = "malloc_trim(0)";
  r.has_rc = true;
  r.rc = malloc_trim(0);
  return r;
}

const char* ReleaseCall() { return "malloc_trim(0)"; }

bool ProfileDump(const std::string&, std::string* error) {
  *error = "glibc malloc has no heap profiler: profile the jemalloc or tcmalloc variant";
  return false;
}

}  // namespace leaklab::alloc
