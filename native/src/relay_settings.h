// The relay's run-time behaviours (leak mode, the log-record workload, release policies):
// set from flags at start, changeable over the admin channel (`set <key> <value>`).
// Every field is an atomic, written by the admin thread and read by workers and the
// release policy without locks; a change takes effect at the next request or check.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace leaklab {

struct RelaySettings {
  // Fraction 0..1 of requests whose pending-table entry (and request buffer) is never
  // erased; see Relay::LeakRequest for which ones.
  std::atomic<double> leak_rate{0};
  // Fragmentation workload: a `log_record_bytes` malloc on the client's worker for every
  // `log_record_every`-th request there, freed once older than `log_retention_ms`.
  std::atomic<int64_t> log_record_bytes{0};  // 0 = off
  std::atomic<int64_t> log_record_every{1};
  std::atomic<int64_t> log_retention_ms{5000};
  // Release policies (0 = off), see release_policy.h.
  std::atomic<int64_t> release_every_ms{0};
  std::atomic<int64_t> release_idle_ms{0};
  std::atomic<int64_t> release_free_over{0};
  // Thread churn (0 = off): responses are copied on transient threads that each live this
  // long; see transient_threads.h.
  std::atomic<int64_t> thread_churn_ms{0};
  // Limits on client connections: at most `max_clients` open at once (more are answered
  // with an ERROR frame and closed; 0 = no cap), and a client with no request in flight
  // that has not sent or taken a byte for `idle_timeout_ms` is closed (0 = never).
  std::atomic<int64_t> max_clients{10000};
  std::atomic<int64_t> idle_timeout_ms{600000};

  // Sets the setting named `key` (the flag name without "--", e.g. "leak-rate") from
  // `value`. On a bad key or value returns false and sets *error to a message that names
  // the key and the valid keys or range; nothing changes then.
  bool Set(const std::string& key, const std::string& value, std::string* error);
  // True if `key` names a setting.
  static bool IsKey(const std::string& key);
  // The current value of `key` (which must be valid) as a JSON number.
  nlohmann::json Get(const std::string& key) const;
  // Adds every setting by its key to `j`: {"leak-rate": ..., "log-record-bytes": ...}.
  void AddTo(nlohmann::ordered_json& j) const;
  // "leak-rate (0..1), log-record-bytes (0..1048576), ...", for messages.
  static std::string KeysWithRanges();
};

}  // namespace leaklab
