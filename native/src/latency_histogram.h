// Log-linear latency histogram in microseconds: exact below 256 us, then 128 buckets per
// power of two (under 0.8% relative error), up to 2^40 us. Fixed size, no allocation
// after construction, so recording costs an increment.
#pragma once

#include <cstdint>
#include <vector>

namespace leaklab {

class LatencyHistogram {
 public:
  LatencyHistogram();
  void Record(uint64_t us);
  void Reset();
  uint64_t count() const { return count_; }
  // The value at quantile q (0..1), the midpoint of its bucket; 0 when empty.
  uint64_t Percentile(double q) const;

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
};

}  // namespace leaklab
