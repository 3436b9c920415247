// glibc ptmalloc: counters from mallinfo2(), release with malloc_trim(0), the per-arena
// ledger from malloc_info(). Linked (relay-glibc) or, for the probe, looked up in the libc
// that serves malloc.
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "alloc/adapter.h"
#include "alloc/raw.h"
#include "alloc/resolve.h"

namespace leaklab::alloc {

namespace {
const char* const kMallocFamily[] = {
    "__default_morecore", "malloc", "__libc_malloc", "free", "__libc_free", "cfree", "realloc",
    "__libc_realloc", "memalign", "__libc_memalign", "aligned_alloc", "valloc", "__libc_valloc",
    "pvalloc", "__libc_pvalloc", "calloc", "__libc_calloc", "malloc_trim", "malloc_usable_size",
    "mallinfo2", "mallinfo", "__libc_mallinfo", "malloc_stats", "mallopt", "__libc_mallopt",
    "posix_memalign", "malloc_info", nullptr};
}  // namespace

const GlibcNames kGlibcNames = {"mallinfo2", "malloc_trim", "malloc_info", "malloc_trim(0)", kMallocFamily};

Normalized GlibcNormalized(uint64_t uordblks, uint64_t hblkhd, uint64_t fordblks) {
  Normalized n;
  n.allocated_bytes = static_cast<int64_t>(uordblks + hblkhd);
  n.free_bytes = static_cast<int64_t>(fordblks);
  // ptmalloc does not track memory it madvise()d away but kept mapped (malloc_trim
  // releases inside arenas without a counter), so this is unknowable here.
  n.unmapped_bytes = -1;
  return n;
}

namespace {

struct GlibcApi {
  struct mallinfo2 (*mallinfo2)();  // null: glibc < 2.33
  int (*malloc_trim)(size_t);
  int (*malloc_info)(int, FILE*);
  const char* (*version)();
};

// malloc_info()'s XML, written into one static buffer through one FILE opened on first
// use (fmemopen, unbuffered, rewound before each use), so that after the first read no
// malloc/free call is made: the FILE is the only allocation. Static, not per adapter: a
// probe has two adapters (its thread's and the C entry points'), and a 256 KiB heap buffer
// would sit in the target's own counters (an mmapped chunk, hblkhd).
class MallocInfoText {
 public:
  // The text's length, or -1 when malloc_info failed or its text did not fit.
  long Capture(int (*malloc_info)(int, FILE*)) {
    if (file_ == nullptr) {
      file_ = fmemopen(text_, sizeof text_, "w");
      if (file_ == nullptr) return -1;
      setvbuf(file_, nullptr, _IONBF, 0);
    }
    std::rewind(file_);
    if (malloc_info(0, file_) != 0) return -1;
    const long n = std::ftell(file_);
    return n < 0 || static_cast<size_t>(n) >= sizeof text_ - 1 ? -1 : n;
  }
  const char* text() const { return text_; }

 private:
  static constexpr size_t kBytes = 256 * 1024;
  FILE* file_ = nullptr;
  char text_[kBytes];
};

MallocInfoText g_info;
pthread_mutex_t g_info_lock = PTHREAD_MUTEX_INITIALIZER;

// The value of attribute `name` (e.g. "total=\"") in [line, end), 0 when absent.
int64_t Attr(const char* line, const char* end, const char* name) {
  const size_t len = std::strlen(name);
  for (const char* p = line; p + len <= end; ++p)
    if (std::memcmp(p, name, len) == 0) return std::strtoll(p + len, nullptr, 10);
  return 0;
}

bool Starts(const char* p, const char* end, const char* tag) {
  const size_t len = std::strlen(tag);
  return static_cast<size_t>(end - p) >= len && std::memcmp(p, tag, len) == 0;
}

// One arena's lines as malloc_info (glibc 2.36, malloc/malloc.c __malloc_info) prints them:
// a <size> line per non-empty fastbin (total = count * chunksize) and per non-empty regular
// bin, an <unsorted> line, then <total type="fast"> (the fastbins) and <total type="rest">,
// whose size starts at chunksize(top) and adds every regular and unsorted bin (its count
// starts at 1, the top chunk). So the top is rest - (sizes + unsorted - fast). But the
// regular bins' totals add chunksize_nomask(): each chunk's size field with its flag bits.
// A binned chunk has PREV_INUSE (1) and no other: a free neighbour would have been merged,
// and free() rewrites the size field as size | PREV_INUSE, which drops NON_MAIN_ARENA.
// mallinfo2 adds chunksize(), without the bits; the bins' bytes here are without them too,
// so the arenas add up to fordblks exactly (test/native/ledger-command.test.ts).
constexpr int64_t kPrevInuse = 1;

struct ArenaLines {
  int64_t index = -1;
  int64_t sizes_bytes = 0, sizes_chunks = 0;
  int64_t fast_bytes = 0, fast_chunks = 0, rest_bytes = 0, system_bytes = 0;

