// The relay's admin port: ADMIN frames in, one JSON object per ADMIN_REPLY out.
// Runs its own thread and event loop; the commands are the probe's too
// (control/command_handler.h), and the relay adds config and set as their host. The
// relay's release policies are checked on the same loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "acceptor.h"
#include "control/command_handler.h"
#include "event_loop.h"
#include "release_policy.h"

namespace leaklab {

class Relay;

class Admin : public CommandHost {
 public:
  // Largest stats reply (a release build's is about 2 KiB); larger is an error reply.
  static constexpr size_t kStatsReplyBytes = CommandHandler::kReplyBytes;

  // `acceptor` is the relay's acceptor loop: `release` runs the thread-local release there
  // too.
  Admin(Relay& relay, EventLoop& acceptor, uint32_t max_frame);
  // Opens the admin port (127.0.0.1, port 0) and starts the admin thread.
  void Start();
  uint16_t port() const { return port_; }

  // The reply to one command, valid until the next call; admin thread only. `stats`,
  // `stats-counters` and `ledger` make no malloc/free call.
  std::string_view Handle(const std::string& command) { return handler_.Handle(command); }

  // CommandHost: the relay's side of the commands.
  const char* Kind() const override { return "admin"; }
  const char* HostCommands() const override { return ", config, set <key> <value>"; }
  const char* MallocLibrary() const override { return malloc_library_.c_str(); }
  void WriteHostStats(JsonWriter& j) override;
  std::string_view Release(char* buf, size_t len) override;
  bool HostCommand(Command command, const std::string& args, std::string* reply) override;

 private:
  void OnAccept(int fd);
  std::string Config();

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
  const std::string malloc_library_;
  std::string release_reply_;
  CommandHandler handler_;  // admin thread only
};

}  // namespace leaklab
