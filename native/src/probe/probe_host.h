// The probe's side of the admin commands (control/command_handler.h, the relay's handler
// too): the allocator it found in the host process (alloc/resolve.h), the counting layer's
// figures (probe_count.h) and a release that allocates nothing. One per caller: the probe
// thread has one, the plain-C entry points (probe_entry.cc) another.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alloc/resolve.h"
#include "control/command_handler.h"

namespace leaklab::probe {

class ProbeHost : public CommandHost {
 public:
  static constexpr size_t kStatsReplyBytes = CommandHandler::kReplyBytes;

  ProbeHost();
  alloc::Adapter& allocator() const { return *allocator_; }
  const alloc::MallocObject& malloc_object() const { return malloc_object_; }
  // The JSON reply to one command payload, valid until the next call.
  std::string_view Handle(std::string_view command) { return handler_.Handle(std::string(command)); }
  // The counters (`stats-counters`, or `stats` with smaps) into buf[0..len); the reply's
  // size, or 0 when it does not fit. Allocation-free.
  size_t WriteStats(bool full, char* buf, size_t len) { return handler_.WriteStats(full, buf, len); }
  // Runs the release and writes its reply into buf[0..len); the reply's size, or 0 when it
  // does not fit. Allocation-free.
  size_t WriteRelease(char* buf, size_t len);

  // CommandHost
  const char* Kind() const override { return "probe"; }
  const char* MallocLibrary() const override { return malloc_object_.name.c_str(); }
  void WriteAllocatorInfo(JsonWriter& j) override;
  void WriteAllocated(JsonWriter& j, int64_t own) override;
  std::string_view Release(char* buf, size_t len) override;
  bool DescribeProfiles() const override { return true; }

 private:
  alloc::MallocObject malloc_object_;
  std::unique_ptr<alloc::Adapter> allocator_;
  // Fixed for the process's life (the allocator is chosen once), so kept.
  std::vector<std::string> other_allocators_;
  std::vector<const char*> other_allocator_names_;
  CommandHandler handler_;
  std::string error_reply_;
};

}  // namespace leaklab::probe
