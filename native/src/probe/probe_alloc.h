// The allocator that serves malloc() in the host process, behind one interface. The probe
// is preloaded into processes it did not build, so nothing is linked: each allocator's file
// (probe_glibc.cc, probe_tcmalloc.cc, probe_jemalloc.cc, probe_mimalloc.cc) finds its API
// with dlsym() at run time and only claims the process when that API lives in the same
// shared object as the `malloc` the process calls.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "json_writer.h"
#include <vector>

namespace leaklab::probe {

// The shared object (or executable) that defines the `malloc` this process resolves to.
struct MallocObject {
  const void* base = nullptr;  // dladdr()'s dli_fbase
  std::string path;            // e.g. "/lib/x86_64-linux-gnu/libtcmalloc.so.4"
  std::string name;            // the file name alone, e.g. "libtcmalloc.so.4"
};

// One allocator call made by `release`: the thread it ran on ("probe": the probe thread's
// own caches; "process": process-wide), the call, its return value (has_rc false for a
// void function) and its duration; `ok` false when the call reported a failure. Strings
// are static or owned by the allocator object: a release allocates nothing between its
// two RSS reads but the list, which is reserved before.
struct CallResult {
  const char* thread = "process";
  const char* call = nullptr;
  bool has_rc = false;
  int64_t rc = 0;
  double ms = 0;
  bool ok = true;
};

// The calls of one release, in a fixed array (a release allocates nothing).
struct CallList {
  static constexpr int kMax = 4;
  CallResult items[kMax];
  int count = 0;
  void push_back(const CallResult& c) {
    if (count < kMax) items[count++] = c;
  }
};

class AllocatorApi {
 public:
  virtual ~AllocatorApi() = default;
  // "glibc", "tcmalloc", "jemalloc", "mimalloc" or "unknown".
  virtual const char* Name() const = 0;
  virtual std::string Version() const = 0;
  // The allocator's own counters, flat, always with free_bytes and unmapped_bytes (null
  // where the allocator cannot tell); returns the bytes in use by the program, -1 where the
  // allocator does not count them (the caller writes allocated_bytes). Makes no
  // malloc/free call (the 100 ms counters poll). `full`: also what is too slow for the
  // poll (glibc's arena count, which walks every arena under its lock: `stats` only).
  virtual int64_t Stats(StatsOut& out, bool full) const = 0;
  // The process-wide release, as the relay's ReleaseProcess() (plus what can be done for
  // the probe's own thread); one entry per call, appended to *calls (at most 4).
  virtual void Release(CallList* calls) const = 0;
  // A one-line description of Release(), for reports.
  virtual const char* ReleaseCall() const = 0;
  // Writes a heap profile to `path`: {"ok":true,"path":...} or {"ok":false,"error":...}.
  virtual nlohmann::json ProfileDump(const std::string& path) const = 0;
};

// Where `malloc` comes from; base null and name "unknown" when dladdr cannot tell.
MallocObject FindMallocObject();
// dlsym(RTLD_DEFAULT, name), but only when the symbol is defined in `object`.
void* SymbolIn(const MallocObject& object, const char* name);

// Each returns null when its allocator does not serve malloc in this process.
std::unique_ptr<AllocatorApi> FindGlibc(const MallocObject& object);
std::unique_ptr<AllocatorApi> FindTcmalloc(const MallocObject& object);
std::unique_ptr<AllocatorApi> FindJemalloc(const MallocObject& object);
std::unique_ptr<AllocatorApi> FindMimalloc(const MallocObject& object);
// The first of the above that claims the process, else an "unknown" allocator whose
// stats are empty and whose release fails with a reason.
std::unique_ptr<AllocatorApi> DetectAllocator(const MallocObject& object);
// Allocator APIs present in the process but not serving malloc (e.g. Redis's
// libjemalloc.so.2 when libtcmalloc is preloaded): ["jemalloc (libjemalloc.so.2)", ...].
std::vector<std::string> OtherAllocators(const MallocObject& object);

// Milliseconds on CLOCK_MONOTONIC, as a double.
double NowMsF();

}  // namespace leaklab::probe