  ArenaLedger Finish() const {
    ArenaLedger a;
    a.index = index;
    a.main = index == 0;
    a.fast_bytes = fast_bytes;
    a.fast_chunks = fast_chunks;
    const int64_t bins_with_flags = sizes_bytes - fast_bytes;
    a.bins_chunks = sizes_chunks - fast_chunks;
    a.bins_bytes = bins_with_flags - a.bins_chunks * kPrevInuse;
    a.top_bytes = rest_bytes - bins_with_flags;
    a.system_bytes = system_bytes;
    return a;
  }
};

void Add(ArenaLedger* sum, const ArenaLedger& a) {
  sum->fast_bytes += a.fast_bytes;
  sum->fast_chunks += a.fast_chunks;
  sum->bins_bytes += a.bins_bytes;
  sum->bins_chunks += a.bins_chunks;
  sum->top_bytes += a.top_bytes;
  sum->system_bytes += a.system_bytes;
}

void Keep(Ledger* out, const ArenaLedger& a) {
  if (out->count < Ledger::kMaxArenas) {
    out->arenas[out->count++] = a;
    return;
  }
  out->truncated = true;
  ++out->rest_arenas;
  Add(&out->rest, a);
}


class Glibc : public Adapter {
 public:
  explicit Glibc(GlibcApi api) : api_(api) {}
  const char* Name() const override { return "glibc"; }
  std::string Version() const override { return api_.version != nullptr ? api_.version() : "unknown"; }

  int64_t Stats(StatsOut& out, bool full) override {
    if (api_.mallinfo2 == nullptr) {
      out.Null("free_bytes");
      out.Null("unmapped_bytes");
      return -1;
    }
    const struct mallinfo2 mi = api_.mallinfo2();
    out.Int("arena", static_cast<int64_t>(mi.arena));        // bytes in sbrk/mmap'ed arenas (non-mmapped chunks)
    out.Int("uordblks", static_cast<int64_t>(mi.uordblks));  // in-use bytes in arenas
    out.Int("fordblks", static_cast<int64_t>(mi.fordblks));  // free bytes in arenas
    out.Int("hblkhd", static_cast<int64_t>(mi.hblkhd));      // bytes in individually mmapped chunks
    out.Int("keepcost", static_cast<int64_t>(mi.keepcost));  // releasable top-of-heap bytes
    const Normalized n = GlibcNormalized(mi.uordblks, mi.hblkhd, mi.fordblks);
    out.IntOrNull("free_bytes", n.free_bytes);
    out.IntOrNull("unmapped_bytes", n.unmapped_bytes);
    if (full) out.IntOrNull("arenas", ArenaCount());  // MALLOC_ARENA_MAX shows here
    return n.allocated_bytes;
  }

  CallResult ReleaseThread() override { return {}; }  // only tcache, which malloc_trim does not need

  // malloc_trim returns 1 if it gave memory back, 0 if there was none to give: it cannot fail.
  CallResult ReleaseProcess() override {
    CallResult r;
    r.call = kGlibcNames.release_call;
    r.has_rc = true;
    r.rc = api_.malloc_trim(0);
    return r;
  }
  const char* ReleaseCall() const override { return kGlibcNames.release_call; }

