#include "proc_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace leaklab {
namespace {

// Reads a small /proc file into buf (NUL-terminated). Returns false on failure.
// Uses plain read() and a caller buffer so that sampling does not allocate.
bool ReadSmallFile(const char* path, char* buf, size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t used = 0;
  while (used + 1 < size) {
    const ssize_t n = read(fd, buf + used, size - 1 - used);
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  close(fd);
  buf[used] = '\0';
  return used > 0;
}

// Value in kB of the line "<key>:   <n> kB", as bytes; -1 when absent.
int64_t FieldKb(const char* text, const char* key) {
  const size_t klen = std::strlen(key);
  for (const char* line = text; line && *line;) {
    if (std::strncmp(line, key, klen) == 0 && line[klen] == ':')
      return std::strtoll(line + klen + 1, nullptr, 10) * 1024;
    line = std::strchr(line, '\n');
    if (line) ++line;
  }
  return -1;
}

}  // namespace

int64_t ReadRssBytes() {
  char buf[256];
  if (!ReadSmallFile("/proc/self/statm", buf, sizeof buf)) return -1;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return -1;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

SmapsRollup ReadSmapsRollup() {
  SmapsRollup out;
  char buf[4096];
  if (!ReadSmallFile("/proc/self/smaps_rollup", buf, sizeof buf)) return out;
  out.rss_bytes = FieldKb(buf, "Rss");
  out.private_dirty_bytes = FieldKb(buf, "Private_Dirty");
  out.lazyfree_bytes = FieldKb(buf, "LazyFree");
  return out;
}

}  // namespace leaklab
