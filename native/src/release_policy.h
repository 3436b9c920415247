// The variant's release, shared by the admin `release` command and the relay's own
// release policies (periodic, on idle, when free-but-resident bytes exceed a threshold,
// as Envoy's shrink_heap does with tcmalloc).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "alloc/adapter.h"
#include "event_loop.h"
#include "json_writer.h"

namespace leaklab {

class Relay;

// One allocator call of a release, and the thread it ran on.
struct ReleaseStep {
  const char* thread = nullptr;  // "worker", "acceptor", "admin" (thread-local), "process"
  int worker = -1;                // the worker's index, for "worker"
  pid_t tid = 0;
  bool main_thread = false;       // ran on the process's main thread (tid == pid)
  alloc::CallResult result;
  double ms = 0;
};

// What one release did; times in ms, RSS -1 if unreadable.
struct ReleaseReport {
  int64_t rss_before_bytes = -1;
  int64_t rss_after_bytes = -1;
  double release_ms = 0;  // thread_ms + process_ms
  double thread_ms = 0;
  double process_ms = 0;
  // Every call, thread-local steps first (workers in index order, acceptor, admin), then
  // the process-wide one; steps where the allocator has nothing to call are left out.
  std::vector<ReleaseStep> steps;
  bool ok = true;  // no call reported a failure
  // Transient (thread churn) threads started so far: the thread-local step never runs on
  // them (they run no event loop to post it to), so their caches stay where they are.
  int64_t transient_threads_started = 0;
};

// Thread-local release on every worker, on the acceptor (the main thread) and on the
// calling thread, then the process-wide call. Blocks until done; call on a thread that is
// neither a worker nor the acceptor (the admin thread).
ReleaseReport RunRelease(Relay& relay, EventLoop& acceptor);

// The report as the admin `release` reply's fields after "ok" (rss_before_bytes, ...,
// calls: [{thread, worker?, tid, main_thread, call, rc, ok, ms, error?}], ...).
void WriteReleaseReport(const ReleaseReport& r, nlohmann::ordered_json& j);

// Decides when the relay releases on its own, from its settings (release-every-ms,
// release-idle-ms, release-free-over; 0 = off), and keeps count. Admin thread only.
class ReleasePolicy {
 public:
  static constexpr int kCheckMs = 100;  // Check() is called about this often

  // Construct once the relay has started and before any load: the RSS then is the
  // baseline for the free-over estimate.
  ReleasePolicy(Relay& relay, EventLoop& acceptor);

  // Runs at most one release if a policy is due. Every kCheckMs on the admin thread.
  void Check();
  // Adds policy_releases, policy_releases_{periodic,idle,free_over},
  // policy_release_failures, policy_release_ms_total, policy_release_ms_max,
  // last_policy_release and policy_free_resident_bytes to a stats object.
  void AddStats(JsonWriter& j) const;

 private:
  int64_t FreeResidentBytes();
  void Release(const char* reason, int64_t* count);

  Relay& relay_;
  EventLoop& acceptor_;
  // periodic: the setting the schedule was made for, and when it is next due (0 = none).
  int64_t every_ms_ = 0;
  int64_t next_periodic_ms_ = 0;
  // idle: requests_total at the last check, when it last changed, and whether this idle
  // period has had its release (armed by the next request).
  int64_t last_requests_ = 0;
  int64_t last_request_ms_ = 0;
  bool idle_armed_ = false;
  // free-over: RSS at start, whether the adapter's Stats() has a free_bytes figure (-1 = not yet
  // known), the last estimate (-1 = policy off), and the lowest estimate since the last
  // free-over release (what that release could not return; 0 before the first).
  int64_t baseline_rss_ = 0;
  int free_bytes_known_ = -1;
  int64_t free_resident_bytes_ = -1;
  int64_t free_floor_ = 0;

  int64_t releases_ = 0;
  int64_t periodic_ = 0;
  int64_t idle_ = 0;
  int64_t free_over_ = 0;
  int64_t failures_ = 0;  // releases where an allocator call reported a failure
  double ms_total_ = 0;
  double ms_max_ = 0;
  const char* last_ = nullptr;
};

}  // namespace leaklab
