// The variant's release, shared by the admin `release` command and the relay's own
// release policies (periodic, on idle, when free-but-resident bytes exceed a threshold,
// as Envoy's shrink_heap does with tcmalloc).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "event_loop.h"

namespace leaklab {

class Relay;

// What one release did; times in ms, RSS -1 if unreadable.
struct ReleaseReport {
  int64_t rss_before_bytes = -1;
  int64_t rss_after_bytes = -1;
  double release_ms = 0;  // thread_ms + process_ms
  double thread_ms = 0;
  double process_ms = 0;
};

// Thread-local release on every worker, on the acceptor and on the calling thread, then
// the process-wide call. Blocks until done; call on a thread that is neither a worker nor
// the acceptor (the admin thread).
ReleaseReport RunRelease(Relay& relay, EventLoop& acceptor);

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
  // policy_release_ms_total, policy_release_ms_max, last_policy_release and
  // policy_free_resident_bytes to a stats object.
  void AddStats(nlohmann::json& j) const;

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
  // free-over: RSS at start, whether alloc::Stats() has a free_bytes figure (-1 = not yet
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
  double ms_total_ = 0;
  double ms_max_ = 0;
  const char* last_ = nullptr;
};

}  // namespace leaklab
