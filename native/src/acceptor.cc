#include "acceptor.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace leaklab {
namespace {

bool OutOfDescriptors(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

long long OpenFileLimit() {
  rlimit rl{};
  return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? static_cast<long long>(rl.rlim_cur) : -1;
}

}  // namespace

Acceptor::Acceptor(EventLoop& loop, int listen_fd, std::string name,
                   std::function<void(int fd)> on_accept)
    : loop_(loop), listen_fd_(listen_fd), name_(std::move(name)), on_accept_(std::move(on_accept)) {}

void Acceptor::Start() {
  loop_.Add(listen_fd_, EPOLLIN, [this](uint32_t) { AcceptAll(); });
}

void Acceptor::AcceptAll() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd);
      continue;
    }
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;  // that one is gone; others may wait
    if (err == EAGAIN) {
      // The backlog is empty: if we were short of descriptors, that episode is over.
      if (exhausted_.load(std::memory_order_relaxed)) EndEpisode();
      return;
    }
    if (OutOfDescriptors(err)) return Suspend(err);
    // Anything else (EPERM from a firewall, EPROTO): that one connection is lost.
    std::fprintf(stderr, "%s: accept: %s\n", name_.c_str(), std::strerror(err));
    return;
  }
}

void Acceptor::EndEpisode() {
  std::fprintf(stderr,
               "%s: accepting again after %lld ms out of file descriptors (%lld accept calls "
               "refused)\n",
               name_.c_str(), static_cast<long long>(NowMs() - episode_start_ms_),
               static_cast<long long>(refused_));
  exhausted_.store(false, std::memory_order_relaxed);
  loop_.Modify(listen_fd_, EPOLLIN);
}

void Acceptor::Suspend(int err) {
  ++refused_;
  if (!exhausted_.load(std::memory_order_relaxed)) {
    exhausted_.store(true, std::memory_order_relaxed);
    episodes_.fetch_add(1, std::memory_order_relaxed);
    episode_start_ms_ = NowMs();
    refused_ = 1;
    std::fprintf(stderr,
                 "%s: accept: %s (open-file limit %lld); not accepting until a descriptor "
                 "is freed (retrying every %d ms)\n",
                 name_.c_str(), std::strerror(err), OpenFileLimit(), kRetryMs);
  }
  loop_.Modify(listen_fd_, 0);  // stop polling: the listener stays readable
  if (!timer_armed_) {
    timer_armed_ = true;
    loop_.RunAfter(kRetryMs, [this] {
      timer_armed_ = false;
      Retry();
    });
  }
}

void Acceptor::Retry() {
  if (exhausted_.load(std::memory_order_relaxed)) AcceptAll();
}

void Acceptor::DescriptorFreed() {
  if (!exhausted_.load(std::memory_order_relaxed)) return;
  if (retry_posted_.exchange(true)) return;  // one retry in the queue is enough
  loop_.Post([this] {
    retry_posted_.store(false);
    Retry();
  });
}

}  // namespace leaklab
