// gperftools tcmalloc, when libtcmalloc serves malloc: its C API
// (MallocExtension_GetNumericProperty, MallocExtension_ReleaseFreeMemory), and heap
// profiles: the heap profiler's HeapProfilerDump() when it runs (HEAPPROFILE), else
// tcmalloc's own sampled heap, MallocExtension::instance()->GetHeapSample() (with
// TCMALLOC_SAMPLE_PARAMETER), as the relay's admin profile-dump does. Every call is
// resolved at run time (dlsym): the probe links no allocator.
#include <sys/stat.h>

#include <gperftools/malloc_extension.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>

#include "probe_alloc.h"
#include "tcmalloc_properties.h"

namespace leaklab::probe {
namespace {

using GetPropertyFn = int (*)(const char*, size_t*);
using VoidFn = void (*)();
using OwnershipFn = int (*)(const void*);
using VersionFn = const char* (*)(int*, int*, const char**);
using DumpFn = void (*)(const char*);
using RunningFn = int (*)();
// MallocExtension::instance(): its methods are virtual, so calling them through the
// returned object needs no link-time symbol.
using InstanceFn = MallocExtension* (*)();

class Tcmalloc : public AllocatorApi {
 public:
  explicit Tcmalloc(const MallocObject& o)
      : get_(reinterpret_cast<GetPropertyFn>(SymbolIn(o, "MallocExtension_GetNumericProperty"))),
        release_(reinterpret_cast<VoidFn>(SymbolIn(o, "MallocExtension_ReleaseFreeMemory"))),
        idle_(reinterpret_cast<VoidFn>(SymbolIn(o, "MallocExtension_MarkThreadIdle"))),
        owner_(reinterpret_cast<OwnershipFn>(SymbolIn(o, "MallocExtension_GetOwnership"))),
        version_(reinterpret_cast<VersionFn>(SymbolIn(o, "tc_version"))),
        dump_(reinterpret_cast<DumpFn>(SymbolIn(o, "HeapProfilerDump"))),
        running_(reinterpret_cast<RunningFn>(SymbolIn(o, "IsHeapProfilerRunning"))),
        instance_(reinterpret_cast<InstanceFn>(SymbolIn(o, "_ZN15MallocExtension8instanceEv"))) {}

  bool usable() const { return get_ != nullptr && release_ != nullptr; }
  // Asked once, at detection: a test allocation every 100 ms would be allocator activity.
  void CheckOwnership() {
    if (owner_ == nullptr) return;
    void* p = std::malloc(100);
    owns_malloc_ = owner_(p) == 1;  // kOwned
    std::free(p);
  }
  const char* Name() const override { return "tcmalloc"; }
  std::string Version() const override {
    int major = 0, minor = 0;
    const char* patch = nullptr;
    const char* v = version_ ? version_(&major, &minor, &patch) : nullptr;
    return v ? v : "unknown";
  }

  int64_t Stats(StatsOut& out, bool) const override {
    size_t v[kTcmallocPropertyCount] = {};
    bool ok[kTcmallocPropertyCount] = {};
    for (size_t i = 0; i < kTcmallocPropertyCount; ++i) {
      ok[i] = get_(kTcmallocProperties[i], &v[i]) != 0;
      out.IntOrNull(kTcmallocProperties[i], ok[i] ? static_cast<int64_t>(v[i]) : -1);
    }
    out.IntOrNull("free_bytes", ok[3] && ok[5] && ok[6] && ok[7]
                                    ? static_cast<int64_t>(v[3] + v[5] + v[6] + v[7]) : -1);
    out.IntOrNull("unmapped_bytes", ok[4] ? static_cast<int64_t>(v[4]) : -1);
    if (owner_ != nullptr) out.Bool("owns_malloc", owns_malloc_);
    return ok[0] ? static_cast<int64_t>(v[0]) : -1;
  }

  void Release(CallList* calls) const override {
    if (idle_ != nullptr) calls->push_back(Time("probe", "MallocExtension_MarkThreadIdle()", idle_));
    calls->push_back(Time("process", "MallocExtension_ReleaseFreeMemory()", release_));
  }
  const char* ReleaseCall() const override { return "MallocExtension_ReleaseFreeMemory()"; }

