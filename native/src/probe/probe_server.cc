#include "probe_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "probe_host.h"

namespace leaklab::probe {

bool ProbeServer::Open(std::string* error) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::string("listen on 127.0.0.1: ") + std::strerror(errno);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  listen_id_ = FileIdentOf(listen_fd_);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    *error = std::string("epoll: ") + std::strerror(errno);
    return false;
  }
  epoll_id_ = FileIdentOf(epoll_fd_);
  return true;
}

void ProbeServer::CloseInherited() {
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  for (const auto& entry : clients_) close(entry.first);
  listen_fd_ = epoll_fd_ = -1;
}

FileIdent FileIdentOf(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return FileIdent{};
  return FileIdent{st.st_dev, st.st_ino};
}

bool SameFile(int fd, const FileIdent& id) {
  struct stat st {};
  return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino;
}

bool ProbeServer::Ours() const { return SameFile(listen_fd_, listen_id_) && SameFile(epoll_fd_, epoll_id_); }

std::string ProbeServer::Run(ProbeHost& commands) {
  static const char kNotOurs[] =
      "the host closed the probe's socket or epoll descriptor (it closes inherited descriptors at start?)";
  epoll_event events[16];
  for (;;) {
    // Checked before every wait and after every wake-up, so the probe never waits on,
    // accepts from or closes a descriptor the host has reopened under the same number.
    if (!Ours()) return kNotOurs;
    const int n = epoll_wait(epoll_fd_, events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::string("epoll_wait: ") + std::strerror(errno);
    }
    if (!Ours()) return kNotOurs;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        Accept();
        continue;
      }
      auto it = clients_.find(fd);
      if (it == clients_.end()) continue;
      Client& c = *it->second;
      bool keep = true;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) keep = OnReadable(c, commands);
      if (keep && (events[i].events & EPOLLOUT)) {
        keep = Flush(c);
        if (keep && c.out_used == 0 && c.in_used > 0) keep = Serve(c, commands);
      }
      if (!keep) Drop(fd);
    }
  }
}

void ProbeServer::Accept() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection that went away: nothing to do
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    clients_[fd] = std::make_unique<Client>(fd);
  }
}

bool ProbeServer::OnReadable(Client& c, ProbeHost& commands) {
  for (;;) {
    if (c.in_used == sizeof c.in) return Serve(c, commands);  // full: answer, then read on
    const ssize_t n = read(c.fd, c.in + c.in_used, sizeof c.in - c.in_used);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      return Serve(c, commands);
    }
    c.in_used += static_cast<size_t>(n);
    if (!Serve(c, commands)) return false;
    if (c.out_used > 0) return true;  // waiting for EPOLLOUT: read no more until sent
  }
}

bool ProbeServer::Serve(Client& c, ProbeHost& commands) {
  size_t at = 0;
  while (c.out_used == 0 && !c.close_after_flush) {
    FrameHeader h;
    std::string error;
    const DecodeStatus st = DecodeHeader(c.in + at, c.in_used - at, kMaxCommand, TypeBit(FrameType::kAdmin), &h, &error);
    if (st == DecodeStatus::kError) {
      Queue(c, FrameType::kError, 0, error);
      c.close_after_flush = true;
      break;
    }
    if (st == DecodeStatus::kNeedMore || c.in_used - at < kHeaderSize + h.length) break;
    const std::string_view command(reinterpret_cast<const char*>(c.in + at + kHeaderSize), h.length);
    at += kHeaderSize + h.length;
    const std::string_view reply = commands.Handle(command);
    if (reply.size() > kMaxReply) Queue(c, FrameType::kError, h.id, "reply larger than the probe's reply buffer");
    else Queue(c, FrameType::kAdminReply, h.id, reply);
    if (!Flush(c)) return false;
  }
  std::memmove(c.in, c.in + at, c.in_used - at);
  c.in_used -= at;
  return c.out_used > 0 || !c.close_after_flush;
}

void ProbeServer::Queue(Client& c, FrameType type, uint64_t id, std::string_view payload) {
  FrameHeader h;
  h.length = static_cast<uint32_t>(payload.size());
  h.type = type;
  h.id = id;
  EncodeHeader(h, reinterpret_cast<uint8_t*>(c.out));
  std::memcpy(c.out + kHeaderSize, payload.data(), payload.size());
  c.out_used = kHeaderSize + payload.size();
  c.sent = 0;
}

bool ProbeServer::Flush(Client& c) {
  while (c.sent < c.out_used) {
    const ssize_t n = send(c.fd, c.out + c.sent, c.out_used - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      epoll_event ev{};
      ev.events = c.close_after_flush ? EPOLLOUT : EPOLLIN | EPOLLOUT;
      ev.data.fd = c.fd;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
      return true;
    }
    c.sent += static_cast<size_t>(n);
  }
  c.out_used = 0;
  c.sent = 0;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = c.fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  return !c.close_after_flush;
}

void ProbeServer::Drop(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  clients_.erase(fd);
}

}  // namespace leaklab::probe
