// The probe's admin commands, with the reply shapes of the relay's admin port
// (native/src/admin.cc) so the harness reads both the same way: ping, stats,
// stats-counters, release, profile-dump <path>. Called on the probe thread only.
#pragma once

#include <memory>
#include <string>

#include "probe_alloc.h"

namespace leaklab::probe {

class ProbeCommands {
 public:
  ProbeCommands();
  const AllocatorApi& allocator() const { return *allocator_; }
  const MallocObject& malloc_object() const { return malloc_object_; }
  // The JSON reply to one command payload.
  std::string Handle(const std::string& command);

 private:
  std::string Stats(bool with_smaps);
  std::string Release();
  std::string ProfileDump(const std::string& path);

  MallocObject malloc_object_;
  std::unique_ptr<AllocatorApi> allocator_;
};

}  // namespace leaklab::probe
