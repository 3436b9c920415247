// A listening socket on an EventLoop that hands every accepted fd to a callback, and
// survives running out of file descriptors (see native/PROTOCOL.md, "Limits").
//
// On EMFILE/ENFILE (or ENOBUFS/ENOMEM) accept() fails while the listener stays readable,
// so a loop that keeps polling it spins at 100% of a core. Instead the acceptor stops
// polling the listener (the clients wait in the kernel's backlog), tries again every
// kRetryMs or as soon as DescriptorFreed() says a descriptor was closed, and logs one line
// when the episode starts and one, with its length and count of refused accepts, when it
// ends: when the backlog has been accepted to the last connection.
// Everything but DescriptorFreed() and the counters runs on the loop's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "event_loop.h"

namespace leaklab {

class Acceptor {
 public:
  static constexpr int kRetryMs = 100;

  // `name` prefixes the log lines ("relay", "relay admin", "upstream"). `on_accept` gets
  // each new non-blocking, close-on-exec fd and owns it.
  Acceptor(EventLoop& loop, int listen_fd, std::string name, std::function<void(int fd)> on_accept);
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void Start();  // loop thread, or before the loop runs
  // Any thread: a descriptor was closed; if accepting is suspended, retry now.
  void DescriptorFreed();

  // Episodes of descriptor exhaustion so far, and whether one is going on.
  int64_t exhaustion_episodes() const { return episodes_.load(std::memory_order_relaxed); }
  bool exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

 private:
  void AcceptAll();
  void Suspend(int err);
  void EndEpisode();
  void Retry();

  EventLoop& loop_;
  const int listen_fd_;
  const std::string name_;
  std::function<void(int fd)> on_accept_;
  std::atomic<bool> exhausted_{false};
  std::atomic<bool> retry_posted_{false};
  std::atomic<int64_t> episodes_{0};
  int64_t episode_start_ms_ = 0;  // loop thread only, like the two below
  int64_t refused_ = 0;           // accept() calls refused in this episode
  bool timer_armed_ = false;
};

}  // namespace leaklab
