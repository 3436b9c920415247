// The allocator under test, behind one interface. Each allocator implements it in one
// small file (alloc_glibc.cc, alloc_tcmalloc.cc, ...); nothing else in the relay knows
// which allocator it was linked with.
#pragma once

#include <string>

#include "json_writer.h"

namespace leaklab::alloc {

// Short name: "glibc", "tcmalloc", "jemalloc", "mimalloc".
const char* Name();
// Exact version as the library reports it, e.g. "2.36", "gperftools 2.10", "5.3.0-0-g54eaed1d8b56".
std::string Version();
// The allocator's own counters, as named numbers (bytes unless named otherwise), including
// the normalized allocated_bytes, free_bytes and unmapped_bytes (null where unknowable).
// Makes no malloc/free call once it has run once (the admin thread runs it at start):
// the harness asks for it every 100 ms, and allocator activity would drive the very
// decay and release it measures. Checked by test/native/observer.test.ts. `full`: also
// what is too slow for the 100 ms poll (`stats` only): glibc's arena count, from
// malloc_info(), which walks every arena's free chunks under its lock once more (on a heap
// with 8.4 M free chunks mallinfo2 alone took 91-195 ms: docs/benches.md, probe --poll).
void Stats(StatsOut& out, bool full);

// What one allocator call of a release did.
struct CallResult {
  const char* call = nullptr;  // e.g. "mallctl(\"thread.tcache.flush\")"; null: nothing to call
  bool has_rc = false;         // false: the call returns nothing, so it cannot report failure
  int rc = 0;                  // its return value (mallctl: 0 or an errno value)
  bool ok = true;              // false: the allocator reported that the call failed
};

// The part of a release that only acts on the calling thread (thread caches, mimalloc's
// per-thread heap); run on every worker thread, the acceptor and the admin thread before
// ReleaseProcess(). Threads it is not run on keep their caches: transient (thread churn)
// threads are never reached (docs/native.md, "Release: what it reaches").
// mimalloc: mi_collect(true) on the process's main thread also reclaims the heaps that
// exited threads abandoned; the acceptor runs on the main thread, so the acceptor's step
// is the one that does it.
CallResult ReleaseThread();
// The process-wide release: malloc_trim(0), ReleaseFreeMemory(), arena purge, mi_collect(true).
CallResult ReleaseProcess();
// A one-line description of what ReleaseProcess() calls, for reports.
const char* ReleaseCall();
// Writes the allocator's heap profile (live bytes by allocation call stack) to `path`:
// jemalloc mallctl("prof.dump"), gperftools GetHeapProfile(). False with *error set when
// the allocator has no heap profiler (glibc, mimalloc), when profiling is off (the relay
// was started without MALLOC_CONF=prof:true / HEAPPROFILE), or when the write fails.
bool ProfileDump(const std::string& path, std::string* error);

}  // namespace leaklab::alloc
