// One shared read-only filler buffer for payload bodies: an untouched anonymous mapping,
// so reading it maps the kernel's zero page and costs no RSS, no memset, no allocation.
#pragma once

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

namespace leaklab {

inline const char* MapFiller(size_t bytes) {
  if (bytes == 0) bytes = 1;
  void* p = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("fatal: mmap filler");
    std::exit(1);
  }
  return static_cast<const char*>(p);
}

}  // namespace leaklab
