// The relay's admin port: ADMIN frames in, one JSON object per ADMIN_REPLY out.
// Runs its own thread and event loop; commands: ping, stats, stats-counters, release,
// config, set, profile-dump, leak-check. The relay's release policies are checked on the same loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "acceptor.h"
#include "control/alloc_calls_hook.h"
#include "event_loop.h"
#include "release_policy.h"

namespace leaklab {

class Relay;

class Admin {
 public:
  // Largest stats reply (a release build's is about 2 KiB); larger is an error reply.
  static constexpr size_t kStatsReplyBytes = 16384;

  // `acceptor` is the relay's acceptor loop: `release` runs the thread-local release there
  // too.
  Admin(Relay& relay, EventLoop& acceptor, uint32_t max_frame);
  // Opens the admin port (127.0.0.1, port 0) and starts the admin thread.
  void Start();
  uint16_t port() const { return port_; }

  // The reply to one command, valid until the next call; admin thread only. `stats` and
  // `stats-counters` make no malloc/free call (see Stats()).
  std::string_view Handle(const std::string& command);

 private:
  void OnAccept(int fd);
  std::string_view Stats(bool with_smaps);
  std::string Release();
  std::string Config();
  std::string ProfileDump(const std::string& path);

  Relay& relay_;
  EventLoop& acceptor_;
  uint32_t max_frame_;
  ReleasePolicy policy_;  // admin thread only
  EventLoop loop_;
  std::thread thread_;
  int listen_fd_ = -1;
  // Accepts on listen_fd_; out of descriptors it backs off instead of spinning (acceptor.h).
  std::unique_ptr<Acceptor> listener_;
  uint16_t port_ = 0;
  // Fixed for the process's life, so kept rather than made per stats reply.
  const std::string version_;
  const std::string malloc_library_;
  std::unique_ptr<char[]> stats_reply_;  // kStatsReplyBytes; Stats() writes here
  std::string reply_;                    // the other commands' replies
  // Test hook (native/test/alloc_count.cc preloaded): reported by stats as test_alloc_calls.
  AllocCallsHook alloc_calls_;
};

}  // namespace leaklab
