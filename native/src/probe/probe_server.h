// The probe's socket: 127.0.0.1 on a port the OS picks, one epoll loop on the probe
// thread, the framed protocol of native/PROTOCOL.md (ADMIN in, ADMIN_REPLY out). Blocks
// in epoll_wait with no timeout, so an idle probe costs no CPU. Never exits the process:
// a failure closes the one connection it concerns. Each connection has fixed buffers (a
// command is at most kMaxCommand bytes, a reply at most kMaxReply), made when it is
// accepted, so answering the 100 ms counters poll allocates nothing in the target.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "codec.h"

namespace leaklab::probe {

class ProbeHost;

// Which file a descriptor refers to (device and inode): a host that closes every inherited
// descriptor may have reopened the number for a file of its own.
struct FileIdent {
  dev_t dev = 0;
  ino_t ino = 0;
};
FileIdent FileIdentOf(int fd);
// Whether `fd` still refers to the file `id` was taken from.
bool SameFile(int fd, const FileIdent& id);

class ProbeServer {
 public:
  // Opens the listening socket and the epoll set; false with *error on failure.
  bool Open(std::string* error);
  uint16_t port() const { return port_; }
  // Serves connections (probe thread) until the epoll set fails or the host has closed the
  // probe's listening socket or epoll descriptor (a daemon that closes every inherited
  // descriptor at start); returns why it stopped. It then closes nothing: the numbers may
  // be the host's own descriptors by now.
  std::string Run(ProbeHost& commands);
  // Whether the listening socket and the epoll set are still the ones Open() made.
  bool Ours() const;
  // In a child forked without exec: the probe thread is gone, so the child lets go of the
  // sockets it inherited (async-signal-safe).
  void CloseInherited();

 private:
 public:
  static constexpr uint32_t kMaxCommand = 8192;
  static constexpr size_t kMaxReply = 64 * 1024;

 private:
  struct Client {
    explicit Client(int f) : fd(f) {}
    int fd;
    uint8_t in[kHeaderSize + kMaxCommand];
    size_t in_used = 0;
    char out[kHeaderSize + kMaxReply];
    size_t out_used = 0;
    size_t sent = 0;
    bool close_after_flush = false;
  };

  void Accept();
  // false when the client is to be dropped.
  bool OnReadable(Client& c, ProbeHost& commands);
  // Answers the whole frames in c.in while nothing waits to be sent; false to drop.
  bool Serve(Client& c, ProbeHost& commands);
  bool Flush(Client& c);
  void Queue(Client& c, FrameType type, uint64_t id, std::string_view payload);
  void Drop(int fd);

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  FileIdent listen_id_, epoll_id_;
  uint16_t port_ = 0;
  std::unordered_map<int, std::unique_ptr<Client>> clients_;
};

}  // namespace leaklab::probe
