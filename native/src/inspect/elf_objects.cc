#include "elf_objects.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace leaklab::inspect {

std::vector<Mapping> ReadMaps(pid_t pid) {
  std::vector<Mapping> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    char perms[8] = {};
    unsigned long long s, e, off;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &path_at) < 4) continue;
    m.start = s;
    m.end = e;
    m.offset = off;
    m.perms = perms;
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) m.path = line.substr(path_at);
    out.push_back(m);
  }
  return out;
}

namespace {


// Opens an object of the target without naming its path in our own namespace.
int OpenObject(pid_t pid, const Mapping& m) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m.start, m.end);
  int fd = open(buf, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) return fd;
  const std::string p = "/proc/" + std::to_string(pid) + "/root" + m.path;
  return open(p.c_str(), O_RDONLY | O_CLOEXEC);
}

bool Parse(const uint8_t* d, size_t n, Object* o, uint64_t* first_load_vaddr) {
  const std::string base = o->path.substr(o->path.rfind('/') + 1);
  const bool is_libc = base.rfind("libc.so", 0) == 0;
  if (n < sizeof(Elf64_Ehdr) || std::memcmp(d, ELFMAG, SELFMAG) != 0 || d[EI_CLASS] != ELFCLASS64) return false;
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(d);
  if (eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) > n) return false;
  auto* ph = reinterpret_cast<const Elf64_Phdr*>(d + eh->e_phoff);
  bool first = true;
  for (int i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type == PT_INTERP) o->has_interp = true;
    if (ph[i].p_type == PT_LOAD) {
      if (first) *first_load_vaddr = ph[i].p_vaddr & ~uint64_t{0xfff}, first = false;
      if (!(ph[i].p_flags & PF_W)) o->ro_segments.push_back({ph[i].p_vaddr, ph[i].p_filesz, ph[i].p_offset});
      if (ph[i].p_flags & PF_X) {
        o->text_end = ph[i].p_vaddr + ph[i].p_memsz;  // unbiased for now
        // The signal return trampoline: a return address there means a signal frame.
        static const uint8_t kRt[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
        const size_t end = std::min<size_t>(n, ph[i].p_offset + ph[i].p_filesz);
        const uint8_t* hit = is_libc && end > ph[i].p_offset + sizeof kRt
                                 ? static_cast<const uint8_t*>(memmem(d + ph[i].p_offset, end - ph[i].p_offset, kRt, sizeof kRt))
                                 : nullptr;
        if (hit) o->sigreturn = ph[i].p_vaddr + (hit - (d + ph[i].p_offset));
      }
    }
    if (ph[i].p_type == PT_GNU_EH_FRAME && ph[i].p_offset + 12 <= n) {
      const uint8_t* h = d + ph[i].p_offset;
      // version 1, fde_count udata4, table datarel|sdata4: the layout the table search wants
      if (h[0] == 1 && h[2] == 0x03 && h[3] == 0x3b) {
        o->eh_frame_hdr = ph[i].p_vaddr;
        std::memcpy(&o->fde_count, h + 8, 4);
        o->fde_count &= 0xffffffffu;
      }
    }
    if (ph[i].p_type == PT_NOTE && ph[i].p_offset + ph[i].p_filesz <= n) {
      size_t at = ph[i].p_offset, end = ph[i].p_offset + ph[i].p_filesz;
      while (at + sizeof(Elf64_Nhdr) <= end) {
        auto* nh = reinterpret_cast<const Elf64_Nhdr*>(d + at);
        const size_t name_at = at + sizeof(Elf64_Nhdr), desc_at = name_at + ((nh->n_namesz + 3) & ~3u);
        if (nh->n_type == NT_GNU_BUILD_ID && desc_at + nh->n_descsz <= end) {
          static const char* hex = "0123456789abcdef";
          for (unsigned k = 0; k < nh->n_descsz; ++k)
            o->build_id += hex[d[desc_at + k] >> 4], o->build_id += hex[d[desc_at + k] & 15];
        }
        at = desc_at + ((nh->n_descsz + 3) & ~3u);
      }
    }
  }
  if (eh->e_shoff == 0 || eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) > n) return true;
  auto* sh = reinterpret_cast<const Elf64_Shdr*>(d + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_DYNSYM && sh[i].sh_type != SHT_SYMTAB) continue;
    if (sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr& str = sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > n || str.sh_offset + str.sh_size > n) continue;
    auto* sym = reinterpret_cast<const Elf64_Sym*>(d + sh[i].sh_offset);
    const size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t k = 0; k < count; ++k) {
      if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC && ELF64_ST_TYPE(sym[k].st_info) != STT_GNU_IFUNC) continue;
      if (sym[k].st_shndx == SHN_UNDEF || sym[k].st_value == 0 || sym[k].st_name >= str.sh_size) continue;
      const bool global = ELF64_ST_BIND(sym[k].st_info) != STB_LOCAL;
      const char* name = reinterpret_cast<const char*>(d + str.sh_offset + sym[k].st_name);
      Symbol s{name, sym[k].st_value, sym[k].st_size};
      if (sh[i].sh_type == SHT_DYNSYM || global) o->functions.push_back(s);
    }
  }
  return true;
}

}  // namespace

