// jemalloc 5, when it serves malloc (Debian's libjemalloc.so.2 exports unprefixed
// mallctl): stats.* after an epoch bump, release with arena.<MALLCTL_ARENAS_ALL>.purge,
// heap profile with prof.dump when the process runs with MALLOC_CONF=prof:true.
#include <sys/types.h>

#include <cstdint>

#include "probe_alloc.h"

namespace leaklab::probe {
namespace {

using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);

constexpr unsigned kArenasAll = 4096;  // MALLCTL_ARENAS_ALL in jemalloc 5

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

  nlohmann::json Stats() const override {
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    mallctl_("epoch", &epoch, &elen, &epoch, elen);  // refresh the cached stats
    nlohmann::json j;
    size_t v[kCount] = {};
    bool ok[kCount] = {};
    for (size_t i = 0; i < kCount; ++i) {
      size_t len = sizeof v[i];
      ok[i] = mallctl_(kStats[i], &v[i], &len, nullptr, 0) == 0;
      j[kStats[i]] = ok[i] ? nlohmann::json(v[i]) : nlohmann::json(nullptr);
    }
    j["allocated_bytes"] = ok[0] ? nlohmann::json(v[0]) : nlohmann::json(nullptr);
    j["free_bytes"] = ok[0] && ok[2] && v[2] >= v[0] ? nlohmann::json(v[2] - v[0]) : nlohmann::json(nullptr);
    j["unmapped_bytes"] = ok[3] ? nlohmann::json(v[3]) : nlohmann::json(nullptr);
    ssize_t decay = 0;
    size_t dlen = sizeof decay;
    if (mallctl_("opt.dirty_decay_ms", &decay, &dlen, nullptr, 0) == 0) j["opt.dirty_decay_ms"] = decay;
    dlen = sizeof decay;
    if (mallctl_("opt.muzzy_decay_ms", &decay, &dlen, nullptr, 0) == 0) j["opt.muzzy_decay_ms"] = decay;
    bool flag = false;
    size_t blen = sizeof flag;
    if (mallctl_("background_thread", &flag, &blen, nullptr, 0) == 0) j["opt.background_thread"] = flag ? 1 : 0;
    return j;
  }

  std::vector<CallResult> Release() const override {
    std::vector<CallResult> calls;
    calls.push_back(Call("mallctl(\"thread.tcache.flush\") [probe thread]", "thread.tcache.flush"));
    const std::string purge = "arena." + std::to_string(kArenasAll) + ".purge";
    calls.push_back(Call("mallctl(\"" + purge + "\")", purge.c_str()));
    return calls;
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
  CallResult Call(const std::string& name, const char* key) const {
    const double t0 = NowMsF();
    const int rc = mallctl_(key, nullptr, nullptr, nullptr, 0);
    return {name, rc, NowMsF() - t0, rc == 0};
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