  ProfileResult ProfileDump(const std::string&) override { return NoHeapProfiler("glibc malloc"); }

  bool FillLedger(Ledger* out) override {
    *out = Ledger();
    if (api_.malloc_info == nullptr) return false;
    pthread_mutex_lock(&g_info_lock);
    const long n = g_info.Capture(api_.malloc_info);
    if (n >= 0) ParseMallocInfo(g_info.text(), static_cast<size_t>(n), out);
    pthread_mutex_unlock(&g_info_lock);
    return n >= 0;
  }

 private:
  int64_t ArenaCount() {
    if (!FillLedger(&ledger_)) return -1;
    return ledger_.count + ledger_.rest_arenas;
  }

  GlibcApi api_;
  Ledger ledger_;  // ArenaCount's
};

}  // namespace

#ifdef LEAKLAB_ALLOC_LINKED

Adapter& Linked() {
  static Glibc adapter(GlibcApi{&mallinfo2, &malloc_trim, &malloc_info, &gnu_get_libc_version});
  return adapter;
}

#else

namespace {

// Claims the process only when libc itself serves malloc.
std::unique_ptr<Adapter> ResolveGlibc(const MallocObject& object) {
  if (object.name.rfind("libc.so", 0) != 0) return nullptr;
  GlibcApi api{};
  api.malloc_trim = SymbolAs<int (*)(size_t)>(object, kGlibcNames.trim);
  if (api.malloc_trim == nullptr) return nullptr;
  api.mallinfo2 = SymbolAs<struct mallinfo2 (*)()>(object, kGlibcNames.counters);
  api.malloc_info = SymbolAs<int (*)(int, FILE*)>(object, kGlibcNames.info);
  api.version = SymbolAs<const char* (*)()>(object, "gnu_get_libc_version");
  return std::make_unique<Glibc>(api);
}

}  // namespace

extern const Binder kGlibcBinder = {&ResolveGlibc, nullptr, 0};

#endif

// Scans malloc_info()'s text line by line; no allocation (raw.h: the inspector parses the
// text it reads from a live process with it too).
void ParseMallocInfo(const char* text, size_t size, Ledger* out) {
  ArenaLines arena;
  const char* const stop = text + size;
  for (const char* line = text; line < stop;) {
    const char* end = static_cast<const char*>(std::memchr(line, '\n', static_cast<size_t>(stop - line)));
    if (end == nullptr) end = stop;
    const char* p = line;
    while (p < end && *p == ' ') ++p;
    const bool in_heap = arena.index >= 0;
    if (Starts(p, end, "<heap nr=\"")) {
      arena = ArenaLines();
      arena.index = Attr(p, end, "nr=\"");
    } else if (in_heap && (Starts(p, end, "<size ") || Starts(p, end, "<unsorted "))) {
      arena.sizes_bytes += Attr(p, end, "total=\"");
      arena.sizes_chunks += Attr(p, end, "count=\"");
    } else if (in_heap && Starts(p, end, "<total type=\"fast\"")) {
      arena.fast_bytes = Attr(p, end, "size=\"");
      arena.fast_chunks = Attr(p, end, "count=\"");
    } else if (in_heap && Starts(p, end, "<total type=\"rest\"")) {
      arena.rest_bytes = Attr(p, end, "size=\"");
    } else if (in_heap && Starts(p, end, "<system type=\"current\"")) {
      arena.system_bytes = Attr(p, end, "size=\"");
    } else if (in_heap && Starts(p, end, "</heap>")) {
      Keep(out, arena.Finish());
      arena = ArenaLines();
    } else if (!in_heap && Starts(p, end, "<total type=\"mmap\"")) {
      out->mmapped_bytes = Attr(p, end, "size=\"");
      out->mmapped_chunks = Attr(p, end, "count=\"");
    }
    line = end + 1;
  }
}

}  // namespace leaklab::alloc
