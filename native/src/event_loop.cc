#include "event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace leaklab {

int64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

int64_t NowMs() { return NowUs() / 1000; }

EventLoop::EventLoop() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) {
    std::fprintf(stderr, "fatal: epoll/eventfd: %s\n", std::strerror(errno));
    std::exit(1);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake fd
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
}

EventLoop::~EventLoop() {
  for (auto& [fd, entry] : entries_) close(fd);
  close(wakefd_);
  close(epfd_);
}

void EventLoop::Add(int fd, uint32_t events, Callback cb) {
  auto entry = std::make_unique<Entry>(Entry{fd, std::move(cb)});
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = entry.get();
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    std::fprintf(stderr, "fatal: epoll_ctl add fd %d: %s\n", fd, std::strerror(errno));
    std::exit(1);
  }
  entries_[fd] = std::move(entry);
}

void EventLoop::Modify(int fd, uint32_t events) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = it->second.get();
  epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Remove(int fd) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  it->second->dead = true;
  graveyard_.push_back(std::move(it->second));
  entries_.erase(it);
}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    tasks_.push_back(std::move(task));
    if (wake_pending_) return;  // one wake-up drains every task queued before it
    wake_pending_ = true;
  }
  uint64_t one = 1;
  ssize_t n = write(wakefd_, &one, sizeof one);
  (void)n;
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    stop_requested_ = true;
  }
  uint64_t one = 1;
  ssize_t n = write(wakefd_, &one, sizeof one);
  (void)n;
}

void EventLoop::DrainTasks() {
  uint64_t count;
  ssize_t n = read(wakefd_, &count, sizeof count);
  (void)n;
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    batch.swap(tasks_);
    wake_pending_ = false;
    if (stop_requested_) stop_ = true;
  }
  for (auto& task : batch) task();
}

void EventLoop::RunAfter(int64_t ms, std::function<void()> fn) {
  timers_.emplace(NowMs() + ms, std::move(fn));
}

void EventLoop::RunDueTimers() {
  const int64_t now = NowMs();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    std::function<void()> fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

int EventLoop::NextTimeout(int timeout) const {
  if (timers_.empty()) return timeout;
  int64_t wait = timers_.begin()->first - NowMs();
  if (wait < 0) wait = 0;
  return timeout < 0 || wait < timeout ? static_cast<int>(wait) : timeout;
}

void EventLoop::Run(int tick_ms, std::function<void()> on_tick) {
  epoll_event events[256];
  int64_t next_tick = tick_ms > 0 ? NowMs() + tick_ms : 0;
  while (!stop_) {
    int timeout = -1;
    if (tick_ms > 0) {
      const int64_t now = NowMs();
      if (now >= next_tick) {
        on_tick();
        next_tick += tick_ms;
        if (next_tick <= now) next_tick = now + tick_ms;
      }
      timeout = static_cast<int>(next_tick - NowMs());
      if (timeout < 0) timeout = 0;
    }
    const int n = epoll_wait(epfd_, events, 256, NextTimeout(timeout));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "fatal: epoll_wait: %s\n", std::strerror(errno));
      std::exit(1);
    }
    dispatching_ = true;
    for (int i = 0; i < n; ++i) {
      auto* entry = static_cast<Entry*>(events[i].data.ptr);
      if (entry == nullptr) {
        DrainTasks();
        continue;
      }
      if (!entry->dead) entry->cb(events[i].events);
    }
    dispatching_ = false;
    while (!after_batch_.empty()) {
      std::vector<std::function<void()>> fns;
      fns.swap(after_batch_);
      for (auto& fn : fns) fn();
    }
    if (after_dispatch_) after_dispatch_();
    if (!timers_.empty()) RunDueTimers();
    graveyard_.clear();
  }
}

}  // namespace leaklab
