// Reads the process's own memory figures from /proc/self. Any thread.
#pragma once

#include <cstdint>

namespace leaklab {

// Resident set size from /proc/self/statm (resident pages * page size); -1 if unreadable.
int64_t ReadRssBytes();

// Fields of /proc/self/smaps_rollup, in bytes (kB * 1024); -1 when a field is missing
// (e.g. a kernel without smaps_rollup).
struct SmapsRollup {
  int64_t rss_bytes = -1;
  int64_t private_dirty_bytes = -1;
  int64_t lazyfree_bytes = -1;
};
SmapsRollup ReadSmapsRollup();

}  // namespace leaklab
