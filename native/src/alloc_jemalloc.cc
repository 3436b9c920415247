// jemalloc 5 (Debian: unprefixed mallctl): stats.* after an epoch bump, release with
// arena.<MALLCTL_ARENAS_ALL>.purge.
#include <jemalloc/jemalloc.h>

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "alloc.h"

namespace leaklab::alloc {
namespace {

bool ReadSize(const char* name, size_t* out) {
  size_t len = sizeof *out;
  return mallctl(name, out, &len, nullptr, 0) == 0;
}

const char* const kStats[] = {"stats.allocated", "stats.active",   "stats.resident",
                              "stats.retained",  "stats.mapped",   "stats.metadata"};

}  // namespace

const char* Name() { return "jemalloc"; }

std::string Version() {
  const char* v = nullptr;
  size_t len = sizeof v;
  if (mallctl("version", &v, &len, nullptr, 0) != 0 || v == nullptr) return "unknown";
  return v;
}

nlohmann::json Stats() {
  uint64_t epoch = 1;
  size_t elen = sizeof epoch;
  mallctl("epoch", &epoch, &elen, &epoch, elen);  // refresh the cached stats
  nlohmann::json j;
  size_t v[sizeof kStats / sizeof kStats[0]] = {};
  bool ok[sizeof kStats / sizeof kStats[0]] = {};
  for (size_t i = 0; i < sizeof kStats / sizeof kStats[0]; ++i) {
    ok[i] = ReadSize(kStats[i], &v[i]);
    j[kStats[i]] = ok[i] ? nlohmann::json(v[i]) : nlohmann::json(nullptr);
  }
  j["allocated_bytes"] = ok[0] ? nlohmann::json(v[0]) : nlohmann::json(nullptr);
  // resident includes metadata and dirty pages; resident - allocated is what the
  // allocator holds in physical memory beyond live data.
  j["free_bytes"] = ok[0] && ok[2] && v[2] >= v[0] ? nlohmann::json(v[2] - v[0])
                                                   : nlohmann::json(nullptr);
  j["unmapped_bytes"] = ok[3] ? nlohmann::json(v[3]) : nlohmann::json(nullptr);
  // The effective tuning, so a variant can check that MALLOC_CONF took (jemalloc
  // warns on unknown options but carries on).
  ssize_t decay = 0;
  size_t dlen = sizeof decay;
  if (mallctl("opt.dirty_decay_ms", &decay, &dlen, nullptr, 0) == 0) j["opt.dirty_decay_ms"] = decay;
  dlen = sizeof decay;
  if (mallctl("opt.muzzy_decay_ms", &decay, &dlen, nullptr, 0) == 0) j["opt.muzzy_decay_ms"] = decay;
  bool flag = false;
  size_t blen = sizeof flag;
  if (mallctl("background_thread", &flag, &blen, nullptr, 0) == 0) j["opt.background_thread"] = flag ? 1 : 0;
  return j;
}

void ReleaseThread() { mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0); }

void ReleaseProcess() {
  const std::string name = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(name.c_str(), nullptr, nullptr, nullptr, 0);
}

const char* ReleaseCall() { return "mallctl(\"arena.<MALLCTL_ARENAS_ALL>.purge\")"; }

bool ProfileDump(const std::string& path, std::string* error) {
  bool prof = false;
  size_t len = sizeof prof;
  if (mallctl("opt.prof", &prof, &len, nullptr, 0) != 0) {
    *error = "this jemalloc was built without profiling (--enable-prof)";
    return false;
  }
  if (!prof) {
    *error = "jemalloc heap profiling is off: start the relay with MALLOC_CONF=prof:true";
    return false;
  }
  const char* file = path.c_str();
  const int rc = mallctl("prof.dump", nullptr, nullptr, &file, sizeof file);
  if (rc != 0) {
    *error = "mallctl(\"prof.dump\") to " + path + " failed: " + std::strerror(rc);
    return false;
  }
  return true;
}

}  // namespace leaklab::alloc
