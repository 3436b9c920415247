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

  nlohmann::json Stats() const override {
    nlohmann::json j;
    if (mallinfo2_ == nullptr) {  // glibc < 2.33
      j["allocated_bytes"] = j["free_bytes"] = j["unmapped_bytes"] = nullptr;
      return j;
    }
    const struct mallinfo2 mi = mallinfo2_();
    j["arena"] = mi.arena;        // bytes in sbrk/mmap'ed arenas
    j["uordblks"] = mi.uordblks;  // in-use bytes in arenas
    j["fordblks"] = mi.fordblks;  // free bytes in arenas
    j["hblkhd"] = mi.hblkhd;      // bytes in individually mmapped chunks
    j["keepcost"] = mi.keepcost;  // releasable top-of-heap bytes
    j["allocated_bytes"] = mi.uordblks + mi.hblkhd;
    j["free_bytes"] = mi.fordblks;
    j["unmapped_bytes"] = nullptr;  // ptmalloc does not count what malloc_trim madvise()d
    return j;
  }

  std::vector<CallResult> Release() const override {
    CallResult c{"malloc_trim(0)", nullptr, 0, true};
    const double t0 = NowMsF();
    c.rc = trim_(0);  // 1 when memory was returned, 0 when there was none: both succeed
    c.ms = NowMsF() - t0;
    return {c};
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
