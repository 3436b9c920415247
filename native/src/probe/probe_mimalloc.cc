// mimalloc 2, when it serves malloc (Debian's libmimalloc overrides it): counters from
// mi_process_info() and the text of mi_stats_print_out(), release with mi_collect(true).
// mimalloc has no heap profiler.
#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#define LEAKLAB_HAVE_MIMALLOC_H 1
#endif

#include <string>

#include "mimalloc_stats_text.h"
#include "probe_alloc.h"

namespace leaklab::probe {
namespace {

using VersionFn = int (*)();
using CollectFn = void (*)(bool);
using ProcessInfoFn = MiProcessInfoFn;
using StatsPrintFn = MiStatsPrintFn;
using OptionGetFn = long (*)(int);

class Mimalloc : public AllocatorApi {
 public:
  explicit Mimalloc(const MallocObject& o)
      : version_(reinterpret_cast<VersionFn>(SymbolIn(o, "mi_version"))),
        collect_(reinterpret_cast<CollectFn>(SymbolIn(o, "mi_collect"))),
        info_(reinterpret_cast<ProcessInfoFn>(SymbolIn(o, "mi_process_info"))),
        print_(reinterpret_cast<StatsPrintFn>(SymbolIn(o, "mi_stats_print_out"))),
        option_(reinterpret_cast<OptionGetFn>(SymbolIn(o, "mi_option_get"))) {}

  bool usable() const { return version_ != nullptr && collect_ != nullptr; }
  const char* Name() const override { return "mimalloc"; }
  std::string Version() const override {
    const int v = version_();  // e.g. 209
    return std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + "." + std::to_string(v % 10);
  }

  int64_t Stats(StatsOut& out, bool) const override {
    if (info_ != nullptr) WriteMimallocProcessInfo(info_, out);
    WriteMimallocStatsText(print_, text_, out);  // as in the relay
#ifdef LEAKLAB_HAVE_MIMALLOC_H
    if (option_ != nullptr) {
      out.Int("opt.decommit_delay", option_(mi_option_decommit_delay));
      out.Int("opt.segment_decommit_delay", option_(mi_option_segment_decommit_delay));
      out.Int("opt.page_reset", option_(mi_option_page_reset));
      out.Int("opt.allow_decommit", option_(mi_option_allow_decommit));
      out.Int("opt.eager_commit", option_(mi_option_eager_commit));
    }
#endif
    out.Null("free_bytes");
    return -1;  // mimalloc's release build does not count live malloc'd bytes
  }

  void Release(CallList* calls) const override {
    CallResult c;
    c.call = "mi_collect(true)";
    const double t0 = NowMsF();
    collect_(true);
    c.ms = NowMsF() - t0;
    calls->push_back(c);
  }
  const char* ReleaseCall() const override { return "mi_collect(true)"; }

  nlohmann::json ProfileDump(const std::string&) const override {
    return {{"ok", false}, {"error", "mimalloc has no heap profiler; run the target under jemalloc "
                                     "(MALLOC_CONF=prof:true) or tcmalloc (HEAPPROFILE=<prefix>) to profile it"}};
  }

 private:
  VersionFn version_;
  CollectFn collect_;
  ProcessInfoFn info_;
  StatsPrintFn print_;
  OptionGetFn option_;
  mutable MimallocStatsText text_;  // per adapter: the probe thread and the C entry points have one each
};

}  // namespace

std::unique_ptr<AllocatorApi> FindMimalloc(const MallocObject& object) {
  auto a = std::make_unique<Mimalloc>(object);
  if (!a->usable()) return nullptr;
  return a;
}

}  // namespace leaklab::probe
