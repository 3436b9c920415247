// An allocator the lab does not know (probe only). If it is a sanitizer runtime
// (LeakSanitizer's AddressSanitizer runtime preloaded by `lab detect`), its common interface
// gives the bytes in use and a release; else no counters, and a release that fails with a
// reason.
#include <string>

#include "alloc/resolve.h"

namespace leaklab::alloc {
namespace {

struct UnknownApi {
  size_t (*allocated)();  // __sanitizer_get_current_allocated_bytes
  void (*purge)();        // __sanitizer_purge_allocator
};

class Unknown : public Adapter {
 public:
  Unknown(std::string library, UnknownApi api)
      : library_(std::move(library)),
        none_("none: malloc is served by " + library_ + ", an allocator the probe does not know"),
        api_(api) {}
  const char* Name() const override { return "unknown"; }
  std::string Version() const override { return "unknown"; }
  int64_t Stats(StatsOut& out, bool) override {
    out.Null("free_bytes");
    out.Null("unmapped_bytes");
    return api_.allocated != nullptr ? static_cast<int64_t>(api_.allocated()) : -1;
  }
  CallResult ReleaseThread() override { return {}; }
  CallResult ReleaseProcess() override {
    CallResult c;
    c.call = api_.purge != nullptr ? "__sanitizer_purge_allocator()" : none_.c_str();
    if (api_.purge != nullptr) api_.purge();
    else c.ok = false;
    return c;
  }
  const char* ReleaseCall() const override { return api_.purge != nullptr ? "__sanitizer_purge_allocator()" : "none"; }
  ProfileResult ProfileDump(const std::string&) override {
    ProfileResult r;
    r.error = "malloc is served by " + library_ + ", which the probe cannot profile";
    return r;
  }

 private:
  std::string library_;
  std::string none_;
  UnknownApi api_;
};

}  // namespace

std::unique_ptr<Adapter> ResolveUnknown(const MallocObject& object) {
  UnknownApi api{};
  api.allocated = SymbolAs<size_t (*)()>(object, "__sanitizer_get_current_allocated_bytes");
  api.purge = SymbolAs<void (*)()>(object, "__sanitizer_purge_allocator");
  return std::make_unique<Unknown>(object.name, api);
}

}  // namespace leaklab::alloc
