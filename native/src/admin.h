// The relay's admin port: ADMIN frames in, one JSON object per ADMIN_REPLY out.
// Runs its own thread and event loop; commands: ping, stats, stats-counters, release,
// config, set, profile-dump. The relay's release policies are checked on the same loop.
#pragma once

#include <cstdint>
#include <string>
#include <thread>

#include "event_loop.h"
#include "release_policy.h"

namespace leaklab {

class Relay;

class Admin {
 public:
  // `acceptor` is the relay's acceptor loop: `release` runs the thread-local release there
  // too.
  Admin(Relay& relay, EventLoop& acceptor, uint32_t max_frame);
  // Opens the admin port (127.0.0.1, port 0) and starts the admin thread.
  void Start();
  uint16_t port() const { return port_; }

  // Builds the reply to one command; called on the admin thread.
  std::string Handle(const std::string& command);

 private:
  void AcceptConnections();
  std::string Stats(bool with_smaps);
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
  uint16_t port_ = 0;
};

}  // namespace leaklab