std::vector<Object> LoadObjects(pid_t pid, const std::vector<Mapping>& maps, std::string* exe_path) {
  std::vector<Object> out;
  char exe[4096] = {};
  const std::string exe_link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(exe_link.c_str(), exe, sizeof exe - 1);
  if (n > 0) *exe_path = std::string(exe, n);
  std::map<std::string, size_t> seen;
  for (const Mapping& m : maps) {
    if (m.path.empty() || m.path[0] != '/') continue;
    auto it = seen.find(m.path);
    if (it == seen.end()) {
      if (m.offset != 0) continue;  // the first mapping of a file is at offset 0
      Object o;
      o.path = m.path;
      o.main_program = m.path == *exe_path || out.empty();
      const int fd = OpenObject(pid, m);
      if (fd < 0) continue;
      struct stat st {};
      void* data = MAP_FAILED;
      const size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? st.st_size : 0;
      if (size) data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      close(fd);
      if (data == MAP_FAILED) continue;
      o.image = std::shared_ptr<const uint8_t>(static_cast<const uint8_t*>(data), [size](const uint8_t* p) {
        munmap(const_cast<uint8_t*>(p), size);
      });
      uint64_t first_vaddr = 0;
      if (!Parse(o.image.get(), size, &o, &first_vaddr)) continue;
      o.bias = m.start - first_vaddr;
      for (auto& seg : o.ro_segments) seg.vaddr += o.bias;
      if (o.eh_frame_hdr) o.eh_frame_hdr += o.bias;
      o.text_end += o.bias;
      if (o.sigreturn) o.sigreturn += o.bias;
      o.text_page_end = (o.text_end + 0xfff) & ~uint64_t{0xfff};
      for (Symbol& s : o.functions) s.addr += o.bias;
      std::sort(o.functions.begin(), o.functions.end(), [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
      for (const Symbol& s : o.functions) {
        std::string base = s.name.substr(0, s.name.find('@'));
        o.by_name.emplace(base, s.addr);
      }
      seen[m.path] = out.size();
      out.push_back(std::move(o));
      it = seen.find(m.path);
    }
    if (m.perms.find('x') != std::string::npos) out[it->second].exec_ranges.emplace_back(m.start, m.end);
  }
  return out;
}

bool Object::ReadLocal(uint64_t addr, void* out, size_t n) const {
  for (const Segment& s : ro_segments)
    if (addr >= s.vaddr && addr + n <= s.vaddr + s.filesz) {
      std::memcpy(out, image.get() + s.offset + (addr - s.vaddr), n);
      return true;
    }
  return false;
}

}  // namespace leaklab::inspect
