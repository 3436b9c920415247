#include "relay.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "connection.h"
#include "net.h"

namespace leaklab {

// One request in flight, keyed by its relay id.
struct Relay::Pending {
  int client_worker;    // worker A, which owns the client connection
  uint64_t client_tag;  // the client connection's tag on A
  uint64_t client_id;   // the id the client chose
  int upstream;         // global index of the upstream connection (on worker B)
  char* buffer;         // the request payload; owned by the table
  uint32_t length;
  bool leaked = false;  // answered, but kept forever (leak mode)
};

// Sharded by relay id, one mutex per shard: A inserts, B takes.
class Relay::PendingTable {
 public:
  void Insert(uint64_t rid, const Pending& p) {
    Shard& s = shards_[rid % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    s.map.emplace(rid, p);
  }
  bool Find(uint64_t rid, Pending* out) {
    Shard& s = shards_[rid % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(rid);
    if (it == s.map.end()) return false;
    *out = it->second;
    return true;
  }
  bool Take(uint64_t rid, Pending* out) {
    Shard& s = shards_[rid % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(rid);
    if (it == s.map.end()) return false;
    *out = it->second;
    s.map.erase(it);
    return true;
  }
  // Leak mode: marks the entry as leaked and leaves it in the table for good, with a copy
  // of the request the table makes for itself (as a request log or cache keeps its own
  // copy); *out gets the entry with the codec's buffer, which the caller frees. So a heap
  // profile names this function, the one that keeps the memory, as the growth site.
  bool Leak(uint64_t rid, Pending* out) {
    Shard& s = shards_[rid % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(rid);
    if (it == s.map.end() || it->second.leaked) return false;
    *out = it->second;
    char* kept = static_cast<char*>(std::malloc(it->second.length ? it->second.length : 1));
    if (kept == nullptr) return false;
    if (it->second.length) std::memcpy(kept, it->second.buffer, it->second.length);
    it->second.buffer = kept;
    it->second.leaked = true;
    return true;
  }
  // Removes every request still in flight (the buffers stay with the caller); leaked
  // entries stay where they are.
  std::vector<Pending> TakeAll() {
    std::vector<Pending> out;
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      for (auto it = s.map.begin(); it != s.map.end();) {
        if (it->second.leaked) {
          ++it;
          continue;
        }
        out.push_back(it->second);
        it = s.map.erase(it);
      }
    }
    return out;
  }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Pending> map;
  };
  Shard shards_[kShards];
};

// A worker thread: its loop, its client connections, its upstream connections.
// Everything but `loop.Post` is touched only on the worker's own thread.
class Relay::Worker {
 public:
  struct Client {
    std::shared_ptr<Connection> conn;
    bool self_paused = false;        // its own output is above high water
    bool congestion_paused = false;  // an upstream connection is above high water
    bool inflight_paused = false;    // kMaxClientInFlight of its requests are unanswered
    uint32_t in_flight = 0;          // its requests relayed and not yet answered
    bool read_closed = false;        // it half-closed: close once its requests are answered
    bool idle_closed = false;        // closed by the idle timeout (not counted as an error)
  };

  explicit Worker(int index) : index(index) {}

  const int index;
  EventLoop loop;
  std::thread thread;
  std::vector<std::shared_ptr<Connection>> upstreams;
  std::vector<int> upstream_ids;  // global upstream index of each entry of `upstreams`
  std::unordered_map<uint64_t, Client> clients;
  // The log-record workload: records oldest first, and requests read since the last one.
  struct LogRecord {
    char* data;
    uint32_t bytes;
    int64_t created_ms;
  };
  std::deque<LogRecord> log_records;
  int64_t requests_since_record = 0;
  uint32_t in_flight_max = 0;  // the most any client of this worker had in flight
};

Relay::Relay(const RelayOptions& options, RelaySettings& settings)
    : options_(options), settings_(settings), transient_(settings.thread_churn_ms),
      pending_(std::make_unique<PendingTable>()) {
  if (options_.threads < 1) options_.threads = 1;
  for (int i = 0; i < options_.threads; ++i) workers_.push_back(std::make_unique<Worker>(i));
}

// Worker threads run forever; the process ends with _exit, so nothing is joined.
Relay::~Relay() {
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.detach();
}

void Relay::Start() {
  const int n = options_.threads;
  // Each worker owns upstream_conns / threads connections, the remainder spread over
  // the first workers, and at least one.
  int global = 0;
  for (int i = 0; i < n; ++i) {
    Worker& w = *workers_[i];
    int mine = options_.upstream_conns / n + (i < options_.upstream_conns % n ? 1 : 0);
    if (mine < 1) mine = 1;
    for (int k = 0; k < mine; ++k, ++global) {
      std::string error;
      const int fd = ConnectLoopback(options_.upstream_port, &error);
      if (fd < 0) {
        std::fprintf(stderr, "relay: cannot connect to upstream: %s\n", error.c_str());
        std::exit(1);
      }
      const int id = global;
      Connection::Handlers h;
      h.on_frame = [this, &w](Connection&, Frame&& f) {
        OnUpstreamFrame(w, f.header.id, f.payload, f.header.length);
      };
      h.on_close = [this, id](Connection&, const std::string& reason) {
        OnUpstreamLost(id, reason.empty() ? "closed by upstream" : reason);
      };
      // A response that cannot be allocated closes the connection, which ends the run as
      // any upstream loss does (exit 1 with a message, not a crash).
      h.on_alloc_failure = [this](Connection&) {
        counters_.alloc_failures_total.fetch_add(1, std::memory_order_relaxed);
      };
      h.on_high_water = [this](Connection&) { OnUpstreamHighWater(); };
      h.on_low_water = [this](Connection&) { OnUpstreamLowWater(); };
      // Request payloads are sent unowned (the pending table owns them), so there is
      // nothing to free here but our own ERROR frames.
      auto conn = std::make_shared<Connection>(w.loop, fd, options_.max_frame,
                                               TypeBit(FrameType::kResponse), std::move(h));
      conn->SetWaterMarks(options_.high_water, options_.high_water / 2);
      conn->tag = static_cast<uint64_t>(id);
      conn->Start();  // before the worker thread exists, so no race on the loop
      w.upstreams.push_back(conn);
      w.upstream_ids.push_back(id);
    }
  }
  upstream_count_ = global;
  port_ = options_.listen_port;
  listen_fd_ = ListenLoopback(&port_);
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->thread = std::thread([this, wp] {
      char name[16];
      std::snprintf(name, sizeof name, "worker-%d", wp->index);
      pthread_setname_np(pthread_self(), name);  // seen in /proc/<pid>/task/*/comm
      wp->loop.Run(kTickMs, [this, wp] {
        ExpireLogRecords(*wp);
        CloseIdleClients(*wp);
      });
    });
  }
}

void Relay::AttachAcceptor(EventLoop& loop) {
  acceptor_ = std::make_unique<Acceptor>(loop, listen_fd_, "relay", [this](int fd) { OnAccept(fd); });
  acceptor_->Start();
}

void Relay::AddLimitStats(JsonWriter& j) const {
  j.Int("clients_open", counters_.clients_open.load());
  j.Int("clients_rejected_total", counters_.clients_rejected_total.load());
  j.Int("clients_idle_closed_total", counters_.clients_idle_closed_total.load());
  j.Int("alloc_failures_total", counters_.alloc_failures_total.load());
  j.Int("client_in_flight_max", counters_.client_in_flight_max.load());
  j.Int("client_in_flight_cap", kMaxClientInFlight);
  j.Int("fd_exhaustion_episodes", acceptor_ ? acceptor_->exhaustion_episodes() : 0);
  j.Bool("accept_suspended", acceptor_ ? acceptor_->exhausted() : false);
}

// Acceptor thread: max-clients already open: an ERROR frame if the socket takes it at once
// (best effort: the client may see a reset instead), then close.
void Relay::RejectClient(int fd, int64_t cap) {
  counters_.clients_rejected_total.fetch_add(1, std::memory_order_relaxed);
  const std::string message =
      "connection limit reached: " + std::to_string(cap) + " clients open (max-clients)";
  uint8_t frame[kHeaderSize + 128];
  const size_t len = std::min(message.size(), sizeof frame - kHeaderSize);
  EncodeHeader(FrameHeader{static_cast<uint32_t>(len), FrameType::kError, 0}, frame);
  std::memcpy(frame + kHeaderSize, message.data(), len);
  const ssize_t n = send(fd, frame, kHeaderSize + len, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;
  close(fd);
}

// Acceptor thread: hands each new client to the next worker, round robin.
void Relay::OnAccept(int fd) {
  const int64_t cap = settings_.max_clients.load(std::memory_order_relaxed);
  if (cap > 0 && counters_.clients_open.load(std::memory_order_relaxed) >= cap)
    return RejectClient(fd, cap);
  counters_.clients_open.fetch_add(1, std::memory_order_relaxed);
  SetNoDelay(fd);
  counters_.clients_total.fetch_add(1, std::memory_order_relaxed);
  Worker& w = *workers_[next_worker_++ % workers_.size()];
  const uint64_t tag = next_client_tag_.fetch_add(1);
  w.loop.Post([this, &w, fd, tag] {
    Connection::Handlers h;
    h.on_frame = [this, &w](Connection& c, Frame&& f) {
      OnClientFrame(w, c.tag, f.payload, f.header.length, f.header.id);
    };
    h.on_close = [this, &w](Connection& c, const std::string& reason) {
      counters_.clients_open.fetch_sub(1, std::memory_order_relaxed);
      acceptor_->DescriptorFreed();
      auto it = w.clients.find(c.tag);
      if (!reason.empty() && (it == w.clients.end() || !it->second.idle_closed))
        counters_.client_errors_total.fetch_add(1);
      if (it == w.clients.end()) return;
      if (it->second.self_paused || it->second.congestion_paused || it->second.inflight_paused)
        counters_.paused_clients.fetch_sub(1);
      w.clients.erase(it);
    };
    // Half-close: the requests already read are answered (DeliverResponse), then it closes.
    h.on_read_closed = [&w](Connection& c) {
      auto it = w.clients.find(c.tag);
      if (it != w.clients.end()) it->second.read_closed = true;
      if (it == w.clients.end() || it->second.in_flight == 0) c.CloseWhenFlushed();
    };
    h.on_alloc_failure = [this](Connection&) {
      counters_.alloc_failures_total.fetch_add(1, std::memory_order_relaxed);
    };
    // Client-side back-pressure: past high water on the client's output, stop reading
    // its requests until the output drains below half.
    h.on_high_water = [this, &w](Connection& c) {
      auto it = w.clients.find(c.tag);
      if (it == w.clients.end()) return;
      Worker::Client& cl = it->second;
      if (!cl.self_paused && !cl.congestion_paused && !cl.inflight_paused)
        counters_.paused_clients.fetch_add(1);
      cl.self_paused = true;
      c.PauseReading(true);
    };
    h.on_low_water = [this, &w](Connection& c) {
      auto it = w.clients.find(c.tag);
      if (it == w.clients.end() || !it->second.self_paused) return;
      Worker::Client& cl = it->second;
      cl.self_paused = false;
      if (!cl.congestion_paused && !cl.inflight_paused) {
        counters_.paused_clients.fetch_sub(1);
        c.PauseReading(false);
      }
    };
    h.free_payload = [this](FrameType type, char* payload, uint32_t length) {
      if (type == FrameType::kResponse) FreeResponse(payload, length);
      else std::free(payload);
    };
    auto conn = std::make_shared<Connection>(w.loop, fd, options_.max_frame,
                                             TypeBit(FrameType::kRequest), std::move(h));
    conn->SetWaterMarks(options_.high_water, options_.high_water / 2);
    conn->tag = tag;
    w.clients[tag].conn = conn;
    conn->Start();
  });
}

// Worker, every kTickMs: closes the clients with nothing in flight that have neither sent
// nor taken a byte for idle-timeout-ms. One whose output is stuck (it does not read) is
// closed at once; the others get an ERROR frame first.
void Relay::CloseIdleClients(Worker& w) {
  const int64_t timeout = settings_.idle_timeout_ms.load(std::memory_order_relaxed);
  if (timeout <= 0 || w.clients.empty()) return;
  const int64_t now = NowMs();
  std::vector<std::shared_ptr<Connection>> idle;
  for (auto& [tag, cl] : w.clients) {
    if (cl.in_flight > 0 || now - cl.conn->last_io_ms() < timeout) continue;
    cl.idle_closed = true;
    idle.push_back(cl.conn);
  }
  for (auto& conn : idle) {  // closing erases from w.clients: not while iterating it
    counters_.clients_idle_closed_total.fetch_add(1, std::memory_order_relaxed);
    if (conn->output_bytes() > 0)
      conn->Close("idle timeout");
    else
      conn->SendErrorAndClose(0, "idle timeout: nothing sent or received for " +
                                     std::to_string(timeout) + " ms (idle-timeout-ms)");
  }
}

// Worker A: a client's request. Its payload is the buffer under test.
void Relay::OnClientFrame(Worker& a, uint64_t client_tag, char* payload, uint32_t length,
                          uint64_t client_id) {
  counters_.requests_total.fetch_add(1, std::memory_order_relaxed);
  // Upstream-side back-pressure: while any upstream connection is above high water,
  // every worker stops reading from a client as soon as it delivers a frame (the frame
  // itself is still relayed); the last upstream to fall below low water posts a resume
  // to every worker (ResumeCongested below).
  // In-flight cap: a client that reads nothing while its small requests ask for large
  // responses would otherwise have every request read before its output reaches high
  // water (the responses arrive later): stop reading it at kMaxClientInFlight requests
  // unanswered, resume at half (DeliverResponse). The connection parses no further frame
  // once paused, even from the rest of the same read, so the cap holds exactly.
  auto it = a.clients.find(client_tag);
  if (it != a.clients.end()) {
    Worker::Client& cl = it->second;
    const bool was_paused = cl.self_paused || cl.congestion_paused || cl.inflight_paused;
    if (counters_.congested_upstreams.load() > 0) cl.congestion_paused = true;
    if (++cl.in_flight >= kMaxClientInFlight) cl.inflight_paused = true;
    if (cl.in_flight > a.in_flight_max) {  // a new high on this worker: raise the global one
      a.in_flight_max = cl.in_flight;
      int64_t seen = counters_.client_in_flight_max.load(std::memory_order_relaxed);
      while (seen < cl.in_flight &&
             !counters_.client_in_flight_max.compare_exchange_weak(seen, cl.in_flight)) {
      }
    }
    if (!was_paused && (cl.congestion_paused || cl.inflight_paused)) {
      counters_.paused_clients.fetch_add(1);
      cl.conn->PauseReading(true);
    }
  }
  const uint64_t rid = next_rid_.fetch_add(1);
  const int n = static_cast<int>(workers_.size());
  // Another worker when there is one: B = (A + 1 + rid mod (N-1)) mod N, never A.
  const int b_index = n > 1 ? (a.index + 1 + static_cast<int>(rid % (n - 1))) % n : a.index;
  Worker& b = *workers_[b_index];
  const int upstream = b.upstream_ids[rid % b.upstream_ids.size()];
  AddLogRecord(a, rid);
  counters_.live_request_bytes.fetch_add(length, std::memory_order_relaxed);
  counters_.live_request_count.fetch_add(1, std::memory_order_relaxed);
  pending_->Insert(rid, Pending{a.index, client_tag, client_id, upstream, payload, length});
  b.loop.Post([this, &b, rid] { SendUpstream(b, rid); });
}

// Worker B: writes the request from the pending table's buffer (not owned by the
// connection: the buffer stays valid until B itself takes the entry on response).
void Relay::SendUpstream(Worker& b, uint64_t rid) {
  Pending p;
  if (!pending_->Find(rid, &p)) return;  // failed meanwhile (upstream lost)
  const int first = b.upstream_ids.front();
  Connection& conn = *b.upstreams[static_cast<size_t>(p.upstream - first)];
  conn.Send(FrameType::kRequest, rid, p.buffer, p.length, /*owned=*/false);
}

// Leak mode: whether request `rid` is one of the leaked fraction `rate`. Fibonacci hashing
// of the relay id: leaked when (rid * 2654435761) mod 2^32 < rate * 2^32. Relay ids are
// consecutive and the multiplier is 2^32 / golden ratio, so the hashes are evenly spread
// (a Weyl sequence): any run of consecutive ids leaks a fraction within a few ids of
// `rate`, and the same request sequence leaks the same ids in every run.
bool Relay::LeakRequest(uint64_t rid, double rate) {
  if (rate <= 0) return false;
  const uint64_t hash = (rid * 2654435761ull) & 0xffffffffull;
  return static_cast<double>(hash) < rate * 4294967296.0;
}

// Worker B: the upstream's response. Frees the request buffer here, on B, unless the
// request is leaked: then its entry and buffer stay in the table for good.
void Relay::OnUpstreamFrame(Worker& b, uint64_t rid, char* payload, uint32_t length) {
  (void)b;
  Pending p;
  const bool leak = LeakRequest(rid, settings_.leak_rate.load(std::memory_order_relaxed));
  if (!(leak ? pending_->Leak(rid, &p) : pending_->Take(rid, &p))) {
    std::fprintf(stderr, "relay: upstream answered unknown relay id %llu; dropped\n",
                 static_cast<unsigned long long>(rid));
    std::free(payload);
    return;
  }
  std::free(p.buffer);  // leaked requests: the table kept a copy (PendingTable::Leak)
  if (leak) {
    counters_.leaked_request_bytes.fetch_add(p.length, std::memory_order_relaxed);
    counters_.leaked_request_count.fetch_add(1, std::memory_order_relaxed);
  }
  counters_.live_request_bytes.fetch_sub(p.length, std::memory_order_relaxed);
  counters_.live_request_count.fetch_sub(1, std::memory_order_relaxed);
  counters_.live_response_bytes.fetch_add(length, std::memory_order_relaxed);
  counters_.live_response_count.fetch_add(1, std::memory_order_relaxed);
  counters_.responses_total.fetch_add(1, std::memory_order_relaxed);
  Worker& a = *workers_[p.client_worker];
  if (settings_.thread_churn_ms.load(std::memory_order_relaxed) > 0) {
    // Thread churn: a transient thread copies the response into a buffer of its own (so
    // its allocator state owns live memory when it exits) and frees B's.
    transient_.Submit([this, &a, tag = p.client_tag, id = p.client_id, payload, length] {
      char* copy = static_cast<char*>(std::malloc(length ? length : 1));
      if (copy == nullptr) {  // out of memory: deliver B's buffer itself
        copy = payload;
      } else {
        if (length) std::memcpy(copy, payload, length);
        std::free(payload);
      }
      a.loop.Post([this, &a, tag, id, copy, length] { DeliverResponse(a, tag, id, copy, length); });
    });
    return;
  }
  a.loop.Post([this, &a, tag = p.client_tag, id = p.client_id, payload, length] {
    DeliverResponse(a, tag, id, payload, length);
  });
}

// Worker A: hands the response buffer to the client connection, which frees it (through
// free_payload -> FreeResponse) once written.
void Relay::DeliverResponse(Worker& a, uint64_t client_tag, uint64_t client_id,
                            char* payload, uint32_t length) {
  auto it = a.clients.find(client_tag);
  if (it == a.clients.end()) return FreeResponse(payload, length);  // client has gone
  Worker::Client& cl = it->second;
  if (cl.in_flight > 0) --cl.in_flight;
  if (cl.inflight_paused && cl.in_flight <= kMaxClientInFlight / 2) {
    cl.inflight_paused = false;
    if (!cl.self_paused && !cl.congestion_paused) {
      counters_.paused_clients.fetch_sub(1);
      cl.conn->PauseReading(false);
    }
  }
  std::shared_ptr<Connection> conn = cl.conn;  // closing below erases `cl`
  conn->Send(FrameType::kResponse, client_id, payload, length, /*owned=*/true);
  if (cl.read_closed && cl.in_flight == 0) conn->CloseWhenFlushed();  // half-close: all answered
}

// Worker A: every log_record_every-th request read on A leaves a small record behind,
// malloc()ed just after the request's own (large, short-lived) buffer, so the two share
// pages, and the record outlives the buffer by log_retention_ms.
void Relay::AddLogRecord(Worker& a, uint64_t rid) {
  const int64_t bytes = settings_.log_record_bytes.load(std::memory_order_relaxed);
  if (bytes <= 0) return;
  if (++a.requests_since_record < settings_.log_record_every.load(std::memory_order_relaxed))
    return;
  a.requests_since_record = 0;
  const int64_t now = NowMs();
  char* data = static_cast<char*>(std::malloc(static_cast<size_t>(bytes)));
  if (data == nullptr) return;
  // A few bytes of content (relay id, time), so the record is touched like a real one.
  const int64_t fields[2] = {static_cast<int64_t>(rid), now};
  std::memcpy(data, fields, std::min(sizeof fields, static_cast<size_t>(bytes)));
  a.log_records.push_back({data, static_cast<uint32_t>(bytes), now});
  counters_.live_log_bytes.fetch_add(bytes, std::memory_order_relaxed);
  counters_.live_log_count.fetch_add(1, std::memory_order_relaxed);
}

// Worker A, every kTickMs: frees the records older than log_retention_ms.
void Relay::ExpireLogRecords(Worker& a) {
  if (a.log_records.empty()) return;
  const int64_t cutoff =
      NowMs() - settings_.log_retention_ms.load(std::memory_order_relaxed);
  int64_t bytes = 0, count = 0;
  while (!a.log_records.empty() && a.log_records.front().created_ms <= cutoff) {
    bytes += a.log_records.front().bytes;
    ++count;
    std::free(a.log_records.front().data);
    a.log_records.pop_front();
  }
  if (a.log_records.empty()) a.log_records.shrink_to_fit();  // give the deque's blocks back
  counters_.live_log_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  counters_.live_log_count.fetch_sub(count, std::memory_order_relaxed);
}

void Relay::FreeResponse(char* payload, uint32_t length) {
  std::free(payload);
  counters_.live_response_bytes.fetch_sub(length, std::memory_order_relaxed);
  counters_.live_response_count.fetch_sub(1, std::memory_order_relaxed);
}

void Relay::OnUpstreamHighWater() { counters_.congested_upstreams.fetch_add(1); }

void Relay::OnUpstreamLowWater() {
  if (counters_.congested_upstreams.fetch_sub(1) != 1) return;
  for (auto& wp : workers_) {
    Worker& w = *wp;
    w.loop.Post([this, &w] {  // ResumeCongested
      if (counters_.congested_upstreams.load() > 0) return;  // congested again
      for (auto& [tag, cl] : w.clients) {
        if (!cl.congestion_paused) continue;
        cl.congestion_paused = false;
        if (!cl.self_paused && !cl.inflight_paused) {
          counters_.paused_clients.fetch_sub(1);
          cl.conn->PauseReading(false);
        }
      }
    });
  }
}

// Worker B: an upstream connection is gone. That ends the lab run: every request in
// flight gets an ERROR frame (id = the client's id), then the process exits 1 once each
// worker has run the tasks queued before the barrier.
void Relay::OnUpstreamLost(int upstream, const std::string& reason) {
  if (failing_.exchange(true)) return;
  std::vector<Pending> lost = pending_->TakeAll();
  std::fprintf(stderr,
               "relay: upstream connection %d lost (%s); failing %zu pending requests and "
               "exiting\n",
               upstream, reason.c_str(), lost.size());
  const std::string message = "upstream connection lost: " + reason;
  for (const Pending& p : lost) {
    Worker& a = *workers_[p.client_worker];
    a.loop.Post([&a, p, message] {
      auto it = a.clients.find(p.client_tag);
      if (it == a.clients.end()) return;
      char* copy = static_cast<char*>(std::malloc(message.size() + 1));
      if (copy == nullptr) return;
      std::memcpy(copy, message.data(), message.size());
      it->second.conn->Send(FrameType::kError, p.client_id, copy,
                            static_cast<uint32_t>(message.size()), /*owned=*/true);
    });
  }
  auto remaining = std::make_shared<std::atomic<int>>(static_cast<int>(workers_.size()));
  for (auto& w : workers_) {
    w->loop.Post([remaining] {
      if (remaining->fetch_sub(1) == 1) {
        std::fflush(stderr);
        std::_Exit(1);
      }
    });
  }
}

void Relay::RunOnEveryWorker(const std::function<void(int worker)>& fn) {
  std::mutex mu;
  std::condition_variable cv;
  size_t left = workers_.size();
  for (auto& w : workers_) {
    w->loop.Post([&, index = w->index] {
      fn(index);
      std::lock_guard<std::mutex> lock(mu);
      if (--left == 0) cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return left == 0; });
}

}  // namespace leaklab
