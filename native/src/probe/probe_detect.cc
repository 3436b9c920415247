// Which allocator serves malloc() here: dladdr() on the resolved `malloc`, then each
// allocator's API looked up and kept only when it lives in that same object.
#include <dlfcn.h>
#include <time.h>

#include <cstring>

#include "probe_alloc.h"

namespace leaklab::probe {
namespace {

class UnknownAllocator : public AllocatorApi {
 public:
  explicit UnknownAllocator(std::string library) : library_(std::move(library)) {}
  const char* Name() const override { return "unknown"; }
  std::string Version() const override { return "unknown"; }
  nlohmann::json Stats() const override {
    return {{"allocated_bytes", nullptr}, {"free_bytes", nullptr}, {"unmapped_bytes", nullptr}};
  }
  std::vector<CallResult> Release() const override {
    return {{"none: malloc is served by " + library_ + ", an allocator the probe does not know",
             nullptr, 0, false}};
  }
  const char* ReleaseCall() const override { return "none"; }
  nlohmann::json ProfileDump(const std::string&) const override {
    return {{"ok", false}, {"error", "malloc is served by " + library_ + ", which the probe cannot profile"}};
  }

 private:
  std::string library_;
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

MallocObject FindMallocObject() {
  MallocObject o;
  Dl_info info{};
  void* sym = dlsym(RTLD_DEFAULT, "malloc");
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
  return std::make_unique<UnknownAllocator>(object.name);
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
