// gperftools tcmalloc: numeric properties through its C API, release with
// ReleaseFreeMemory(), heap profiles from the heap profiler (HEAPPROFILE) or tcmalloc's own
// sampled heap (TCMALLOC_SAMPLE_PARAMETER). Linked (relay-tcmalloc) or, for the probe,
// looked up in the libtcmalloc that serves malloc.
#include <gperftools/heap-profiler.h>
#include <gperftools/malloc_extension.h>
#include <gperftools/malloc_extension_c.h>
#include <gperftools/tcmalloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "alloc/adapter.h"
#include "alloc/raw.h"
#include "alloc/resolve.h"

namespace leaklab::alloc {

const char* const kTcmallocProperties[] = {
    "generic.current_allocated_bytes",     "generic.heap_size",
    "generic.total_physical_bytes",        "tcmalloc.pageheap_free_bytes",
    "tcmalloc.pageheap_unmapped_bytes",    "tcmalloc.central_cache_free_bytes",
    "tcmalloc.transfer_cache_free_bytes",  "tcmalloc.thread_cache_free_bytes",
    "tcmalloc.current_total_thread_cache_bytes",
};
const size_t kTcmallocPropertyCount = sizeof kTcmallocProperties / sizeof kTcmallocProperties[0];

const TcmallocNames kTcmallocNames = {"MallocExtension_GetNumericProperty", "MallocExtension_ReleaseFreeMemory",
                                      "MallocExtension_GetStats", "MallocExtension_ReleaseFreeMemory()"};

// heap_size = allocated + all free lists + pageheap free (mapped); pageheap_unmapped =
// madvise(DONTNEED)ed spans that stay mapped.
Normalized TcmallocNormalized(const uint64_t* v, const bool* ok) {
  Normalized n;
  if (ok[0]) n.allocated_bytes = static_cast<int64_t>(v[0]);
  if (ok[3] && ok[5] && ok[6] && ok[7]) n.free_bytes = static_cast<int64_t>(v[3] + v[5] + v[6] + v[7]);
  if (ok[4]) n.unmapped_bytes = static_cast<int64_t>(v[4]);
  return n;
}

namespace {

using VoidFn = void (*)();

struct TcmallocApi {
  int (*get_property)(const char*, size_t*);
  VoidFn release;
  VoidFn mark_idle;
  int (*ownership)(const void*);
  const char* (*version)(int*, int*, const char**);
  int (*profiler_running)();
  char* (*heap_profile)();
  // MallocExtension::instance(): its methods are virtual, so calling them through the
  // returned object needs no link-time symbol.
  MallocExtension* (*instance)();
  // How the release calls are named in replies (the relay's and the probe's names differ).
  const char* idle_call;
  const char* release_call;
};

class Tcmalloc : public Adapter {
 public:
  // Does malloc() really go to tcmalloc? Fixed once the process has started; asked once,
  // here (a test allocation every 100 ms would be allocator activity).
  explicit Tcmalloc(TcmallocApi api) : api_(api) {
    if (api_.ownership == nullptr) return;
    void* p = std::malloc(100);
    owns_malloc_ = api_.ownership(p) == MallocExtension::kOwned;
    std::free(p);
  }
  const char* Name() const override { return "tcmalloc"; }
  std::string Version() const override {
    int major = 0, minor = 0;
    const char* patch = nullptr;
    const char* v = api_.version != nullptr ? api_.version(&major, &minor, &patch) : nullptr;
    return v != nullptr ? v : "unknown";  // "gperftools 2.10"
  }

  int64_t Stats(StatsOut& out, bool) override {
    uint64_t v[16] = {};
    bool ok[16] = {};
    for (size_t i = 0; i < kTcmallocPropertyCount; ++i) {
      size_t value = 0;
      ok[i] = api_.get_property(kTcmallocProperties[i], &value) != 0;
      v[i] = value;
      out.IntOrNull(kTcmallocProperties[i], ok[i] ? static_cast<int64_t>(v[i]) : -1);
    }
    const Normalized n = TcmallocNormalized(v, ok);
    out.IntOrNull("free_bytes", n.free_bytes);
    if (api_.ownership != nullptr) out.Bool("owns_malloc", owns_malloc_);
    out.IntOrNull("unmapped_bytes", n.unmapped_bytes);
    // The effective tuning, so a variant can check that TCMALLOC_RELEASE_RATE took.
    if (api_.instance != nullptr) out.Double("opt.release_rate", api_.instance()->GetMemoryReleaseRate());
    return n.allocated_bytes;
  }

