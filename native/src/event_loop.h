// A small epoll loop: fds with callbacks, plus a thread-safe task queue woken by an
// eventfd. It knows nothing of the protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace leaklab {

class EventLoop {
 public:
  using Callback = std::function<void(uint32_t events)>;

  EventLoop();  // exits the process with a message if epoll or eventfd cannot be made
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Loop-thread only.
  void Add(int fd, uint32_t events, Callback cb);
  void Modify(int fd, uint32_t events);
  void Remove(int fd);  // safe from inside a callback, also for the fd being dispatched

  // Loop-thread only: runs `fn` once, on the loop thread, about `ms` from now.
  void RunAfter(int64_t ms, std::function<void()> fn);

  // Any thread.
  void Post(std::function<void()> task);
  void Stop();

  // Runs callbacks and posted tasks until Stop(). `tick_ms` > 0 calls on_tick about that
  // often (for timers), on the loop thread.
  void Run(int tick_ms = 0, std::function<void()> on_tick = nullptr);
  // Optional, loop-thread only: called after each batch of ready fds has been dispatched,
  // so a caller can flush work those callbacks queued (e.g. one writev per connection).
  // Loop-thread only: true while callbacks or posted tasks of one epoll batch run.
  bool dispatching() const { return dispatching_; }
  // Loop-thread only: runs `fn` once the current batch has been dispatched.
  void RunAfterBatch(std::function<void()> fn) { after_batch_.push_back(std::move(fn)); }
  void SetAfterDispatch(std::function<void()> fn) { after_dispatch_ = std::move(fn); }

 private:
  struct Entry {
    int fd;
    Callback cb;
    bool dead = false;
  };
  void DrainTasks();
  void RunDueTimers();
  int NextTimeout(int timeout) const;  // `timeout` shortened to the earliest timer

  int epfd_ = -1;
  int wakefd_ = -1;
  bool stop_ = false;
  std::function<void()> after_dispatch_;
  std::unordered_map<int, std::unique_ptr<Entry>> entries_;
  std::vector<std::unique_ptr<Entry>> graveyard_;  // removed during a dispatch batch
  std::mutex tasks_mu_;
  std::vector<std::function<void()>> tasks_;
  bool stop_requested_ = false;  // guarded by tasks_mu_
  bool wake_pending_ = false;    // guarded by tasks_mu_: the eventfd has been written
  bool dispatching_ = false;
  std::vector<std::function<void()>> after_batch_;
  std::multimap<int64_t, std::function<void()>> timers_;  // by due time (NowMs)
};

// Milliseconds on CLOCK_MONOTONIC.
int64_t NowMs();
// Microseconds on CLOCK_MONOTONIC.
int64_t NowUs();

}  // namespace leaklab
