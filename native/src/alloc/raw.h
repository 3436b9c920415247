// What the inspector (inspect/inspect_main.cc) shares with the adapters: the allocator API
// names it resolves in a target it looks at, and the pure formulas that turn an
// allocator's raw counters into the normalized allocated_bytes, free_bytes and
// unmapped_bytes. Each is defined in its allocator's file (glibc.cc, ...), next to the
// adapter that writes the same figures, so the two cannot drift.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaklab::alloc {

// -1: unknowable (written as null).
struct Normalized {
  int64_t allocated_bytes = -1;
  int64_t free_bytes = -1;
  int64_t unmapped_bytes = -1;
};

struct Ledger;  // adapter.h
// glibc: where each arena's free memory sits, from malloc_info()'s text (`ledger`; the
// inspector reads the same text from a live process). Fills *out; allocates nothing.
void ParseMallocInfo(const char* text, size_t size, Ledger* out);

// glibc: from mallinfo2()'s uordblks, hblkhd and fordblks.
Normalized GlibcNormalized(uint64_t uordblks, uint64_t hblkhd, uint64_t fordblks);
// tcmalloc: from the numeric properties kTcmallocProperties, in that order; ok[i] false
// where the property was not read.
Normalized TcmallocNormalized(const uint64_t* values, const bool* ok);
// jemalloc: from stats.allocated, stats.resident and stats.retained (null: not read).
Normalized JemallocNormalized(const uint64_t* allocated, const uint64_t* resident, const uint64_t* retained);
// mimalloc: from the stats text's reserved, committed and reset (approximate) amounts.
Normalized MimallocNormalized(bool have, double reserved, double committed, double reset);

// The gperftools numeric properties the lab reports, in the order it reports them.
extern const char* const kTcmallocProperties[];
extern const size_t kTcmallocPropertyCount;
// The jemalloc stats the lab reports.
extern const char* const kJemallocStats[];
extern const size_t kJemallocStatsCount;

// Function names the inspector resolves in a target, and how it labels its calls.
struct GlibcNames {
  const char* counters;  // mallinfo2
  const char* trim;      // the process-wide release
  const char* info;      // the XML report of every arena
  const char* release_call;  // the inspector's release label
  const char* const* malloc_family;  // glibc malloc's own entry points, null-terminated
};
struct TcmallocNames {
  const char* get_property;
  const char* release;
  const char* get_stats;
  const char* release_call;
};
struct JemallocNames {
  const char* ctl;           // the one entry point
  const char* purge_all;     // the mallctl name of the process-wide purge
  const char* release_call;
};
struct MimallocNames {
  const char* version;
  const char* collect;
  const char* process_info;
  const char* stats_print;
  const char* release_call;
  const char* release_label;
};
extern const GlibcNames kGlibcNames;
extern const TcmallocNames kTcmallocNames;
extern const JemallocNames kJemallocNames;
extern const MimallocNames kMimallocNames;

}  // namespace leaklab::alloc
