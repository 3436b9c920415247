// mimalloc 2 (Debian's libmimalloc overrides malloc/free when linked): counters from
// mi_process_info() and the text of mi_stats_print_out(), release with mi_collect(true).
#include <mimalloc.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "alloc.h"
#include "mimalloc_stats_text.h"

namespace leaklab::alloc {
namespace {

MimallocStatsText g_text;  // Stats() runs on the admin thread only

// Does malloc() really go to mimalloc (Debian's libmimalloc overrides it)? Fixed once the
// process has started; asked once (a probe allocation every 100 ms would be allocator
// activity).
bool OwnsMalloc() {
  static const bool owned = [] {
    void* probe = std::malloc(100);
    const bool r = mi_is_in_heap_region(probe);
    std::free(probe);
    return r;
  }();
  return owned;
}

}  // namespace

const char* Name() { return "mimalloc"; }

std::string Version() {
  const int v = mi_version();  // e.g. 209
  return std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + "." +
         std::to_string(v % 10);
}

void Stats(StatsOut& out, bool) {
  WriteMimallocProcessInfo(&mi_process_info, out);
  WriteMimallocStatsText(&mi_stats_print_out, g_text, out);
  out.Bool("owns_malloc", OwnsMalloc());
  // The effective tuning, so a variant can check that MIMALLOC_* took (mimalloc
  // silently ignores unknown option names).
  out.Int("opt.decommit_delay", mi_option_get(mi_option_decommit_delay));
  out.Int("opt.segment_decommit_delay", mi_option_get(mi_option_segment_decommit_delay));
  out.Int("opt.page_reset", mi_option_get(mi_option_page_reset));
  out.Int("opt.allow_decommit", mi_option_get(mi_option_allow_decommit));
  out.Int("opt.eager_commit", mi_option_get(mi_option_eager_commit));
  // Unknowable in a release build: mimalloc does not count live malloc'd bytes, so
  // neither allocated nor free (committed - allocated) can be derived.
  out.Null("allocated_bytes");
  out.Null("free_bytes");
}

// mi_collect() returns nothing: it cannot report a failure. On the main thread it also
// reclaims the heaps of exited threads (see alloc.h).
CallResult ReleaseThread() {
  mi_collect(true);
  CallResult r;
  r.call = "mi_collect(true)";
  return r;
}

CallResult ReleaseProcess() {
  mi_collect(true);
  CallResult r;
  r.call = "mi_collect(true)";
  return r;
}

const char* ReleaseCall() { return "mi_collect(true)"; }

bool ProfileDump(const std::string&, std::string* error) {
  *error = "mimalloc has no heap profiler: profile the jemalloc or tcmalloc variant";
  return false;
}

}  // namespace leaklab::alloc
