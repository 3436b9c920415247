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

namespace leaklab::alloc {
namespace {

const char* const kProperties[] = {
    "generic.current_allocated_bytes",     "generic.heap_size",
    "generic.total_physical_bytes",        "tcmalloc.pageheap_free_bytes",
    "tcmalloc.pageheap_unmapped_bytes",    "tcmalloc.central_cache_free_bytes",
    "tcmalloc.transfer_cache_free_bytes",  "tcmalloc.thread_cache_free_bytes",
    "tcmalloc.current_total_thread_cache_bytes",
};

}  // namespace

const char* Name() { return "tcmalloc"; }

std::string Version() {
  int major = 0, minor = 0;
  const char* patch = nullptr;
  return tc_version(&major, &minor, &patch);  // "gperftools 2.10"
}

nlohmann::json Stats() {
  MallocExtension* ext = MallocExtension::instance();
  nlohmann::json j;
  size_t v[sizeof kProperties / sizeof kProperties[0]] = {};
  bool ok[sizeof kProperties / sizeof kProperties[0]] = {};
  for (size_t i = 0; i < sizeof kProperties / sizeof kProperties[0]; ++i) {
    ok[i] = ext->GetNumericProperty(kProperties[i], &v[i]);
    if (ok[i]) j[kProperties[i]] = v[i];
    else j[kProperties[i]] = nullptr;
  }
  // Normalized view. heap_size = allocated + all free lists + pageheap free (mapped),
  // pageheap_unmapped = madvise(DONTNEED)ed spans that stay mapped.
  j["allocated_bytes"] = ok[0] ? nlohmann::json(v[0]) : nlohmann::json(nullptr);
  if (ok[3] && ok[5] && ok[6] && ok[7])
    j["free_bytes"] = v[3] + v[5] + v[6] + v[7];
  else
    j["free_bytes"] = nullptr;
  // Does malloc() really go to tcmalloc (linked, not preloaded)?
  void* probe = std::malloc(100);
  j["owns_malloc"] = ext->GetOwnership(probe) == MallocExtension::kOwned;
  std::free(probe);
  j["unmapped_bytes"] = ok[4] ? nlohmann::json(v[4]) : nlohmann::json(nullptr);
  // The effective tuning, so a variant can check that TCMALLOC_RELEASE_RATE took.
  j["opt.release_rate"] = ext->GetMemoryReleaseRate();
  return j;
}

void ReleaseThread() { MallocExtension::instance()->MarkThreadIdle(); }

void ReleaseProcess() { MallocExtension::instance()->ReleaseFreeMemory(); }

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
