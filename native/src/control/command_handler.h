// The admin commands of the relay's admin port and of the probe, one handler for both
// (native/PROTOCOL.md): ping, stats, stats-counters, release, leak-check, profile-dump
// <path>, ledger; and what only its host does through CommandHost (the relay's config and
// set, its request counters, its release across its own threads; the probe's counting
// layer). Replies are JSON objects; stats, stats-counters and ledger are written into a
// fixed buffer without a malloc/free call (test/native/observer.test.ts,
// test/native/ledger-command.test.ts). One thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "alloc/adapter.h"
#include "control/alloc_calls_hook.h"
#include "control/command_parse.h"
#include "json_writer.h"

namespace leaklab {

// What only the host knows. Every Write* runs inside the allocation-free stats path.
class CommandHost {
 public:
  virtual ~CommandHost() = default;
  // "admin" or "probe", for the unknown-command error.
  virtual const char* Kind() const = 0;
  // The host's own commands for that error, e.g. ", config, set <key> <value>".
  virtual const char* HostCommands() const { return ""; }
  // The shared object that serves malloc, by file name.
  virtual const char* MallocLibrary() const = 0;
  // Stats fields after rss (the relay's request counters).
  virtual void WriteHostStats(JsonWriter&) {}
  // Fields of "allocator" after malloc_library (the probe's detection).
  virtual void WriteAllocatorInfo(JsonWriter&) {}
  // allocated_bytes (and its source) in "alloc"; `own`: the allocator's figure, -1 unknown.
  virtual void WriteAllocated(JsonWriter& j, int64_t own) { j.IntOrNull("allocated_bytes", own); }
  // The release reply, written into buf[0..len) or kept by the host; valid until the next call.
  virtual std::string_view Release(char* buf, size_t len) = 0;
  // config and set; false: not the host's command.
  virtual bool HostCommand(Command, const std::string&, std::string*) { return false; }
  // profile-dump replies carry format, source, ms and the allocator (the probe's).
  virtual bool DescribeProfiles() const { return false; }
};

class CommandHandler {
 public:
  // Largest stats or ledger reply (a release build's stats is about 2 KiB).
  static constexpr size_t kReplyBytes = 16384;

  CommandHandler(alloc::Adapter& adapter, CommandHost& host);
  // Finds the test hook and answers stats and ledger once, so that whatever the allocator
  // sets up on first use (a FILE, a probe allocation, jemalloc's ctl tables) is made now,
  // not while polled. Call on the thread that will handle commands.
  void Start();
  alloc::Adapter& adapter() { return adapter_; }

  // The reply to one command, valid until the next call.
  std::string_view Handle(const std::string& command);
  // The stats reply (`stats-counters`, or `stats` with smaps) into buf[0..len): its size, or
  // 0 when it does not fit. Allocation-free.
  size_t WriteStats(bool full, char* buf, size_t len);
  // The ledger reply into buf[0..len): its size, or 0 when it does not fit. Allocation-free.
  size_t WriteLedger(char* buf, size_t len);

 private:
  std::string ProfileDump(const std::string& path);

  alloc::Adapter& adapter_;
  CommandHost& host_;
  const std::string version_;  // fixed for the process's life, so kept
  std::unique_ptr<char[]> reply_buf_;  // kReplyBytes; stats, ledger and the probe's release
  std::string reply_;                  // the other commands' replies
  std::unique_ptr<alloc::Ledger> ledger_;
  // Test hook (native/test/alloc_count.cc preloaded): reported by stats as test_alloc_calls.
  AllocCallsHook alloc_calls_;
};

}  // namespace leaklab
