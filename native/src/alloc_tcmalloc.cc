// gperftools tcmalloc (linked, not preloaded): MallocExtension properties, release with
// ReleaseFreeMemory().
#include <gperftools/heap-profiler.h>
#include <gperftools/malloc_extension.h>
#include <gperftools/tcmalloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "alloc.h"
#include "tcmalloc_properties.h"

namespace leaklab::alloc {

const char* Name() { return "tcmalloc"; }

std::string Version() {
  int major = 0, minor = 0;
  const char* patch = nullptr;
  return tc_version(&major, &minor, &patch);  // "gperftools 2.10"
}

// Does malloc() really go to tcmalloc (linked, not preloaded)? Fixed once the process
// has started; asked once (a probe allocation every 100 ms would be allocator activity).
static bool OwnsMalloc() {
  static const bool owned = [] {
    void* probe = std::malloc(100);
    const bool r = MallocExtension::instance()->GetOwnership(probe) == MallocExtension::kOwned;
    std::free(probe);
    return r;
  }();
  return owned;
}

void Stats(StatsOut& out, bool) {
  MallocExtension* ext = MallocExtension::instance();
  size_t v[kTcmallocPropertyCount] = {};
  bool ok[kTcmallocPropertyCount] = {};
  for (size_t i = 0; i < kTcmallocPropertyCount; ++i) {
    ok[i] = ext->GetNumericProperty(kTcmallocProperties[i], &v[i]);
    if (ok[i]) out.Int(kTcmallocProperties[i], static_cast<int64_t>(v[i]));
    else out.Null(kTcmallocProperties[i]);
  }
  // Normalized view. heap_size = allocated + all free lists + pageheap free (mapped),
  // pageheap_unmapped = madvise(DONTNEED)ed spans that stay mapped.
  out.IntOrNull("allocated_bytes", ok[0] ? static_cast<int64_t>(v[0]) : -1);
  out.IntOrNull("free_bytes", ok[3] && ok[5] && ok[6] && ok[7]
                                  ? static_cast<int64_t>(v[3] + v[5] + v[6] + v[7]) : -1);
  out.Bool("owns_malloc", OwnsMalloc());
  out.IntOrNull("unmapped_bytes", ok[4] ? static_cast<int64_t>(v[4]) : -1);
  // The effective tuning, so a variant can check that TCMALLOC_RELEASE_RATE took.
  out.Double("opt.release_rate", ext->GetMemoryReleaseRate());
}

// MarkThreadIdle() and ReleaseFreeMemory() return nothing: they cannot report a failure.
CallResult ReleaseThread() {
  MallocExtension::instance()->MarkThreadIdle();
  CallResult r;
  r.call = "MallocExtension::instance()->MarkThreadIdle()";
  return r;
}

CallResult ReleaseProcess() {
  MallocExtension::instance()->ReleaseFreeMemory();
  CallResult r;
  r.call = "MallocExtension::instance()->ReleaseFreeMemory()";
  return r;
}

const char* ReleaseCall() { return "MallocExtension::instance()->ReleaseFreeMemory()"; }

// Two sources, both in the format pprof reads: with HEAPPROFILE set, the heap profiler's
// GetHeapProfile() (what HeapProfilerDump() writes to <HEAPPROFILE>.NNNN.heap; it records
// every allocation), else tcmalloc's own sampled heap, GetHeapSample() (one allocation per
// TCMALLOC_SAMPLE_PARAMETER bytes on average; off when that is unset or 0).
bool ProfileDump(const std::string& path, std::string* error) {
  char* profile = nullptr;
  if (IsHeapProfilerRunning()) {
    profile = GetHeapProfile();
  } else {
    const char* rate = std::getenv("TCMALLOC_SAMPLE_PARAMETER");
    if (rate == nullptr || std::atol(rate) <= 0) {
      *error = "tcmalloc heap sampling is off: start the relay with TCMALLOC_SAMPLE_PARAMETER=524288 (or HEAPPROFILE=<prefix>)";
      return false;
    }
    std::string sample;
    MallocExtension::instance()->GetHeapSample(&sample);
    profile = static_cast<char*>(std::malloc(sample.size() + 1));
    if (profile != nullptr) std::memcpy(profile, sample.c_str(), sample.size() + 1);
  }
  if (profile == nullptr) {
    *error = "the heap profile came back empty";
    return false;
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    std::free(profile);
    return false;
  }
  const size_t n = std::strlen(profile);
  const bool ok = std::fwrite(profile, 1, n, f) == n;
  const bool closed = std::fclose(f) == 0;
  std::free(profile);
  if (!ok || !closed) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace leaklab::alloc
