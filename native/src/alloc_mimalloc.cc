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

void Append(const char* msg, void* arg) { static_cast<std::string*>(arg)->append(msg); }

}  // namespace

const char* Name() { return "mimalloc"; }

std::string Version() {
  const int v = mi_version();  // e.g. 209
  return std::to_string(v / 100) + "." + std::to_string(v % 100 / 10) + "." +
         std::to_string(v % 10);
}

nlohmann::json Stats() {
  size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
  mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  nlohmann::json j;
  j["process.current_rss"] = rss;
  j["process.peak_rss"] = peak_rss;
  j["process.current_commit"] = commit;
  j["process.peak_commit"] = peak_commit;
  j["process.page_faults"] = faults;

  // A release build (Debian's) keeps only the OS-level counters (reserved, committed,
  // reset); the per-size heap counters ("touched", "pages", malloc'd bytes) need
  // MI_STAT>1 and print garbage, so they are not parsed.
  std::string text;
  mi_stats_print_out(&Append, &text);
  double reserved = 0, committed = 0, reset = 0;
  const bool have_reserved = ParseMimallocCurrent(text, "reserved", &reserved);
  const bool have_committed = ParseMimallocCurrent(text, "committed", &committed);
  const bool have_reset = ParseMimallocCurrent(text, "reset", &reset);
  auto num = [](bool ok, double v) {
    return ok ? nlohmann::json(static_cast<int64_t>(v)) : nlohmann::json(nullptr);
  };
  j["stats.reserved_approx"] = num(have_reserved, reserved);
  j["stats.committed_approx"] = num(have_committed, committed);
  j["stats.reset_approx"] = num(have_reset, reset);

  // Does malloc() really go to mimalloc (Debian's libmimalloc overrides it)?
  void* probe = std::malloc(100);
  j["owns_malloc"] = mi_is_in_heap_region(probe);
  std::free(probe);
  // Unknowable in a release build: mimalloc does not count live malloc'd bytes, so
  // neither allocated nor free (committed - allocated) can be derived.
  // The effective tuning, so a variant can check that MIMALLOC_* took (mimalloc
  // silently ignores unknown option names).
  j["opt.decommit_delay"] = mi_option_get(mi_option_decommit_delay);
  j["opt.segment_decommit_delay"] = mi_option_get(mi_option_segment_decommit_delay);
  j["opt.page_reset"] = mi_option_get(mi_option_page_reset);
  j["opt.allow_decommit"] = mi_option_get(mi_option_allow_decommit);
  j["opt.eager_commit"] = mi_option_get(mi_option_eager_commit);
  j["allocated_bytes"] = nullptr;
  j["free_bytes"] = nullptr;
  // Reserved address space that is decommitted, plus committed memory that was reset
  // (madvise'd) but kept mapped; approximate (see ParseCurrent).
  j["unmapped_bytes"] = have_reserved && have_committed && have_reset
                            ? num(true, reserved - committed + reset)
                            : nlohmann::json(nullptr);
  return j;
}

void ReleaseThread() { mi_collect(true); }

void ReleaseProcess() { mi_collect(true); }

const char* ReleaseCall() { return "mi_collect(true)"; }

bool ProfileDump(const std::string&, std::string* error) {
  *error = "mimalloc has no heap profiler: profile the jemalloc or tcmalloc variant";
  return false;
}

}  // namespace leaklab::alloc
