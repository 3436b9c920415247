// jemalloc 5 (Debian: unprefixed mallctl): stats.* after an epoch bump, release with
// arena.<MALLCTL_ARENAS_ALL>.purge.
#include <jemalloc/jemalloc.h>

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

// The arena the process-wide release purges: MALLCTL_ARENAS_ALL, or, for tests only,
// LEAKLAB_TEST_JEMALLOC_PURGE_ARENA (an index past the last arena makes mallctl fail with
// ENOENT: a real failing allocator call, to test how a failed release is reported).
std::string PurgeName() {
  unsigned arena = MALLCTL_ARENAS_ALL;
  if (const char* test = std::getenv("LEAKLAB_TEST_JEMALLOC_PURGE_ARENA"))
    arena = static_cast<unsigned>(std::strtoul(test, nullptr, 10));
  return "arena." + std::to_string(arena) + ".purge";
}

}  // namespace

const char* Name() { return "jemalloc"; }

std::string Version() {
  const char* v = nullptr;
  size_t len = sizeof v;
  if (mallctl("version", &v, &len, nullptr, 0) != 0 || v == nullptr) return "unknown";
  return v;
}

void Stats(StatsOut& out, bool) {
  uint64_t epoch = 1;
  size_t elen = sizeof epoch;
  mallctl("epoch", &epoch, &elen, &epoch, elen);  // refresh the cached stats
  size_t v[sizeof kStats / sizeof kStats[0]] = {};
  bool ok[sizeof kStats / sizeof kStats[0]] = {};
  for (size_t i = 0; i < sizeof kStats / sizeof kStats[0]; ++i) {
    ok[i] = ReadSize(kStats[i], &v[i]);
    if (ok[i]) out.Int(kStats[i], static_cast<int64_t>(v[i]));
    else out.Null(kStats[i]);
  }
  out.IntOrNull("allocated_bytes", ok[0] ? static_cast<int64_t>(v[0]) : -1);
  // resident includes metadata and dirty pages; resident - allocated is what the
  // allocator holds in physical memory beyond live data.
  out.IntOrNull("free_bytes", ok[0] && ok[2] && v[2] >= v[0] ? static_cast<int64_t>(v[2] - v[0]) : -1);
  out.IntOrNull("unmapped_bytes", ok[3] ? static_cast<int64_t>(v[3]) : -1);
  // The effective tuning, so a variant can check that MALLOC_CONF took (jemalloc
  // warns on unknown options but carries on).
  ssize_t decay = 0;
  size_t dlen = sizeof decay;
  if (mallctl("opt.dirty_decay_ms", &decay, &dlen, nullptr, 0) == 0) out.Int("opt.dirty_decay_ms", decay);
  dlen = sizeof decay;
  if (mallctl("opt.muzzy_decay_ms", &decay, &dlen, nullptr, 0) == 0) out.Int("opt.muzzy_decay_ms", decay);
  bool flag = false;
  size_t blen = sizeof flag;
  if (mallctl("background_thread", &flag, &blen, nullptr, 0) == 0) out.Int("opt.background_thread", flag ? 1 : 0);
}

CallResult ReleaseThread() {
  CallResult r;
  r.call = "mallctl(\"thread.tcache.flush\")";
  r.has_rc = true;
  r.rc = mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  r.ok = r.rc == 0;
  return r;
}

CallResult ReleaseProcess() {
  static const std::string name = PurgeName();
  static const std::string call = "mallctl(\"" + name + "\")";
  CallResult r;
  r.call = call.c_str();
  r.has_rc = true;
  r.rc = mallctl(name.c_str(), nullptr, nullptr, nullptr, 0);
  r.ok = r.rc == 0;
  return r;
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
