// The allocator under test, behind one interface. Each allocator implements it in one
// small file (alloc_glibc.cc, alloc_tcmalloc.cc, ...); nothing else in the relay knows
// which allocator it was linked with.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace leaklab::alloc {

// Short name: "glibc", "tcmalloc", "jemalloc", "mimalloc".
const char* Name();
// Exact version as the library reports it, e.g. "2.36", "gperftools 2.10", "5.3.0-0-g54eaed1d8b56".
std::string Version();
// The allocator's own counters, as a flat object of numbers (bytes unless named otherwise).
nlohmann::json Stats();
// The part of a release that only acts on the calling thread (thread caches, mimalloc's
// per-thread heap); run on every worker thread before ReleaseProcess().
void ReleaseThread();
// The process-wide release: malloc_trim(0), ReleaseFreeMemory(), arena purge, mi_collect(true).
void ReleaseProcess();
// A one-line description of what ReleaseProcess() calls, for reports.
const char* ReleaseCall();
// Writes the allocator's heap profile (live bytes by allocation call stack) to `path`:
// jemalloc mallctl("prof.dump"), gperftools GetHeapProfile(). False with *error set when
// the allocator has no heap profiler (glibc, mimalloc), when profiling is off (the relay
// was started without MALLOC_CONF=prof:true / HEAPPROFILE), or when the write fails.
bool ProfileDump(const std::string& path, std::string* error);

}  // namespace leaklab::alloc
