// jemalloc 5 (Debian: unprefixed mallctl): stats.* after an epoch bump, release with
// arena.<MALLCTL_ARENAS_ALL>.purge, heap profiles with prof.dump (MALLOC_CONF=prof:true).
// Linked (relay-jemalloc) or, for the probe, looked up in the libjemalloc that serves malloc.
#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "alloc/adapter.h"
#include "alloc/raw.h"
#include "alloc/resolve.h"

#ifdef LEAKLAB_ALLOC_LINKED
#include <jemalloc/jemalloc.h>
#endif

namespace leaklab::alloc {

const char* const kJemallocStats[] = {"stats.allocated", "stats.active", "stats.resident",
                                      "stats.retained",  "stats.mapped", "stats.metadata"};
const size_t kJemallocStatsCount = sizeof kJemallocStats / sizeof kJemallocStats[0];

// MALLCTL_ARENAS_ALL is 4096 in jemalloc 5.
const JemallocNames kJemallocNames = {"mallctl", "arena.4096.purge", "mallctl(\"arena.4096.purge\")"};

// resident includes metadata and dirty pages; resident - allocated is what the allocator
// holds in physical memory beyond live data.
Normalized JemallocNormalized(const uint64_t* allocated, const uint64_t* resident, const uint64_t* retained) {
  Normalized n;
  if (allocated != nullptr) n.allocated_bytes = static_cast<int64_t>(*allocated);
  if (allocated != nullptr && resident != nullptr && *resident >= *allocated)
    n.free_bytes = static_cast<int64_t>(*resident - *allocated);
  if (retained != nullptr) n.unmapped_bytes = static_cast<int64_t>(*retained);
  return n;
}

namespace {

using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);

// The arena the process-wide release purges: MALLCTL_ARENAS_ALL, or, for tests only,
// LEAKLAB_TEST_JEMALLOC_PURGE_ARENA (an index past the last arena makes mallctl fail with
// ENOENT: a real failing allocator call, to test how a failed release is reported).
std::string PurgeName() {
  const char* test = std::getenv("LEAKLAB_TEST_JEMALLOC_PURGE_ARENA");
  if (test == nullptr) return kJemallocNames.purge_all;
  return "arena." + std::to_string(std::strtoul(test, nullptr, 10)) + ".purge";
}

class Jemalloc : public Adapter {
 public:
  explicit Jemalloc(MallctlFn mallctl)
      : mallctl_(mallctl), purge_(PurgeName()), purge_call_("mallctl(\"" + purge_ + "\")") {}
  const char* Name() const override { return "jemalloc"; }
  std::string Version() const override {
    const char* v = nullptr;
    size_t len = sizeof v;
    return mallctl_("version", &v, &len, nullptr, 0) == 0 && v != nullptr ? v : "unknown";
  }

  int64_t Stats(StatsOut& out, bool) override {
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    mallctl_("epoch", &epoch, &elen, &epoch, elen);  // refresh the cached stats
    uint64_t v[kCount] = {};
    bool ok[kCount] = {};
    for (size_t i = 0; i < kCount; ++i) {
      size_t value = 0, len = sizeof value;
      ok[i] = mallctl_(kJemallocStats[i], &value, &len, nullptr, 0) == 0;
      v[i] = value;
      out.IntOrNull(kJemallocStats[i], ok[i] ? static_cast<int64_t>(v[i]) : -1);
    }
    const Normalized n = JemallocNormalized(ok[0] ? &v[0] : nullptr, ok[2] ? &v[2] : nullptr, ok[3] ? &v[3] : nullptr);
    out.IntOrNull("free_bytes", n.free_bytes);
    out.IntOrNull("unmapped_bytes", n.unmapped_bytes);
    WriteTuning(out);
    return n.allocated_bytes;
  }

  CallResult ReleaseThread() override { return Call("mallctl(\"thread.tcache.flush\")", "thread.tcache.flush"); }
  CallResult ReleaseProcess() override { return Call(purge_call_.c_str(), purge_.c_str()); }
  const char* ReleaseCall() const override { return "mallctl(\"arena.<MALLCTL_ARENAS_ALL>.purge\")"; }

  ProfileResult ProfileDump(const std::string& path) override {
    ProfileResult r;
    r.format = "jemalloc heap profile";
    bool prof = false;
    size_t len = sizeof prof;
    if (mallctl_("opt.prof", &prof, &len, nullptr, 0) != 0) {
      r.error = "this jemalloc (" + Version() + ") was built without profiling (--enable-prof)";
      return r;
    }
    if (!prof) {
      r.error = std::string("jemalloc heap profiling is off: start the ") + kHostWord + " with MALLOC_CONF=prof:true";
      return r;
    }
    const char* file = path.c_str();
    const int rc = mallctl_("prof.dump", nullptr, nullptr, &file, sizeof file);
    r.ok = rc == 0;
    if (!r.ok) r.error = "mallctl(\"prof.dump\") to " + path + " failed: " + std::strerror(rc);
    return r;
  }

 private:
  static constexpr size_t kCount = sizeof kJemallocStats / sizeof kJemallocStats[0];

  // The effective tuning, so a variant can check that MALLOC_CONF took (jemalloc warns on
  // unknown options but carries on).
  void WriteTuning(StatsOut& out) const {
    ssize_t decay = 0;
    size_t dlen = sizeof decay;
    if (mallctl_("opt.dirty_decay_ms", &decay, &dlen, nullptr, 0) == 0) out.Int("opt.dirty_decay_ms", decay);
    dlen = sizeof decay;
    if (mallctl_("opt.muzzy_decay_ms", &decay, &dlen, nullptr, 0) == 0) out.Int("opt.muzzy_decay_ms", decay);
    bool flag = false;
    size_t blen = sizeof flag;
    if (mallctl_("background_thread", &flag, &blen, nullptr, 0) == 0) out.Int("opt.background_thread", flag ? 1 : 0);
  }

  CallResult Call(const char* call, const char* key) const {
    CallResult r;
    r.call = call;
    r.has_rc = true;
    r.rc = mallctl_(key, nullptr, nullptr, nullptr, 0);
    r.ok = r.rc == 0;
    return r;
  }

  MallctlFn mallctl_;
  const std::string purge_;
  const std::string purge_call_;
};

}  // namespace

#ifdef LEAKLAB_ALLOC_LINKED

Adapter& Linked() {
  static Jemalloc adapter(&mallctl);
  return adapter;
}

#else

namespace {

std::unique_ptr<Adapter> ResolveJemalloc(const MallocObject& object) {
  auto fn = SymbolAs<MallctlFn>(object, kJemallocNames.ctl);
  if (fn == nullptr) return nullptr;
  return std::make_unique<Jemalloc>(fn);
}

const ApiMark kMarks[] = {{"mallctl", "jemalloc"}, {"je_mallctl", "jemalloc (je_ prefix)"}};

}  // namespace

extern const Binder kJemallocBinder = {&ResolveJemalloc, kMarks, 2};

#endif

}  // namespace leaklab::alloc
