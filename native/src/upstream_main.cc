// upstream: the relay's backend. Answers each REQUEST with a RESPONSE of a configured size
// after a configured delay; keeps only the first 8 bytes of each request while it waits.
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "acceptor.h"
#include "codec.h"
#include "connection.h"
#include "event_loop.h"
#include "filler.h"
#include "flags.h"
#include "net.h"
#include "rng.h"
#include "signals.h"

namespace leaklab {
namespace {

const char kUsage[] =
    "usage: upstream [--delay-ms N | --delay-ms-min A --delay-ms-max B] [--seed N]\n"
    "                [--response-bytes N | --response-ratio R] [--max-frame N] [--port P]\n"
    "  defaults: --delay-ms 0 --seed 0 --response-bytes 1024 --max-frame 16777216\n";

struct Options {
  uint64_t delay_min_ms = 0;
  uint64_t delay_max_ms = 0;
  uint64_t seed = 0;
  uint16_t port = 0;  // 0: the OS picks
  bool use_ratio = false;
  uint64_t response_bytes = 1024;
  double response_ratio = 0;
  uint32_t max_frame = kDefaultMaxFrame;
};

Options ParseOptions(int argc, char** argv) {
  FlagParser flags(argc, argv, kUsage);
  Options o;
  bool fixed = false, has_min = false, has_max = false, has_bytes = false;
  std::string name, value;
  while (flags.Next(&name, &value)) {
    if (name == "delay-ms") {
      o.delay_min_ms = o.delay_max_ms = flags.U64(name, value, 0, 86400000);
      fixed = true;
    } else if (name == "delay-ms-min") {
      o.delay_min_ms = flags.U64(name, value, 0, 86400000);
      has_min = true;
    } else if (name == "delay-ms-max") {
      o.delay_max_ms = flags.U64(name, value, 0, 86400000);
      has_max = true;
    } else if (name == "port") {
      o.port = static_cast<uint16_t>(flags.U64(name, value, 1, 65535));
    } else if (name == "seed") {
      o.seed = flags.U64(name, value, 0, UINT64_MAX);
    } else if (name == "response-bytes") {
      o.response_bytes = flags.U64(name, value, 0, UINT32_MAX);
      has_bytes = true;
    } else if (name == "response-ratio") {
      o.response_ratio = flags.Double(name, value, 0, 1e6);
      o.use_ratio = true;
    } else if (name == "max-frame") {
      o.max_frame = static_cast<uint32_t>(flags.U64(name, value, 1, UINT32_MAX));
    } else {
      flags.Fail("unknown flag --" + name);
    }
  }
  if (fixed && (has_min || has_max))
    flags.Fail("--delay-ms cannot be combined with --delay-ms-min/--delay-ms-max");
  if (has_min != has_max) flags.Fail("--delay-ms-min and --delay-ms-max must be given together");
  if (o.delay_min_ms > o.delay_max_ms) flags.Fail("--delay-ms-max must be >= --delay-ms-min");
  if (has_bytes && o.use_ratio) flags.Fail("--response-bytes and --response-ratio are exclusive");
  if (!o.use_ratio && o.response_bytes > o.max_frame)
    flags.Fail("--response-bytes must be <= --max-frame (" + std::to_string(o.max_frame) + ")");
  return o;
}

// A response waiting for its due time.
struct Due {
  int64_t due_ms;
  uint64_t seq;  // arrival order, so equal due times keep FIFO order
  uint64_t conn_id;
  uint64_t id;
  uint32_t length;
  uint8_t echo_len;
  uint8_t echo[8];
  bool operator>(const Due& o) const {
    return due_ms != o.due_ms ? due_ms > o.due_ms : seq > o.seq;
  }
};

class Upstream {
 public:
  explicit Upstream(const Options& o)
      : opts_(o), rng_(o.seed), filler_(MapFiller(o.max_frame)) {}

  void Run() {
    uint16_t port = opts_.port;
    listen_fd_ = ListenLoopback(&port);
    acceptor_ = std::make_unique<Acceptor>(loop_, listen_fd_, "upstream", [this](int fd) { Accept(fd); });
    acceptor_->Start();
    std::printf("{\"event\":\"ready\",\"port\":%u,\"pid\":%d}\n", port, static_cast<int>(getpid()));
    std::fflush(stdout);
    loop_.Run(1, [this] { FireDue(); });
  }

