// Thread churn: tasks run on a "current" transient thread that lives `lifetime_ms`, then
// starts its successor and exits. Every thread's allocator state (tcmalloc's thread
// cache, jemalloc's tcache, mimalloc's heap, glibc's arena binding) is created and
// abandoned over and over, as in servers whose thread pools grow and shrink.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace leaklab {

class TransientThreads {
 public:
  // `lifetime_ms` is read at each thread's start, so it can change at run time.
  explicit TransientThreads(const std::atomic<int64_t>& lifetime_ms) : lifetime_ms_(lifetime_ms) {}
  // Threads are detached: the process ends without joining them (the relay exits with
  // exit(), and a transient thread holds no resource that needs an orderly end).
  TransientThreads(const TransientThreads&) = delete;
  TransientThreads& operator=(const TransientThreads&) = delete;

  // Any thread: runs `task` on the current transient thread (starting one if none runs).
  void Submit(std::function<void()> task);
  // Threads started so far.
  int64_t started() const { return started_.load(std::memory_order_relaxed); }

 private:
  void StartThreadLocked();
  void Run();

  const std::atomic<int64_t>& lifetime_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool running_ = false;  // a transient thread is serving tasks_
  std::atomic<int64_t> started_{0};
};

}  // namespace leaklab