  // MarkThreadIdle() and ReleaseFreeMemory() return nothing: they cannot report a failure.
  CallResult ReleaseThread() override {
    CallResult r;
    if (api_.mark_idle == nullptr) return r;
    api_.mark_idle();
    r.call = api_.idle_call;
    return r;
  }
  CallResult ReleaseProcess() override {
    api_.release();
    CallResult r;
    r.call = api_.release_call;
    return r;
  }
  const char* ReleaseCall() const override { return api_.release_call; }

  // Two sources, both in the format pprof reads: with the heap profiler running
  // (HEAPPROFILE), GetHeapProfile() (what HeapProfilerDump() writes to
  // <HEAPPROFILE>.NNNN.heap; it records every allocation), else tcmalloc's own sampled
  // heap, GetHeapSample() (one allocation per TCMALLOC_SAMPLE_PARAMETER bytes on average).
  ProfileResult ProfileDump(const std::string& path) override {
    ProfileResult r;
    r.format = "gperftools heap profile";
    if (api_.profiler_running != nullptr && api_.profiler_running() && api_.heap_profile != nullptr) {
      r.source = "GetHeapProfile";
      char* profile = api_.heap_profile();
      if (profile == nullptr) {
        r.error = "the heap profile came back empty";
        return r;
      }
      Write(path, profile, std::strlen(profile), &r);
      std::free(profile);
      return r;
    }
    const char* rate = std::getenv("TCMALLOC_SAMPLE_PARAMETER");
    if (rate == nullptr || std::atol(rate) <= 0) {
      r.error = std::string("tcmalloc heap sampling is off: start the ") + kHostWord +
                " with TCMALLOC_SAMPLE_PARAMETER=524288 (or HEAPPROFILE=<prefix>)";
      return r;
    }
    if (api_.instance == nullptr) {
      r.error = "this tcmalloc (" + Version() + ") exports no MallocExtension::instance()";
      return r;
    }
    r.format = "gperftools heap sample";
    r.source = "GetHeapSample";
    std::string sample;
    api_.instance()->GetHeapSample(&sample);
    if (sample.empty()) r.error = "MallocExtension::GetHeapSample() returned nothing";
    else Write(path, sample.data(), sample.size(), &r);
    return r;
  }

 private:
  static void Write(const std::string& path, const char* data, size_t size, ProfileResult* r) {
    FILE* f = std::fopen(path.c_str(), "we");
    const bool written = f != nullptr && std::fwrite(data, 1, size, f) == size;
    const bool closed = f != nullptr && std::fclose(f) == 0;
    r->ok = written && closed;
    if (!r->ok) r->error = "cannot write " + path + ": " + std::strerror(errno);
  }

  TcmallocApi api_;
  bool owns_malloc_ = false;
};

}  // namespace

#ifdef LEAKLAB_ALLOC_LINKED

Adapter& Linked() {
  static Tcmalloc adapter(TcmallocApi{&MallocExtension_GetNumericProperty,
                    &MallocExtension_ReleaseFreeMemory,
                    &MallocExtension_MarkThreadIdle,
                    [](const void* p) { return static_cast<int>(MallocExtension_GetOwnership(p)); },
                    &tc_version,
                    &IsHeapProfilerRunning,
                    &GetHeapProfile,
                    &MallocExtension::instance,
                    "MallocExtension::instance()->MarkThreadIdle()",
                    "MallocExtension::instance()->ReleaseFreeMemory()"});
  return adapter;
}

#else

namespace {

std::unique_ptr<Adapter> ResolveTcmalloc(const MallocObject& o) {
  TcmallocApi api{};
  api.get_property = SymbolAs<int (*)(const char*, size_t*)>(o, kTcmallocNames.get_property);
  api.release = SymbolAs<VoidFn>(o, kTcmallocNames.release);
  if (api.get_property == nullptr || api.release == nullptr) return nullptr;
  api.mark_idle = SymbolAs<VoidFn>(o, "MallocExtension_MarkThreadIdle");
  api.ownership = SymbolAs<int (*)(const void*)>(o, "MallocExtension_GetOwnership");
  api.version = SymbolAs<const char* (*)(int*, int*, const char**)>(o, "tc_version");
  api.profiler_running = SymbolAs<int (*)()>(o, "IsHeapProfilerRunning");
  api.heap_profile = SymbolAs<char* (*)()>(o, "GetHeapProfile");
  api.instance = SymbolAs<MallocExtension* (*)()>(o, "_ZN15MallocExtension8instanceEv");
  api.idle_call = "MallocExtension_MarkThreadIdle()";
  api.release_call = kTcmallocNames.release_call;
  return std::make_unique<Tcmalloc>(api);
}

const ApiMark kMarks[] = {{"MallocExtension_GetNumericProperty", "tcmalloc"}};

}  // namespace

extern const Binder kTcmallocBinder = {&ResolveTcmalloc, kMarks, 1};

#endif

}  // namespace leaklab::alloc
