// Reads mimalloc's mi_stats_print_out() text: the only place a release build of mimalloc
// shows its OS-level counters. Pure string handling, for the mimalloc adapter
// (alloc/mimalloc.cc: the relay's binding and the probe's) and the inspector.
#pragma once

#include <cstddef>

#include "json_writer.h"



namespace leaklab {

// mi_stats_print_out()'s text, collected into a fixed buffer (no allocation). A release
// build prints about 2 KiB.
struct MimallocStatsText {
  char text[16384];
  size_t used = 0;
  bool truncated = false;
  void Clear() {
    used = 0;
    truncated = false;
    text[0] = '\0';
  }
  // mi_output_fun: appends `msg` to the MimallocStatsText `arg`.
  static void Append(const char* msg, void* arg);
};

// "current" column (4th amount) of a line like
// "  reserved:  128.0 MiB  128.0 MiB      0      128.0 MiB", in bytes. Amounts are printed
// with one decimal, so the result is approximate (+-0.05 of the unit). False if absent.
bool ParseMimallocCurrent(const char* text, const char* label, double* out);

using MiProcessInfoFn = void (*)(size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*);
using MiOutputFn = void (*)(const char*, void*);
using MiStatsPrintFn = void (*)(MiOutputFn, void*);

// process.current_rss, peak_rss, current_commit, peak_commit, page_faults from
// mi_process_info (the relay's linked one or the probe's dlsym'd one).
void WriteMimallocProcessInfo(MiProcessInfoFn info, StatsOut& out);
// stats.reserved_approx, stats.committed_approx, stats.reset_approx and unmapped_bytes
// (reserved - committed + reset) from mi_stats_print_out's text, collected into `text`.
// A release build (Debian's) keeps only these OS-level counters; the per-size heap
// counters need MI_STAT>1 and print garbage, so they are not parsed. Allocation-free.
void WriteMimallocStatsText(MiStatsPrintFn print, MimallocStatsText& text, StatsOut& out);

}  // namespace leaklab
