#include "latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace leaklab {
namespace {
constexpr int kSubBits = 7;                       // 128 sub-buckets per power of two
constexpr uint64_t kSub = uint64_t{1} << kSubBits;
constexpr uint64_t kMaxValue = (uint64_t{1} << 40) - 1;
constexpr size_t kBuckets = kSub * (40 - kSubBits) + 2 * kSub;

size_t IndexOf(uint64_t v) {
  if (v < 2 * kSub) return static_cast<size_t>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits;  // v >> shift is in [kSub, 2 * kSub)
  return static_cast<size_t>(kSub * shift + (v >> shift));
}

uint64_t ValueOf(size_t index) {
  if (index < 2 * kSub) return index;
  const uint64_t shift = index / kSub - 1;
  const uint64_t lower = (index - kSub * shift) << shift;
  return lower + ((uint64_t{1} << shift) - 1) / 2;
}
}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

void LatencyHistogram::Record(uint64_t us) {
  ++counts_[IndexOf(std::min(us, kMaxValue))];
  ++count_;
}

void LatencyHistogram::Reset() {
  if (count_ == 0) return;
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return ValueOf(i);
  }
  return ValueOf(counts_.size() - 1);
}

}  // namespace leaklab
