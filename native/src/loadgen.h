// The load generator's engine: drives a Schedule over N connections to one port,
// checks every response, and reports JSON lines (phase, tick, totals) on stdout.
// Single-threaded; everything runs on the EventLoop's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "event_loop.h"
#include "latency_histogram.h"
#include "schedule.h"

namespace leaklab {

class LoadGen {
 public:
  LoadGen(Schedule schedule, uint16_t port, uint32_t max_frame, int64_t start_us);

  // Opens every connection; false with *error set when one cannot connect.
  bool Connect(std::string* error);
  // Runs the whole schedule, prints the totals line. Returns the exit code.
  int Run();

 private:
  struct Request {
    uint64_t k;      // sequence number, also the frame id
    int64_t sent_us;
    uint32_t length;
  };
  struct Slot {
    std::shared_ptr<Connection> conn;  // null while disconnected
    std::unordered_map<uint64_t, Request> outstanding;
    int64_t retry_ms = 0;
    bool corked = false;
    uint64_t served = 0;    // responses on this connection since it was opened
    bool retiring = false;  // churn: no new requests; closed once its requests are done
  };
  struct PhaseStats {
    uint64_t sent = 0, completed = 0, errors = 0, dropped = 0, bytes_sent = 0;
    int64_t start_us = 0, end_us = 0;
    LatencyHistogram latency;
  };

  bool Open(size_t index, std::string* error);
  void OnFrame(size_t index, Connection& conn, Frame&& frame);
  void OnClose(size_t index, Connection& conn, const std::string& reason);
  void OnTick();
  void AfterDispatch();
  void StartPhase(size_t index, int64_t now_us);
  void Finish(int64_t now_us);
  bool Issue(int64_t now_us);  // false when no connection is up
  void TopUpClosed(int64_t now_us);
  // A phase sized by count has sent all its requests (and, with and_answered, nothing
  // is in flight any more: the phase is over).
  bool CountReached(bool and_answered) const;
  void Flush();
  void CountErrors(uint64_t n);
  void Retire(size_t index);
  void PrintTick(int64_t now_us);
  void PrintTotals(int64_t now_us);
  int64_t SinceStartMs(int64_t now_us) const { return (now_us - start_us_) / 1000; }

  Schedule schedule_;
  uint16_t port_;
  uint32_t max_frame_;
  int64_t start_us_;  // process start, the origin of every t_ms
  const char* filler_;
  EventLoop loop_;
  std::vector<Slot> slots_;
  std::vector<size_t> corked_;
  size_t next_slot_ = 0;
  size_t up_count_ = 0;

  // Schedule position.
  size_t phase_ = 0;
  bool running_ = false;
  bool finished_ = false;
  int64_t run_start_us_ = 0;
  int64_t phase_end_us_ = 0;
  int64_t next_report_us_ = 0;
  uint64_t open_scheduled_ = 0;  // open loop: sends due so far in this phase

  // Run totals.
  uint64_t next_k_ = 0;
  uint64_t sent_ = 0, completed_ = 0, errors_ = 0, dropped_ = 0, unexpected_ = 0;
  uint64_t reconnects_ = 0;  // churn: connections closed on purpose and reopened
  uint64_t bytes_sent_ = 0, bytes_received_ = 0, in_flight_ = 0;
  uint64_t interval_completed_ = 0;
  LatencyHistogram run_latency_, interval_latency_;
  std::vector<PhaseStats> phase_stats_;
};

}  // namespace leaklab
