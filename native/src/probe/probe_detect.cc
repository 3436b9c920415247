// Which allocator serves malloc() here: dladdr() on the resolved `malloc`, then each
// allocator's API looked up and kept only when it lives in that same object.
#include <dlfcn.h>
#include <link.h>
#include <time.h>

#include <cstring>

#include "probe_alloc.h"

namespace leaklab::probe {
namespace {

// An allocator the probe does not know. If it is a sanitizer runtime (LeakSanitizer's
// AddressSanitizer runtime preloaded by `lab detect`), its common interface gives the bytes
// in use (__sanitizer_get_current_allocated_bytes) and a release
// (__sanitizer_purge_allocator); else no counters, and a release that fails with a reason.
class UnknownAllocator : public AllocatorApi {
 public:
  using SizeFn = size_t (*)();
  using VoidFn = void (*)();
  UnknownAllocator(std::string library, SizeFn allocated, VoidFn purge)
      : library_(std::move(library)),
        none_("none: malloc is served by " + library_ + ", an allocator the probe does not know"),
        allocated_(allocated),
        purge_(purge) {}
  const char* Name() const override { return "unknown"; }
  std::string Version() const override { return "unknown"; }
  int64_t Stats(StatsOut& out, bool) const override {
    out.Null("free_bytes");
    out.Null("unmapped_bytes");
    return allocated_ != nullptr ? static_cast<int64_t>(allocated_()) : -1;
  }
  void Release(CallList* calls) const override {
    CallResult c;
    c.call = purge_ != nullptr ? "__sanitizer_purge_allocator()" : none_.c_str();
    if (purge_ != nullptr) {
      const double t0 = NowMsF();
      purge_();
      c.ms = NowMsF() - t0;
    } else {
      c.ok = false;
    }
    calls->push_back(c);
  }
  const char* ReleaseCall() const override { return purge_ != nullptr ? "__sanitizer_purge_allocator()" : "none"; }
  nlohmann::json ProfileDump(const std::string&) const override {
    return {{"ok", false}, {"error", "malloc is served by " + library_ + ", which the probe cannot profile"}};
  }

 private:
  std::string library_;
  std::string none_;
  SizeFn allocated_;
  VoidFn purge_;
};

const void* ObjectBase(const void* symbol, std::string* name) {
  Dl_info info{};
  if (symbol == nullptr || dladdr(symbol, &info) == 0) return nullptr;
  if (name != nullptr && info.dli_fname != nullptr) {
    const char* slash = std::strrchr(info.dli_fname, '/');
    *name = slash ? slash + 1 : info.dli_fname;
  }
  return info.dli_fbase;
}

}  // namespace

double NowMsF() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

namespace {

// The first `malloc` in the process's search order that is neither the probe's own (its
// counting layer, probe_count.cc, when the probe is first in LD_PRELOAD) nor the test shim's
// (native/test/alloc_count.cc, which defines leaklab_alloc_calls): the objects in load
// order, each asked for its own definition. The names are copied out of dl_iterate_phdr
// into a static table first: dlsym may malloc, and a malloc under dl_iterate_phdr's lock
// deadlocked against gperftools' heap checker, whose malloc hook unwinds the stack with
// libunwind, which takes its own lock and then dl_iterate_phdr's.
struct Objects {
  static constexpr int kMax = 256;
  char names[kMax][512];
  int count = 0;
};
Objects g_objects;  // probe thread only

int Collect(dl_phdr_info* info, size_t, void* arg) {
  auto* o = static_cast<Objects*>(arg);
  if (o->count == Objects::kMax) return 1;
  const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  std::strncpy(o->names[o->count], name, sizeof o->names[0] - 1);
  o->names[o->count][sizeof o->names[0] - 1] = '\0';
  ++o->count;
  return 0;
}

// `name`'s own malloc ("" = the main program), else null.
void* OwnMalloc(const char* name, const void* probe_base) {
  const bool main_program = name[0] == '\0';
  void* handle = dlopen(main_program ? nullptr : name, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  // dlsym(handle) searches the object's dependencies too: keep only its own definition.
  void* sym = dlsym(handle, "malloc");
  Dl_info where{};
  const bool defined_here = sym != nullptr && dladdr(sym, &where) != 0 && where.dli_fname != nullptr &&
                            std::strcmp(where.dli_fname, name) == 0;
  const bool skip = !defined_here || where.dli_fbase == probe_base ||
                    ObjectBase(dlsym(handle, "leaklab_alloc_calls"), nullptr) == where.dli_fbase;
  dlclose(handle);
  return skip ? nullptr : sym;
}

void* ServingMalloc() {
  const void* probe_base = ObjectBase(reinterpret_cast<const void*>(&FindMallocObject), nullptr);
  g_objects.count = 0;
  dl_iterate_phdr(&Collect, &g_objects);
  for (int i = 0; i < g_objects.count; ++i)
    if (void* sym = OwnMalloc(g_objects.names[i], probe_base)) return sym;
  return dlsym(RTLD_NEXT, "malloc");
}

}  // namespace

MallocObject FindMallocObject() {
  MallocObject o;
  Dl_info info{};
  void* sym = ServingMalloc();
  if (sym == nullptr || dladdr(sym, &info) == 0 || info.dli_fname == nullptr) {
    o.name = o.path = "unknown";
    return o;
  }
  o.base = info.dli_fbase;
  o.path = info.dli_fname;
  // The main program shows as "" in dli_fname.
  if (o.path.empty()) o.path = "(main program)";
  const char* slash = std::strrchr(o.path.c_str(), '/');
  o.name = slash ? slash + 1 : o.path;
  return o;
}

void* SymbolIn(const MallocObject& object, const char* name) {
  if (object.base == nullptr) return nullptr;
  void* sym = dlsym(RTLD_DEFAULT, name);
  return sym != nullptr && ObjectBase(sym, nullptr) == object.base ? sym : nullptr;
}

std::unique_ptr<AllocatorApi> DetectAllocator(const MallocObject& object) {
  if (auto a = FindJemalloc(object)) return a;
  if (auto a = FindTcmalloc(object)) return a;
  if (auto a = FindMimalloc(object)) return a;
  if (auto a = FindGlibc(object)) return a;
  return std::make_unique<UnknownAllocator>(
      object.name, reinterpret_cast<UnknownAllocator::SizeFn>(SymbolIn(object, "__sanitizer_get_current_allocated_bytes")),
      reinterpret_cast<UnknownAllocator::VoidFn>(SymbolIn(object, "__sanitizer_purge_allocator")));
}

std::vector<std::string> OtherAllocators(const MallocObject& object) {
  static const struct { const char* symbol; const char* allocator; } kApis[] = {
      {"mallctl", "jemalloc"}, {"je_mallctl", "jemalloc (je_ prefix)"},
      {"MallocExtension_GetNumericProperty", "tcmalloc"}, {"mi_version", "mimalloc"}};
  std::vector<std::string> out;
  for (const auto& api : kApis) {
    std::string name;
    const void* base = ObjectBase(dlsym(RTLD_DEFAULT, api.symbol), &name);
    if (base == nullptr || base == object.base) continue;
    out.push_back(std::string(api.allocator) + " (" + (name.empty() ? "main program" : name) + ")");
  }
  return out;
}

}  // namespace leaklab::probe
