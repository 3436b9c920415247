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

// mi_stats_print_out()'s text, collected into a fixed buffer (no allocation; Stats() runs
// on the admin thread only). A release build prints about 2 KiB.
struct StatsText {
  char text[16384];
  size_t used = 0;
  bool truncated = false;
};
StatsText g_text;

void Append(const char* msg, void* arg) {
  auto* t = static_cast<StatsText*>(arg);
  const size_t n = std::strlen(msg);
  const size_t room = sizeof t->text - 1 - t->used;
  const size_t take = n < room ? n : room;
  std::memcpy(t->text + t->used, msg, take);
  t->used += take;
  t->text[t->used] = '\0';
  if (take < n) t->truncated = true;
}

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

void Stats(StatsOut& out) {
  size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
  mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  out.Int("process.current_rss", static_cast<int64_t>(rss));
  out.Int("process.peak_rss", static_cast<int64_t>(peak_rss));
  out.Int("process.current_commit", static_cast<int64_t>(commit));
  out.Int("process.peak_commit", static_cast<int64_t>(peak_commit));
  out.Int("process.page_faults", static_cast<int64_t>(faults));

  // A release build (Debian's) keeps only the OS-level counters (reserved, committed,
  // reset); the per-size heap counters ("touched", "pages", malloc'd bytes) need
  // MI_STAT>1 and print garbage, so they are not parsed.
  g_text.used = 0;
  g_text.truncated = false;
  g_text.text[0] = '\0';
  mi_stats_print_out(&Append, &g_text);
  double reserved = 0, committed = 0, reset = 0;
  const bool have_reserved = ParseMimallocCurrent(g_text.text, "reserved", &reserved);
  const bool have_committed = ParseMimallocCurrent(g_text.text, "committed", &committed);
  const bool have_reset = ParseMimallocCurrent(g_text.text, "reset", &reset);
  auto num = [&](const char* key, bool ok, double v) {
    out.IntOrNull(key, ok ? static_cast<int64_t>(v) : -1);
  };
  num("stats.reserved_approx", have_reserved, reserved);
  num("stats.committed_approx", have_committed, committed);
  num("stats.reset_approx", have_reset, reset);
  out.Bool("owns_malloc", OwnsMalloc());
  // Unknowable in a release build: mimalloc does not count live malloc'd bytes, so
  // neither allocated nor free (committed - allocated) can be derived.
  // The effective tuning, so a variant can check that MIMALLOC_* took (mimalloc
  // silently ignores unknown option names).
  out.Int("opt.decommit_delay", mi_option_get(mi_option_decommit_delay));
  out.Int("opt.segment_decommit_delay", mi_option_get(mi_option_segment_decommit_delay));
  out.Int("opt.page_reset", mi_option_get(mi_option_page_reset));
  out.Int("opt.allow_decommit", mi_option_get(mi_option_allow_decommit));
  out.Int("opt.eager_commit", mi_option_get(mi_option_eager_commit));
  out.Null("allocated_bytes");
  out.Null("free_bytes");
  // Reserved address space that is decommitted, plus committed memory that was reset
  // (madvise'd) but kept mapped; approximate (see ParseCurrent).
  num("unmapped_bytes", have_reserved && have_committed && have_reset,
      reserved - committed + reset);
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
