#include "relay_settings.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "quote.h"

namespace leaklab {
namespace {

constexpr int64_t kDayMs = 86400000;

// One integer setting: its key, its field and its valid range.
struct IntSetting {
  const char* key;
  std::atomic<int64_t> RelaySettings::*field;
  int64_t min;
  int64_t max;
};

const IntSetting kIntSettings[] = {
    {"log-record-bytes", &RelaySettings::log_record_bytes, 0, 1 << 20},
    {"log-record-every", &RelaySettings::log_record_every, 1, 1000000},
    {"log-retention-ms", &RelaySettings::log_retention_ms, 0, kDayMs},
    {"release-every-ms", &RelaySettings::release_every_ms, 0, kDayMs},
    {"release-idle-ms", &RelaySettings::release_idle_ms, 0, kDayMs},
    {"release-free-over", &RelaySettings::release_free_over, 0, int64_t{1} << 50},
    {"thread-churn-ms", &RelaySettings::thread_churn_ms, 0, kDayMs},
    {"max-clients", &RelaySettings::max_clients, 0, 1000000},
    {"idle-timeout-ms", &RelaySettings::idle_timeout_ms, 0, kDayMs},
};

constexpr const char* kLeakRate = "leak-rate";

const IntSetting* FindInt(const std::string& key) {
  for (const IntSetting& s : kIntSettings)
    if (key == s.key) return &s;
  return nullptr;
}

std::string Range(const IntSetting& s) {
  return std::to_string(s.min) + ".." + std::to_string(s.max);
}

}  // namespace

bool RelaySettings::IsKey(const std::string& key) {
  return key == kLeakRate || FindInt(key) != nullptr;
}

std::string RelaySettings::KeysWithRanges() {
  std::string out = std::string(kLeakRate) + " (0..1)";
  for (const IntSetting& s : kIntSettings) out += std::string(", ") + s.key + " (" + Range(s) + ")";
  return out;
}

bool RelaySettings::Set(const std::string& key, const std::string& value, std::string* error) {
  // The whole value must parse: `end` just past its last byte, not at a NUL inside it (an admin
  // payload may hold one: "set leak-rate 0\0junk").
  char* end = nullptr;
  errno = 0;
  if (key == kLeakRate) {
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || errno != 0 || !std::isfinite(v) ||
        v < 0 || v > 1) {
      *error = key + ": expected a number in 0..1, got " + Quote(value);
      return false;
    }
    leak_rate.store(v);
    return true;
  }
  const IntSetting* s = FindInt(key);
  if (s == nullptr) {
    *error = "unknown setting " + Quote(key) + "; valid: " + KeysWithRanges();
    return false;
  }
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || end != value.c_str() + value.size() || errno != 0 || v < s->min ||
      v > s->max) {
    *error = key + ": expected an integer in " + Range(*s) + ", got " + Quote(value);
    return false;
  }
  (this->*(s->field)).store(v);
  return true;
}

nlohmann::json RelaySettings::Get(const std::string& key) const {
  if (key == kLeakRate) return leak_rate.load();
  const IntSetting* s = FindInt(key);
  return s ? nlohmann::json((this->*(s->field)).load()) : nlohmann::json(nullptr);
}

void RelaySettings::AddTo(nlohmann::ordered_json& j) const {
  j[kLeakRate] = leak_rate.load();
  for (const IntSetting& s : kIntSettings) j[s.key] = (this->*(s.field)).load();
}

}  // namespace leaklab
