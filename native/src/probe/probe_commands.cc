#include "probe_commands.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "proc_stats.h"

namespace leaklab::probe {
namespace {

nlohmann::json OrNull(int64_t v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); }

int64_t NowUsInt() { return static_cast<int64_t>(NowMsF() * 1000); }

std::string ErrorReply(const std::string& message) {
  return nlohmann::json{{"ok", false}, {"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ProbeCommands::ProbeCommands()
    : malloc_object_(FindMallocObject()), allocator_(DetectAllocator(malloc_object_)) {}

std::string ProbeCommands::Handle(const std::string& command) {
  if (command == "ping") return nlohmann::json{{"ok", true}}.dump();
  if (command == "stats") return Stats(true);
  if (command == "stats-counters") return Stats(false);
  if (command == "release") return Release();
  if (command == "profile-dump" || command.rfind("profile-dump ", 0) == 0) {
    const size_t begin = command.find_first_not_of(' ', 12);
    if (begin == std::string::npos) return ErrorReply("usage: profile-dump <path>");
    return ProfileDump(command.substr(begin));
  }
  return ErrorReply("unknown probe command '" + command +
                    "'; valid: ping, stats, stats-counters, release, profile-dump <path>");
}

// As the relay's Admin::Stats, without the relay's own request counters (a foreign
// process has none): RSS, smaps_rollup (with_smaps), the allocator and its counters.
std::string ProbeCommands::Stats(bool with_smaps) {
  const int64_t start = NowUsInt();
  nlohmann::json j;
  j["ok"] = true;
  j["t_us"] = start;
  j["pid"] = static_cast<int64_t>(getpid());
  j["rss_bytes"] = OrNull(ReadRssBytes());
  if (with_smaps) {
    const SmapsRollup smaps = ReadSmapsRollup();
    j["smaps_rss_bytes"] = OrNull(smaps.rss_bytes);
    j["private_dirty_bytes"] = OrNull(smaps.private_dirty_bytes);
    j["lazyfree_bytes"] = OrNull(smaps.lazyfree_bytes);
  }
  j["allocator"] = {{"name", allocator_->Name()},
                    {"version", allocator_->Version()},
                    {"release_call", allocator_->ReleaseCall()},
                    {"malloc_library", malloc_object_.name},
                    {"malloc_library_path", malloc_object_.path},
                    {"other_allocators", OtherAllocators(malloc_object_)}};
  j["alloc"] = allocator_->Stats();
  j["stats_us"] = NowUsInt() - start;
  return j.dump();
}

// As the relay's release reply; the probe cannot reach the host's threads, so thread_ms
// covers only the probe thread's own caches. calls: every allocator call, its return
// value and duration; ok false when one of them failed.
std::string ProbeCommands::Release() {
  nlohmann::json j;
  const int64_t rss_before = ReadRssBytes();
  const double t0 = NowMsF();
  const std::vector<CallResult> calls = allocator_->Release();
  const double t1 = NowMsF();
  const int64_t rss_after = ReadRssBytes();
  bool ok = true;
  double thread_ms = 0;
  nlohmann::json list = nlohmann::json::array();
  for (const CallResult& c : calls) {
    ok = ok && c.ok;
    if (c.name.find("[probe thread]") != std::string::npos) thread_ms += c.ms;
    list.push_back({{"name", c.name}, {"rc", c.rc}, {"ms", c.ms}});
  }
  j["ok"] = ok;
  if (!ok) {
    for (const CallResult& c : calls)
      if (!c.ok) j["error"] = c.name + " failed" + (c.rc.is_null() ? "" : " (returned " + c.rc.dump() + ")");
  }
  j["rss_before_bytes"] = OrNull(rss_before);
  j["rss_after_bytes"] = OrNull(rss_after);
  j["release_ms"] = t1 - t0;
  j["thread_ms"] = thread_ms;
  j["process_ms"] = t1 - t0 - thread_ms;
  j["call"] = allocator_->ReleaseCall();
  j["calls"] = list;
  return j.dump();
}

std::string ProbeCommands::ProfileDump(const std::string& path) {
  nlohmann::json j = allocator_->ProfileDump(path);
  j["allocator"] = allocator_->Name();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace leaklab::probe
