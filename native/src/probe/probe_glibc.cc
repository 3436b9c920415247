// glibc ptmalloc, when libc.so serves malloc: counters from mallinfo2(), release with
// malloc_trim(0) (both looked up in that libc).
#include <gnu/libc-version.h>
#include <malloc.h>

#include "probe_alloc.h"

namespace leaklab::probe {
namespace {

using Mallinfo2Fn = struct mallinfo2 (*)();
using MallocTrimFn = int (*)(size_t);

class Glibc : public AllocatorApi {
 public:
  Glibc(Mallinfo2Fn mallinfo2, MallocTrimFn trim) : mallinfo2_(mallinfo2), trim_(trim) {}
  const char* Name() const override { return "glibc"; }
  std::string Version() const override { return gnu_get_libc_version(); }

  int64_t Stats(StatsOut& out, bool) const override {
    if (mallinfo2_ == nullptr) {  // glibc < 2.33
      out.Null("free_bytes");
      out.Null("unmapped_bytes");
      return -1;
    }
    const struct mallinfo2 mi = mallinfo2_();
    out.Int("arena", static_cast<int64_t>(mi.arena));        // bytes in sbrk/mmap'ed arenas
    out.Int("uordblks", static_cast<int64_t>(mi.uordblks));  // in-use bytes in arenas
    out.Int("fordblks", static_cast<int64_t>(mi.fordblks));  // free bytes in arenas
    out.Int("hblkhd", static_cast<int64_t>(mi.hblkhd));      // bytes in individually mmapped chunks
    out.Int("keepcost", static_cast<int64_t>(mi.keepcost));  // releasable top-of-heap bytes
    out.Int("free_bytes", static_cast<int64_t>(mi.fordblks));
    out.Null("unmapped_bytes");  // ptmalloc does not count what malloc_trim madvise()d
    return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
  }

  void Release(CallList* calls) const override {
    CallResult c;
    c.call = "malloc_trim(0)";
    c.has_rc = true;
    const double t0 = NowMsF();
    c.rc = trim_(0);  // 1 when memory was returned, 0 when there was none: both succeed
    c.ms = NowMsF() - t0;
    calls->push_back(c);
  }
  const char* ReleaseCall() const override { return "malloc_trim(0)"; }

  nlohmann::json ProfileDump(const std::string&) const override {
    return {{"ok", false},
            {"error", "glibc malloc has no heap profiler; run the target under jemalloc "
                      "(MALLOC_CONF=prof:true) or tcmalloc (HEAPPROFILE=<prefix>) to profile it"}};
  }

 private:
  Mallinfo2Fn mallinfo2_;
  MallocTrimFn trim_;
};

}  // namespace

std::unique_ptr<AllocatorApi> FindGlibc(const MallocObject& object) {
  if (object.name.rfind("libc.so", 0) != 0) return nullptr;
  auto trim = reinterpret_cast<MallocTrimFn>(SymbolIn(object, "malloc_trim"));
  if (trim == nullptr) return nullptr;
  return std::make_unique<Glibc>(reinterpret_cast<Mallinfo2Fn>(SymbolIn(object, "mallinfo2")), trim);
}

}  // namespace leaklab::probe
