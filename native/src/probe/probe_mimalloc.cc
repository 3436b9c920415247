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
using ProcessInfoFn = void (*)(size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*);
using OutputFn = void (*)(const char*, void*);
using StatsPrintFn = void (*)(OutputFn, void*);
using OptionGetFn = long (*)(int);

void Append(const char* msg, void* arg) { static_cast<std::string*>(arg)->append(msg); }

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

  nlohmann::json Stats() const override {
    nlohmann::json j;
    if (info_ != nullptr) {
      size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
      info_(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
      j["process.current_rss"] = rss;
      j["process.peak_rss"] = peak_rss;
      j["process.current_commit"] = commit;
      j["process.peak_commit"] = peak_commit;
      j["process.page_faults"] = faults;
    }
    // As in the relay: a release build keeps only the OS-level counters.
    std::string text;
    if (print_ != nullptr) print_(&Append, &text);
    double reserved = 0, committed = 0, reset = 0;
    const bool have_reserved = ParseMimallocCurrent(text.c_str(), "reserved", &reserved);
    const bool have_committed = ParseMimallocCurrent(text.c_str(), "committed", &committed);
    const bool have_reset = ParseMimallocCurrent(text.c_str(), "reset", &reset);
    auto num = [](bool ok, double v) { return ok ? nlohmann::json(static_cast<int64_t>(v)) : nlohmann::json(nullptr); };
    j["stats.reserved_approx"] = num(have_reserved, reserved);
    j["stats.committed_approx"] = num(have_committed, committed);
    j["stats.reset_approx"] = num(have_reset, reset);
#ifdef LEAKLAB_HAVE_MIMALLOC_H
    if (option_ != nullptr) {
      j["opt.decommit_delay"] = option_(mi_option_decommit_delay);
      j["opt.segment_decommit_delay"] = option_(mi_option_segment_decommit_delay);
      j["opt.page_reset"] = option_(mi_option_page_reset);
      j["opt.allow_decommit"] = option_(mi_option_allow_decommit);
      j["opt.eager_commit"] = option_(mi_option_eager_commit);
    }
#endif
    // mimalloc's release build does not count live malloc'd bytes.
    j["allocated_bytes"] = nullptr;
    j["free_bytes"] = nullptr;
    j["unmapped_bytes"] = have_reserved && have_committed && have_reset
                              ? num(true, reserved - committed + reset) : nlohmann::json(nullptr);
    return j;
  }

  std::vector<CallResult> Release() const override {
    const double t0 = NowMsF();
    collect_(true);
    return {{"mi_collect(true)", nullptr, NowMsF() - t0, true}};
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
};

}  // namespace

std::unique_ptr<AllocatorApi> FindMimalloc(const MallocObject& object) {
  auto a = std::make_unique<Mimalloc>(object);
  if (!a->usable()) return nullptr;
  return a;
}

}  // namespace leaklab::probe
