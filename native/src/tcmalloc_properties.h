// The gperftools numeric properties the lab reports, in the order it reports them: the
// relay's `stats` (alloc_tcmalloc.cc) and the probe's (probe/probe_tcmalloc.cc) carry the
// same keys, so one reading of the counters serves both subjects.
#pragma once

#include <cstddef>

namespace leaklab {

inline constexpr const char* kTcmallocProperties[] = {
    "generic.current_allocated_bytes",     "generic.heap_size",
    "generic.total_physical_bytes",        "tcmalloc.pageheap_free_bytes",
    "tcmalloc.pageheap_unmapped_bytes",    "tcmalloc.central_cache_free_bytes",
    "tcmalloc.transfer_cache_free_bytes",  "tcmalloc.thread_cache_free_bytes",
    "tcmalloc.current_total_thread_cache_bytes",
};
inline constexpr size_t kTcmallocPropertyCount = sizeof kTcmallocProperties / sizeof kTcmallocProperties[0];

}  // namespace leaklab
