// The relay server: an acceptor, N workers with their own event loops, upstream
// connections spread over the workers, and a sharded table of requests in flight.
//
// Buffer ownership and threads (the point of the lab):
// - A request payload is malloc()ed by the FrameReader of the client's worker A, sits in
//   the pending table while in flight, is written by worker B (which owns the upstream
//   connection) straight from that buffer, and is free()d on B when the response arrives.
// - A response payload is malloc()ed on B, handed to A, written to the client and
//   free()d on A (or free()d on arrival if the client has gone).
// - In leak mode a fraction of entries stays in the table after the response, buffer and
//   all (still reachable, so memcheck and heap checkers call it "still reachable").
// - Log records (the fragmentation workload) are malloc()ed and free()d on worker A.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "acceptor.h"
#include "event_loop.h"
#include "json_writer.h"
#include "transient_threads.h"
#include "relay_settings.h"

namespace leaklab {

struct RelayOptions {
  uint16_t upstream_port = 0;
  uint16_t listen_port = 0;  // 0: the OS picks (--port, for runs as a lab target)
  int threads = 8;
  int upstream_conns = 8;  // total; every worker gets at least one
  uint32_t max_frame = 16u << 20;
  size_t high_water = 8u << 20;
};

// Live accounting, read by the admin thread at any time.
struct RelayCounters {
  // Request buffers in flight in the pending table. Leaked entries are moved out of these
  // into leaked_request_* when their response arrives, so live_request_* returns to 0
  // after a drain whatever the leak rate.
  std::atomic<int64_t> live_request_bytes{0};
  std::atomic<int64_t> live_request_count{0};
  std::atomic<int64_t> leaked_request_bytes{0};  // answered but never erased (leak mode)
  std::atomic<int64_t> leaked_request_count{0};
  std::atomic<int64_t> live_log_bytes{0};  // log records not yet expired
  std::atomic<int64_t> live_log_count{0};
  std::atomic<int64_t> live_response_bytes{0};  // response buffers not yet free()d
  std::atomic<int64_t> live_response_count{0};
  std::atomic<int64_t> requests_total{0};     // REQUEST frames read from clients
  std::atomic<int64_t> responses_total{0};    // RESPONSE frames matched to a request
  std::atomic<int64_t> client_errors_total{0};  // client connections closed on an error
  std::atomic<int64_t> clients_total{0};      // client connections accepted
  std::atomic<int64_t> paused_clients{0};     // clients currently not being read
  std::atomic<int> congested_upstreams{0};    // upstream connections above high water
  // Limits (PROTOCOL.md, "Limits").
  std::atomic<int64_t> clients_open{0};               // client connections open now
  std::atomic<int64_t> clients_rejected_total{0};     // refused: max-clients were open
  std::atomic<int64_t> clients_idle_closed_total{0};  // closed after idle-timeout-ms
  std::atomic<int64_t> alloc_failures_total{0};       // connections closed: no payload memory
  std::atomic<int64_t> client_in_flight_max{0};       // most requests one client had in flight
};

class Relay {
 public:
  // `settings` must outlive the relay; workers read it on every request.
  Relay(const RelayOptions& options, RelaySettings& settings);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Connects every upstream connection (exits 1 with a message if one fails), opens the
  // client port and starts the worker threads. Call once, on the main thread.
  void Start();
  uint16_t port() const { return port_; }
  int upstream_connection_count() const { return upstream_count_; }

  // Accepts clients and hands them to the workers; runs on the calling thread until
  // the loop is stopped. `loop` is the caller's loop (it may also watch other fds).
  void AttachAcceptor(EventLoop& loop);

  // Adds the limits' counters (clients_open, clients_rejected_total, ...,
  // client_in_flight_max, fd_exhaustion_episodes, accept_suspended) to a stats reply
  // (no allocation).
  void AddLimitStats(JsonWriter& j) const;

  // Requests of one client relayed and not yet answered before the relay stops reading it
  // (no further frame of it is parsed until half of them are answered).
  static constexpr uint32_t kMaxClientInFlight = 1024;

  // Runs `fn(worker index)` on every worker thread and returns when all have run it. Any
  // thread but a worker's.
  void RunOnEveryWorker(const std::function<void(int worker)>& fn);


  const RelayCounters& counters() const { return counters_; }
  const RelayOptions& options() const { return options_; }
  RelaySettings& settings() { return settings_; }
  // Transient threads started so far (thread churn).
  int64_t transient_threads_started() const { return transient_.started(); }

  // Workers check their log records for expiry about this often.
  static constexpr int kTickMs = 100;

 private:
  class Worker;
  class PendingTable;
  struct Pending;

  void OnClientFrame(Worker& a, uint64_t client_tag, char* payload, uint32_t length,
                     uint64_t client_id);
  void SendUpstream(Worker& b, uint64_t rid);
  void OnUpstreamFrame(Worker& b, uint64_t rid, char* payload, uint32_t length);
  void DeliverResponse(Worker& a, uint64_t client_tag, uint64_t client_id, char* payload,
                       uint32_t length);
  void FreeResponse(char* payload, uint32_t length);
  void OnUpstreamLost(int upstream, const std::string& reason);
  void OnUpstreamHighWater();
  void OnUpstreamLowWater();
  void OnAccept(int fd);
  void RejectClient(int fd, int64_t cap);
  void CloseIdleClients(Worker& w);
  static bool LeakRequest(uint64_t rid, double rate);
  void AddLogRecord(Worker& a, uint64_t rid);
  void ExpireLogRecords(Worker& a);

  RelayOptions options_;
  RelaySettings& settings_;
  TransientThreads transient_;  // thread churn (settings_.thread_churn_ms)
  RelayCounters counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<PendingTable> pending_;
  std::atomic<uint64_t> next_rid_{1};
  std::atomic<uint64_t> next_client_tag_{1};
  std::atomic<bool> failing_{false};
  std::unique_ptr<Acceptor> acceptor_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  int upstream_count_ = 0;
  size_t next_worker_ = 0;  // acceptor thread only
};

}  // namespace leaklab