 private:
  // One client connection (a relay's upstream connection) and its delayed responses.
  struct Client {
    std::shared_ptr<Connection> conn;
    uint64_t waiting = 0;      // requests read and not yet answered (in due_)
    bool read_closed = false;  // it half-closed: close once they are answered
  };

  void Accept(int fd) {
    SetNoDelay(fd);
    Connection::Handlers h;
    h.on_frame = [this](Connection& c, Frame&& f) { OnRequest(c, f); };
    h.on_close = [this](Connection& c, const std::string&) {
      conns_.erase(c.tag);
      acceptor_->DescriptorFreed();
    };
    h.on_read_closed = [this](Connection& c) {  // answer what was asked, then close
      auto it = conns_.find(c.tag);
      if (it != conns_.end()) it->second.read_closed = true;
      if (it == conns_.end() || it->second.waiting == 0) c.CloseWhenFlushed();
    };
    auto conn = std::make_shared<Connection>(loop_, fd, opts_.max_frame,
                                             TypeBit(FrameType::kRequest), std::move(h));
    conn->tag = next_conn_id_++;
    conns_[conn->tag].conn = conn;
    conn->Start();
  }

  void OnRequest(Connection& conn, const Frame& frame) {
    Due d{};
    d.conn_id = conn.tag;
    d.id = frame.header.id;
    const uint32_t req_len = frame.header.length;
    uint64_t length = opts_.response_bytes;
    if (opts_.use_ratio)
      length = static_cast<uint64_t>(std::llround(opts_.response_ratio * req_len));
    d.length = static_cast<uint32_t>(std::min<uint64_t>(length, opts_.max_frame));
    d.echo_len = static_cast<uint8_t>(std::min<uint32_t>({8, req_len, d.length}));
    if (d.echo_len) std::memcpy(d.echo, frame.payload, d.echo_len);
    std::free(frame.payload);  // the upstream keeps only the echo bytes
    const uint64_t delay = opts_.delay_min_ms == opts_.delay_max_ms
                               ? opts_.delay_min_ms
                               : rng_.Uniform(opts_.delay_min_ms, opts_.delay_max_ms);
    if (delay == 0) return Respond(conn, d);  // corked: flushed after this read
    d.due_ms = NowMs() + static_cast<int64_t>(delay);
    d.seq = next_seq_++;
    due_.push(d);
    ++conns_[conn.tag].waiting;
  }

  void Respond(Connection& conn, const Due& d) {
    conn.SendPrefixed(FrameType::kResponse, d.id, d.echo, d.echo_len, filler_,
                      d.length - d.echo_len);
  }

  // Sends every response that is due, one writev per connection.
  void FireDue() {
    if (due_.empty()) return;
    const int64_t now = NowMs();
    std::vector<std::shared_ptr<Connection>> corked;
    while (!due_.empty() && due_.top().due_ms <= now) {
      const Due d = due_.top();
      due_.pop();
      auto it = conns_.find(d.conn_id);
      if (it == conns_.end()) continue;  // the client left: drop the response
      Client& client = it->second;
      client.conn->Cork();
      corked.push_back(client.conn);
      Respond(*client.conn, d);
      if (--client.waiting == 0 && client.read_closed) client.conn->CloseWhenFlushed();
    }
    for (auto& c : corked) c->Uncork();
  }

  Options opts_;
  Rng rng_;
  const char* filler_;
  EventLoop loop_;
  int listen_fd_ = -1;
  uint64_t next_conn_id_ = 1;
  uint64_t next_seq_ = 0;
  std::unique_ptr<Acceptor> acceptor_;
  std::unordered_map<uint64_t, Client> conns_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
};

}  // namespace
}  // namespace leaklab

int main(int argc, char** argv) {
  leaklab::DieWithParent();
  leaklab::InstallExitSignals();
  leaklab::RaiseFdLimit();
  const leaklab::Options opts = leaklab::ParseOptions(argc, argv);
  // Request payloads are freed as soon as they arrive; a fixed mmap threshold returns the
  // large ones straight to the kernel, so the upstream's RSS stays small.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  leaklab::Upstream upstream(opts);
  upstream.Run();
  return 0;
}
