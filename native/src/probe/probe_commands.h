// The probe's admin commands, with the reply shapes of the relay's admin port
// (native/src/admin.cc) so the harness reads both the same way: ping, stats,
// stats-counters, release, leak-check, profile-dump <path>. Called on the probe thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/alloc_calls_hook.h"
#include "probe_alloc.h"

namespace leaklab::probe {

class ProbeCommands {
 public:
  // Largest stats reply; larger is an error reply.
  static constexpr size_t kStatsReplyBytes = 16384;

  ProbeCommands();
  const AllocatorApi& allocator() const { return *allocator_; }
  const MallocObject& malloc_object() const { return malloc_object_; }
  // The JSON reply to one command payload, valid until the next call. `stats` and
  // `stats-counters` make no malloc/free call (test/native/observer.test.ts).
  std::string_view Handle(std::string_view command);
  // Writes the counters (`stats-counters`, or `stats` with smaps) into buf[0..len); the
  // reply's size, or 0 when it does not fit (nothing is written past len). Allocation-free.
  size_t WriteStats(bool full, char* buf, size_t len);

  // Runs the release and writes its reply into buf[0..len); the reply's size, or 0 when it
  // does not fit. Allocation-free.
  size_t WriteRelease(char* buf, size_t len);

 private:
  std::string ProfileDump(const std::string& path);

  MallocObject malloc_object_;
  std::unique_ptr<AllocatorApi> allocator_;
  // Fixed for the process's life (the allocator is chosen once), so kept.
  std::string version_;
  std::vector<std::string> other_allocators_;
  std::vector<const char*> other_allocator_names_;
  std::unique_ptr<char[]> stats_reply_;
  std::string reply_;  // the other commands' replies
  // Test hook (native/test/alloc_count.cc preloaded): reported by stats as test_alloc_calls.
  AllocCallsHook alloc_calls_;
};

}  // namespace leaklab::probe
