// Seeded, reproducible randomness for the load generator and the upstream: splitmix64
// as a pure hash (value k of a stream is a function of (seed, k) alone) and as a stream.
#pragma once

#include <cstdint>

namespace leaklab {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

inline uint64_t SplitMix64(uint64_t x) {
  x += kGolden;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Maps a 64-bit hash onto [lo, hi] (inclusive) without a division.
inline uint64_t MapToRange(uint64_t h, uint64_t lo, uint64_t hi) {
  const uint64_t span = hi - lo + 1;  // 0 means the whole 64-bit range
  if (span == 0) return h;
  return lo + static_cast<uint64_t>((static_cast<unsigned __int128>(h) * span) >> 64);
}

// A double in (0, 1] from a 64-bit hash (never 0, so log() is safe).
inline double UnitInterval(uint64_t h) {
  return static_cast<double>((h >> 11) + 1) * (1.0 / 9007199254740992.0);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return SplitMix64(state_++ * kGolden); }
  uint64_t Uniform(uint64_t lo, uint64_t hi) { return MapToRange(Next(), lo, hi); }

 private:
  uint64_t state_;
};

}  // namespace leaklab