  // With the heap profiler running (HEAPPROFILE), HeapProfilerDump() writes
  // <HEAPPROFILE prefix>.NNNN.heap and the newest such file is moved to `path`. Else the
  // sampled heap (GetHeapSample, one allocation per TCMALLOC_SAMPLE_PARAMETER bytes on
  // average: cheap, unlike the heap profiler, which records every allocation).
  nlohmann::json ProfileDump(const std::string& path) const override {
    const char* prefix = std::getenv("HEAPPROFILE");
    if (dump_ != nullptr && running_ != nullptr && running_() && prefix != nullptr) {
      const double t0 = NowMsF();
      dump_("leaklab profile-dump");
      const std::string newest = Newest(prefix);
      if (newest.empty()) return {{"ok", false}, {"error", std::string("HeapProfilerDump wrote no ") + prefix + ".*.heap"}};
      if (std::rename(newest.c_str(), path.c_str()) != 0)
        return {{"ok", false}, {"error", "cannot move " + newest + " to " + path}};
      return {{"ok", true}, {"path", path}, {"format", "gperftools heap profile"}, {"source", "HeapProfilerDump"}, {"ms", NowMsF() - t0}};
    }
    const char* rate = std::getenv("TCMALLOC_SAMPLE_PARAMETER");
    if (rate == nullptr || std::atol(rate) <= 0)
      return {{"ok", false}, {"error", "tcmalloc heap sampling is off: start the target with TCMALLOC_SAMPLE_PARAMETER=524288 (or HEAPPROFILE=<prefix>)"}};
    if (instance_ == nullptr)
      return {{"ok", false}, {"error", "this tcmalloc (" + Version() + ") exports no MallocExtension::instance()"}};
    const double t0 = NowMsF();
    std::string sample;
    instance_()->GetHeapSample(&sample);
    if (sample.empty()) return {{"ok", false}, {"error", "MallocExtension::GetHeapSample() returned nothing"}};
    FILE* f = std::fopen(path.c_str(), "we");
    if (f == nullptr) return {{"ok", false}, {"error", "cannot write " + path + ": " + std::strerror(errno)}};
    const bool written = std::fwrite(sample.data(), 1, sample.size(), f) == sample.size();
    if (std::fclose(f) != 0 || !written) return {{"ok", false}, {"error", "cannot write " + path + ": " + std::strerror(errno)}};
    return {{"ok", true}, {"path", path}, {"format", "gperftools heap sample"}, {"source", "GetHeapSample"}, {"ms", NowMsF() - t0}};
  }

 private:
  static CallResult Time(const char* thread, const char* call, VoidFn fn) {
    CallResult c;
    c.thread = thread;
    c.call = call;
    const double t0 = NowMsF();
    fn();
    c.ms = NowMsF() - t0;
    return c;
  }

  // The most recently modified "<prefix>.*.heap".
  static std::string Newest(const std::string& prefix) {
    const size_t slash = prefix.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : prefix.substr(0, slash);
    const std::string base = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return "";
    std::string best;
    struct timespec best_t{};
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind(base + ".", 0) != 0 || n.size() < 5 || n.compare(n.size() - 5, 5, ".heap") != 0) continue;
      struct stat st{};
      const std::string full = dir + "/" + n;
      if (stat(full.c_str(), &st) != 0) continue;
      if (best.empty() || st.st_mtim.tv_sec > best_t.tv_sec ||
          (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
        best = full;
        best_t = st.st_mtim;
      }
    }
    closedir(d);
    return best;
  }

  GetPropertyFn get_;
  VoidFn release_;
  VoidFn idle_;
  OwnershipFn owner_;
  VersionFn version_;
  DumpFn dump_;
  RunningFn running_;
  InstanceFn instance_;
  bool owns_malloc_ = false;
};

}  // namespace

std::unique_ptr<AllocatorApi> FindTcmalloc(const MallocObject& object) {
  auto a = std::make_unique<Tcmalloc>(object);
  if (!a->usable()) return nullptr;
  a->CheckOwnership();
  return a;
}

}  // namespace leaklab::probe
