// The load generator's schedule: a seeded list of phases, each with a load shape and a
// request-size distribution. Parsing validates every field and names it on error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace leaklab {

struct SizeDist {
  enum class Kind { kFixed, kUniform, kLognormal };
  Kind kind = Kind::kFixed;
  uint32_t bytes = 0;     // fixed
  uint32_t min = 0;       // uniform
  uint32_t max = 0;       // uniform; lognormal cap
  double median = 0;      // lognormal
  double sigma = 0;       // lognormal
};

struct Load {
  enum class Mode { kClosed, kOpen };
  Mode mode = Mode::kClosed;
  uint64_t concurrency = 0;      // closed: requests kept outstanding in total
  double rate = 0;               // open: requests per second
  uint64_t max_in_flight = 0;    // open: sends beyond this are skipped ("dropped")
  uint64_t reconnect_every = 0;  // churn: a connection is closed and reopened after this
                                 // many responses (0 = never)
  uint64_t requests = 0;         // sized by count: the phase sends this many requests and
                                 // ends when all are answered, or at its duration, which
                                 // is then a limit (0 = a timed phase)
  SizeDist size;
};

struct Phase {
  std::string name;
  uint64_t duration_ms = 0;
  std::optional<Load> load;  // empty = idle (send nothing new)
};

struct Schedule {
  uint64_t seed = 0;
  uint64_t connections = 1;
  std::vector<Phase> phases;
};

constexpr uint64_t kMaxConnections = 10000;
constexpr uint64_t kDefaultMaxInFlight = 4096;

// Parses and validates schedule JSON. On failure returns false and sets *error to
// "schedule: <field path>: <what is wrong and what is valid>".
bool ParseSchedule(const std::string& text, uint32_t max_frame, Schedule* out,
                   std::string* error);

// Size of the k-th request of a run (k = 0, 1, ... in send order): a pure function of
// (seed, k, dist), so the same seed always gives the same sequence.
uint32_t RequestSize(const SizeDist& dist, uint64_t seed, uint64_t k);

}  // namespace leaklab
