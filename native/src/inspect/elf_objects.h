// The objects loaded in a process, read from /proc/<pid>/maps and from the files
// themselves through /proc/<pid>/map_files (or /proc/<pid>/root), so a process in another
// mount namespace resolves like any other: exported symbols, load bias, build id, the end
// of each object's code.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

namespace leaklab::inspect {

struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  std::string perms, path;
};

struct Symbol {
  std::string name;
  uint64_t addr = 0, size = 0;  // addr with the bias applied
};

struct Object {
  std::string path;
  uint64_t bias = 0;
  bool main_program = false;
  std::string build_id;
  uint64_t text_end = 0;    // end of the executable PT_LOAD (biased)
  uint64_t text_page_end = 0;
  std::vector<std::pair<uint64_t, uint64_t>> exec_ranges;  // r-x mappings
  std::vector<Symbol> functions;                           // sorted by addr
  std::unordered_map<std::string, uint64_t> by_name;
  bool has_interp = false;
  uint64_t sigreturn = 0;
  // For the unwinder: the read-only PT_LOAD segments, read from this local copy of the file
  // (never from the target), and .eh_frame_hdr's binary search table.
  std::shared_ptr<const uint8_t> image;
  struct Segment { uint64_t vaddr, filesz, offset; };  // vaddr biased
  std::vector<Segment> ro_segments;
  uint64_t eh_frame_hdr = 0, fde_count = 0;  // biased address, entries; 0 when unusable
  bool ReadLocal(uint64_t addr, void* out, size_t n) const;  // `mov $15, %rax; syscall` (glibc's __restore_rt), biased; 0 if none
  uint64_t Find(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? 0 : it->second;
  }
};

std::vector<Mapping> ReadMaps(pid_t pid);
// Loads every file-backed object that has an executable mapping.
std::vector<Object> LoadObjects(pid_t pid, const std::vector<Mapping>& maps, std::string* exe_path);

}  // namespace leaklab::inspect
