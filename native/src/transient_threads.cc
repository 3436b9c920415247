#include "transient_threads.h"

#include <pthread.h>

#include <chrono>
#include <thread>

#include "event_loop.h"

namespace leaklab {

void TransientThreads::Submit(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(std::move(task));
  if (!running_) StartThreadLocked();
  cv_.notify_one();
}

void TransientThreads::StartThreadLocked() {
  running_ = true;
  started_.fetch_add(1, std::memory_order_relaxed);
  std::thread([this] { Run(); }).detach();
}

void TransientThreads::Run() {
  pthread_setname_np(pthread_self(), "transient");  // seen in /proc/<pid>/task/*/comm
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(lifetime_ms_.load(std::memory_order_relaxed));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    while (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
    if (std::chrono::steady_clock::now() >= end) break;
    cv_.wait_until(lock, end, [this] { return !tasks_.empty(); });
  }
  // Hand over: the successor starts at once if work is waiting, else on the next Submit.
  running_ = false;
  if (!tasks_.empty()) StartThreadLocked();
}

}  // namespace leaklab
