// mimalloc 2 (Debian's libmimalloc overrides malloc/free): counters from mi_process_info()
// and the text of mi_stats_print_out(), release with mi_collect(true); no heap profiler.
// Linked (relay-mimalloc) or, for the probe, looked up in the libmimalloc that serves malloc.
#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#define LEAKLAB_HAVE_MIMALLOC_H 1
#endif

#include <cstdlib>
#include <string>

#include "alloc/adapter.h"
#include "alloc/raw.h"
#include "alloc/resolve.h"
#include "alloc/mimalloc_stats_text.h"

namespace leaklab::alloc {

const MimallocNames kMimallocNames = {"mi_version", "mi_collect", "mi_process_info", "mi_stats_print_out",
                                      "mi_collect(true)", "mi_collect(true) (the calling thread's heap only)"};

// Reserved address space that is decommitted, plus committed memory that was reset
// (madvise'd) but kept mapped; approximate (see ParseMimallocCurrent). mimalloc's release
// build does not count live malloc'd bytes, so neither allocated nor free can be derived.
Normalized MimallocNormalized(bool have, double reserved, double committed, double reset) {
  Normalized n;
  if (have) n.unmapped_bytes = static_cast<int64_t>(reserved - committed + reset);
  return n;
}

namespace {

struct MimallocApi {
  int (*version)();
  void (*collect)(bool);
  MiProcessInfoFn process_info;
  MiStatsPrintFn stats_print;
  long (*option_get)(int);  // the int is a mi_option_t
  bool (*in_heap)(const void*);
};

class Mimalloc : public Adapter {
 public:
  // Does malloc() really go to mimalloc? Asked once, here (a test allocation every 100 ms
  // would be allocator activity).
  explicit Mimalloc(MimallocApi api) : api_(api) {
    if (api_.in_heap == nullptr) return;
    void* p = std::malloc(100);
    owns_malloc_ = api_.in_heap(p);
    std::free(p);
  }
  const char* Name() const override { return "mimalloc"; }
  std::string Version() const override {
    const int v = api_.version();  // e.g. 209
    return std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + "." + std::to_string(v % 10);
  }

  int64_t Stats(StatsOut& out, bool) override {
    if (api_.process_info != nullptr) WriteMimallocProcessInfo(api_.process_info, out);
    WriteMimallocStatsText(api_.stats_print, text_, out);  // unmapped_bytes (MimallocNormalized)
    if (api_.in_heap != nullptr) out.Bool("owns_malloc", owns_malloc_);
    WriteOptions(out);
    out.Null("free_bytes");
    return MimallocNormalized(false, 0, 0, 0).allocated_bytes;
  }

  // mi_collect() returns nothing: it cannot report a failure. On the main thread it also
  // reclaims the heaps that exited threads abandoned.
  CallResult ReleaseThread() override { return Collect(); }
  CallResult ReleaseProcess() override { return Collect(); }
  const char* ReleaseCall() const override { return kMimallocNames.release_call; }

  ProfileResult ProfileDump(const std::string&) override { return NoHeapProfiler("mimalloc"); }

 private:
  CallResult Collect() {
    api_.collect(true);
    CallResult r;
    r.call = kMimallocNames.release_call;
    return r;
  }

  // The effective tuning, so a variant can check that MIMALLOC_* took (mimalloc silently
  // ignores unknown option names).
  void WriteOptions(StatsOut& out) const {
#ifdef LEAKLAB_HAVE_MIMALLOC_H
    if (api_.option_get == nullptr) return;
    out.Int("opt.decommit_delay", api_.option_get(mi_option_decommit_delay));
    out.Int("opt.segment_decommit_delay", api_.option_get(mi_option_segment_decommit_delay));
    out.Int("opt.page_reset", api_.option_get(mi_option_page_reset));
    out.Int("opt.allow_decommit", api_.option_get(mi_option_allow_decommit));
    out.Int("opt.eager_commit", api_.option_get(mi_option_eager_commit));
#else
    (void)out;
#endif
  }

  MimallocApi api_;
  bool owns_malloc_ = false;
  MimallocStatsText text_;  // per adapter: the probe thread and the C entry points have one each
};

}  // namespace

#ifdef LEAKLAB_ALLOC_LINKED

Adapter& Linked() {
  static Mimalloc adapter(MimallocApi{&mi_version,
                    &mi_collect,
                    &mi_process_info,
                    &mi_stats_print_out,
                    [](int o) { return mi_option_get(static_cast<mi_option_t>(o)); },
                    &mi_is_in_heap_region});
  return adapter;
}

#else

namespace {

std::unique_ptr<Adapter> ResolveMimalloc(const MallocObject& o) {
  MimallocApi api{};
  api.version = SymbolAs<int (*)()>(o, kMimallocNames.version);
  api.collect = SymbolAs<void (*)(bool)>(o, kMimallocNames.collect);
  if (api.version == nullptr || api.collect == nullptr) return nullptr;
  api.process_info = SymbolAs<MiProcessInfoFn>(o, kMimallocNames.process_info);
  api.stats_print = SymbolAs<MiStatsPrintFn>(o, kMimallocNames.stats_print);
  api.option_get = SymbolAs<long (*)(int)>(o, "mi_option_get");
  return std::make_unique<Mimalloc>(api);
}

const ApiMark kMarks[] = {{"mi_version", "mimalloc"}};

}  // namespace

extern const Binder kMimallocBinder = {&ResolveMimalloc, kMarks, 1};

#endif

}  // namespace leaklab::alloc
