// gperftools tcmalloc (linked, not preloaded): MallocExtension properties, release with
// ReleaseFreeMemory().
#include <gperftools/malloc_extension.h>
#include <gperftools/tcmalloc.h>

#include <cstdlib>

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

void Stats(StatsOut& out) {
  MallocExtension* ext = MallocExtension::instance();
  size_t v[sizeof kProperties / sizeof kProperties[0]] = {};
  bool ok[sizeof kProperties / sizeof kProperties[0]] = {};
  for (size_t i = 0; i < sizeof kProperties / sizeof kProperties[0]; ++i) {
    ok[i] = ext->GetNumericProperty(kProperties[i], &v[i]);
    if (ok[i]) out.Int(kProperties[i], static_cast<int64_t>(v[i]));
    else out.Null(kProperties[i]);
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

}  // namespace leaklab::alloc
