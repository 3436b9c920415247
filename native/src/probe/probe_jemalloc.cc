// jemalloc 5, when it serves malloc (Debian's libjemalloc.so.2 exports unprefixed
// mallctl): stats.* after an epoch bump, release with arena.<MALLCTL_ARENAS_ALL>.purge,
// heap profile with prof.dump when the process runs with MALLOC_CONF=prof:true.
#include <sys/types.h>

#include <cstdint>

#include "probe_alloc.h"

namespace leaklab::probe {
namespace {

using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);

// "arena.<MALLCTL_ARENAS_ALL>.purge"; MALLCTL_ARENAS_ALL is 4096 in jemalloc 5.
constexpr char kPurgeAll[] = "arena.4096.purge";

const char* const kStats[] = {"stats.allocated", "stats.active", "stats.resident",
                              "stats.retained",  "stats.mapped", "stats.metadata"};
constexpr size_t kCount = sizeof kStats / sizeof kStats[0];

class Jemalloc : public AllocatorApi {
 public:
  explicit Jemalloc(MallctlFn mallctl) : mallctl_(mallctl) {}
  const char* Name() const override { return "jemalloc"; }
  std::string Version() const override {
    const char* v = nullptr;
    size_t len = sizeof v;
    return mallctl_("version", &v, &len, nullptr, 0) == 0 && v != nullptr ? v : "unknown";
  }

  int64_t Stats(StatsOut& out, bool) const override {
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    mallctl_("epoch", &epoch, &elen, &epoch, elen);  // refresh the cached stats
    size_t v[kCount] = {};
    bool ok[kCount] = {};
    for (size_t i = 0; i < kCount; ++i) {
      size_t len = sizeof v[i];
      ok[i] = mallctl_(kStats[i], &v[i], &len, nullptr, 0) == 0;
      out.IntOrNull(kStats[i], ok[i] ? static_cast<int64_t>(v[i]) : -1);
    }
    out.IntOrNull("free_bytes", ok[0] && ok[2] && v[2] >= v[0] ? static_cast<int64_t>(v[2] - v[0]) : -1);
    out.IntOrNull("unmapped_bytes", ok[3] ? static_cast<int64_t>(v[3]) : -1);
    ssize_t decay = 0;
    size_t dlen = sizeof decay;
    if (mallctl_("opt.dirty_decay_ms", &decay, &dlen, nullptr, 0) == 0) out.Int("opt.dirty_decay_ms", decay);
    dlen = sizeof decay;
    if (mallctl_("opt.muzzy_decay_ms", &decay, &dlen, nullptr, 0) == 0) out.Int("opt.muzzy_decay_ms", decay);
    bool flag = false;
    size_t blen = sizeof flag;
    if (mallctl_("background_thread", &flag, &blen, nullptr, 0) == 0) out.Int("opt.background_thread", flag ? 1 : 0);
    return ok[0] ? static_cast<int64_t>(v[0]) : -1;
  }

  void Release(CallList* calls) const override {
    calls->push_back(Call("probe", "mallctl(\"thread.tcache.flush\")", "thread.tcache.flush"));
    calls->push_back(Call("process", "mallctl(\"arena.4096.purge\")", kPurgeAll));
  }
  const char* ReleaseCall() const override { return "mallctl(\"arena.<MALLCTL_ARENAS_ALL>.purge\")"; }

  nlohmann::json ProfileDump(const std::string& path) const override {
    bool prof = false;
    size_t len = sizeof prof;
    if (mallctl_("opt.prof", &prof, &len, nullptr, 0) != 0)
      return {{"ok", false}, {"error", "this jemalloc (" + Version() + ") was built without profiling (--enable-prof)"}};
    if (!prof)
      return {{"ok", false}, {"error", "jemalloc profiling is not active: start the target with MALLOC_CONF=prof:true"}};
    const char* p = path.c_str();
    const double t0 = NowMsF();
    const int rc = mallctl_("prof.dump", nullptr, nullptr, &p, sizeof p);
    if (rc != 0) return {{"ok", false}, {"error", "mallctl(\"prof.dump\") returned " + std::to_string(rc)}};
    return {{"ok", true}, {"path", path}, {"format", "jemalloc heap profile"}, {"ms", NowMsF() - t0}};
  }

 private:
  CallResult Call(const char* thread, const char* call, const char* key) const {
    CallResult c;
    c.thread = thread;
    c.call = call;
    c.has_rc = true;
    const double t0 = NowMsF();
    c.rc = mallctl_(key, nullptr, nullptr, nullptr, 0);
    c.ms = NowMsF() - t0;
    c.ok = c.rc == 0;
    return c;
  }
  MallctlFn mallctl_;
};

}  // namespace

std::unique_ptr<AllocatorApi> FindJemalloc(const MallocObject& object) {
  auto mallctl = reinterpret_cast<MallctlFn>(SymbolIn(object, "mallctl"));
  if (mallctl == nullptr) return nullptr;
  return std::make_unique<Jemalloc>(mallctl);
}

}  // namespace leaklab::probe
