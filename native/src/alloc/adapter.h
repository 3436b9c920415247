// The allocator that serves malloc(), behind one interface, for the relay and the probe
// alike. One file per allocator (glibc.cc, tcmalloc.cc, jemalloc.cc, mimalloc.cc; unknown.cc
// for any other) holds one adapter class over a small struct of function pointers to that
// allocator's API, and both ways of filling the struct:
//   - linked (LEAKLAB_ALLOC_LINKED defined): the real symbols, for relay-<allocator>, which
//     links only its own allocator's file: alloc::Linked();
//   - resolved (the default): dlsym() in the object that serves malloc (resolve.h), for the
//     probe, which links every file and no allocator: alloc::Resolve().
// The allocator's API names appear in its file only (test/unit/native-layout.test.ts), and
// so do the pure formulas that turn its raw counters into the normalized allocated_bytes,
// free_bytes and unmapped_bytes, which the inspector (inspect/inspect_main.cc) calls too.
#pragma once

#include <cstdint>
#include <string>

#include "json_writer.h"

namespace leaklab::alloc {

// Who is told how to start it in messages ("start the relay with ..."): the relay for a
// linked binding, else the target the probe is preloaded into.
#ifdef LEAKLAB_ALLOC_LINKED
inline constexpr char kHostWord[] = "relay";
#else
inline constexpr char kHostWord[] = "target";
#endif

// What one allocator call of a release did.
struct CallResult {
  const char* call = nullptr;  // e.g. "mallctl(\"thread.tcache.flush\")"; null: nothing to call
  bool has_rc = false;         // false: the call returns nothing, so it cannot report failure
  int64_t rc = 0;              // its return value (mallctl: 0 or an errno value)
  bool ok = true;              // false: the allocator reported that the call failed
};

// What a heap profile dump did: ok, or the reason it could not.
struct ProfileResult {
  bool ok = false;
  std::string error;
  const char* format = nullptr;  // e.g. "jemalloc heap profile"
  const char* source = nullptr;  // the call that made it, where there are several
};

// Where one glibc arena's free memory sits, from malloc_info() (glibc.cc, `ledger`).
struct ArenaLedger {
  int64_t index = 0;
  bool main = false;
  int64_t fast_bytes = 0, fast_chunks = 0;  // fastbins
  int64_t bins_bytes = 0, bins_chunks = 0;  // small/large bins and the unsorted bin
  int64_t top_bytes = 0;                    // the top chunk
  int64_t system_bytes = 0;                 // what the arena has from the system
};

// The per-arena ledger, in fixed storage (the reply is written without allocating).
struct Ledger {
  static constexpr int kMaxArenas = 64;
  ArenaLedger arenas[kMaxArenas];
  int count = 0;           // entries in arenas[]
  bool truncated = false;  // more arenas than kMaxArenas: `rest` sums those past the cap
  ArenaLedger rest;
  int64_t rest_arenas = 0;
  int64_t mmapped_bytes = 0, mmapped_chunks = 0;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // "glibc", "tcmalloc", "jemalloc", "mimalloc" or "unknown".
  virtual const char* Name() const = 0;
  // Exact version as the library reports it, e.g. "2.36", "gperftools 2.10".
  virtual std::string Version() const = 0;
  // The allocator's own counters, as named numbers (bytes unless named otherwise), with
  // free_bytes and unmapped_bytes (null where unknowable); returns the bytes in use by the
  // program, -1 where the allocator does not count them (the caller writes
  // allocated_bytes). Makes no malloc/free call once it has run once (the harness polls it
  // every 100 ms, and allocator activity would drive the very decay and release it
  // measures: test/native/observer.test.ts). `full`: also what is too slow for the poll
  // (glibc's arena count walks every arena's free chunks under its lock once more).
  virtual int64_t Stats(StatsOut& out, bool full) = 0;
  // The part of a release that only acts on the calling thread (thread caches, mimalloc's
  // per-thread heap); call null where there is none (glibc).
  virtual CallResult ReleaseThread() = 0;
  // The process-wide release: malloc_trim(0), ReleaseFreeMemory(), arena purge, mi_collect.
  virtual CallResult ReleaseProcess() = 0;
  // A one-line description of what ReleaseProcess() calls, for reports.
  virtual const char* ReleaseCall() const = 0;
  // Writes the allocator's heap profile (live bytes by allocation call stack) to `path`.
  virtual ProfileResult ProfileDump(const std::string& path) = 0;
  // Fills the per-arena ledger (`ledger`); false where the allocator has none (its pools
  // already come from Stats). Allocation-free after its first call.
  virtual bool FillLedger(Ledger*) { return false; }
};

// The reply of an allocator without a heap profiler; `what` e.g. "glibc malloc".
inline ProfileResult NoHeapProfiler(const char* what) {
  ProfileResult r;
  r.error = std::string(what) + " has no heap profiler; run the " + kHostWord +
            " under jemalloc (MALLOC_CONF=prof:true) or tcmalloc (HEAPPROFILE=<prefix>) to profile it";
  return r;
}

// The relay's allocator (defined by the one allocator file it links, LEAKLAB_ALLOC_LINKED).
Adapter& Linked();


}  // namespace leaklab::alloc
