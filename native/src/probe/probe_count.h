// The probe's counting layer (LEAKLAB_PROBE_COUNT=1, the probe first in LD_PRELOAD): the
// probe defines malloc and its whole family (calloc, realloc, reallocarray, free, the
// memalign family, valloc, pvalloc, malloc_usable_size and every C++ operator new and
// delete), forwards each call to the next definition (dlsym(RTLD_NEXT)) and, when counting,
// adds or subtracts the block's usable size in sharded atomics. This is the in-use figure
// of allocators that keep none (mimalloc's release build, an allocator the probe does not
// know). probe_count.cc; docs/targets.md, "The counting layer".
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaklab::probe {

struct CountState {
  bool requested = false;  // LEAKLAB_PROBE_COUNT=1
  bool counting = false;   // requested, and the probe's malloc is the one the process calls
  int64_t in_use_bytes = 0;  // usable bytes of the live blocks counted so far
};

// Allocation-free; any thread.
CountState ReadCount();
// Why the count is off, in one line (allocation-free, a static string or `buf`): "counting",
// "off (LEAKLAB_PROBE_COUNT is not 1)", or "not counting: LEAKLAB_PROBE_COUNT=1, but the
// probe is not first in LD_PRELOAD (...)".
const char* CountStatus(char* buf, size_t len);

}  // namespace leaklab::probe
