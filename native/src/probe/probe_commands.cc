#include "probe_commands.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "control/leak_check.h"
#include "json_writer.h"
#include "probe_count.h"
#include "proc_stats.h"

namespace leaklab::probe {
namespace {

nlohmann::json OrNull(int64_t v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); }

int64_t NowUsInt() { return static_cast<int64_t>(NowMsF() * 1000); }

double Round3(double ms) { return std::round(ms * 1000) / 1000; }

std::string ErrorReply(const std::string& message) {
  return nlohmann::json{{"ok", false}, {"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ProbeCommands::ProbeCommands()
    : malloc_object_(FindMallocObject()),
      allocator_(DetectAllocator(malloc_object_)),
      version_(allocator_->Version()),
      other_allocators_(OtherAllocators(malloc_object_)),
      stats_reply_(new char[kStatsReplyBytes]) {
  for (const std::string& s : other_allocators_) other_allocator_names_.push_back(s.c_str());
  alloc_calls_.Find();
  // One reply before any command: whatever the allocator sets up on first use (jemalloc's
  // ctl tables, a FILE) is made now, not while polled.
  WriteStats(true, stats_reply_.get(), kStatsReplyBytes);
}

std::string_view ProbeCommands::Handle(std::string_view command) {
  alloc_calls_.Begin();
  std::string_view reply;
  if (command == "stats" || command == "stats-counters") {
    const size_t n = WriteStats(command == "stats", stats_reply_.get(), kStatsReplyBytes);
    if (n > 0) reply = std::string_view(stats_reply_.get(), n);
    else reply = reply_ = ErrorReply("stats reply larger than " + std::to_string(kStatsReplyBytes) + " bytes");
  } else if (command == "ping") {
    reply = reply_ = "{\"ok\":true}";
  } else if (command == "release") {
    reply = reply_ = Release();
  } else if (command == "leak-check") {
    reply = reply_ = LeakCheckReply();
  } else if (command == "profile-dump" || command.rfind("profile-dump ", 0) == 0) {
    const size_t begin = command.find_first_not_of(' ', 12);
    reply = reply_ = begin == std::string_view::npos ? ErrorReply("usage: profile-dump <path>")
                                                     : ProfileDump(std::string(command.substr(begin)));
  } else {
    reply = reply_ = ErrorReply("unknown probe command '" + std::string(command.substr(0, 64)) +
                                "'; valid: ping, stats, stats-counters, release, leak-check, profile-dump <path>");
  }
  alloc_calls_.End();
  return reply;
}

// As the relay's Admin::Stats, without the relay's own request counters (a foreign
// process has none): RSS, smaps_rollup (full), the allocator and its counters, and the
// counting layer's figure (probe_count.h). In-use bytes come from the allocator where it
// counts them, else from the counting layer when it counts (mimalloc, an unknown
// allocator): alloc.allocated_bytes_source says which.
size_t ProbeCommands::WriteStats(bool full, char* buf, size_t len) {
  const int64_t start = NowUsInt();
  uint64_t test_frees = 0;
  const uint64_t test_allocs = alloc_calls_.Now(&test_frees);
  JsonWriter j(buf, len);
  j.Bool("ok", true);
  j.Int("t_us", start);
  j.Int("pid", static_cast<int64_t>(getpid()));
  j.IntOrNull("rss_bytes", ReadRssBytes());
  if (full) {
    const SmapsRollup smaps = ReadSmapsRollup();
    j.IntOrNull("smaps_rss_bytes", smaps.rss_bytes);
    j.IntOrNull("private_dirty_bytes", smaps.private_dirty_bytes);
    j.IntOrNull("lazyfree_bytes", smaps.lazyfree_bytes);
  }
  const CountState count = ReadCount();
  char status[512];
  j.BeginObject("allocator");
  j.String("name", allocator_->Name());
  j.String("version", version_.c_str());
  j.String("release_call", allocator_->ReleaseCall());
  j.String("malloc_library", malloc_object_.name.c_str());
  j.String("malloc_library_path", malloc_object_.path.c_str());
  j.StringArray("other_allocators", other_allocator_names_.data(), other_allocator_names_.size());
  j.String("counting", CountStatus(status, sizeof status));
  j.EndObject();
  j.BeginObject("alloc");
  const int64_t t0 = NowUsInt();
  const int64_t own = allocator_->Stats(j, full);
  j.Int("alloc_calls_us", NowUsInt() - t0);
  if (own >= 0) {
    j.Int("allocated_bytes", own);
    j.String("allocated_bytes_source", "allocator");
  } else if (count.counting) {
    j.Int("allocated_bytes", count.in_use_bytes);
    j.String("allocated_bytes_source", "probe-count");
  } else {
    j.Null("allocated_bytes");
    j.Null("allocated_bytes_source");
  }
  if (count.counting) j.Int("counted_in_use_bytes", count.in_use_bytes);
  else j.Null("counted_in_use_bytes");
  j.EndObject();
  j.Int("stats_us", NowUsInt() - start);
  alloc_calls_.Write(j, test_allocs, test_frees);
  return j.Finish() ? j.size() : 0;
}

// The relay's release reply shape (native/PROTOCOL.md): calls [{thread, tid, main_thread,
// call, rc, ok, ms}]; the probe reaches only its own thread's caches ("probe") and the
// process-wide call ("process"). The list is reserved before the first RSS read, so the
// release's own bookkeeping is not in rss_after - rss_before.
std::string ProbeCommands::Release() {
  std::vector<CallResult> calls;
  calls.reserve(8);
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  const int64_t rss_before = ReadRssBytes();
  const double t0 = NowMsF();
  allocator_->Release(&calls);
  const double t1 = NowMsF();
  const int64_t rss_after = ReadRssBytes();
  nlohmann::ordered_json j;
  bool ok = true;
  double thread_ms = 0;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  std::string error;
  for (const CallResult& c : calls) {
    ok = ok && c.ok;
    if (std::strcmp(c.thread, "probe") == 0) thread_ms += c.ms;
    nlohmann::ordered_json e;
    e["thread"] = c.thread;
    e["tid"] = tid;
    e["main_thread"] = tid == getpid();
    e["call"] = c.call;
    e["rc"] = c.has_rc ? nlohmann::ordered_json(c.rc) : nlohmann::ordered_json(nullptr);
    e["ok"] = c.ok;
    e["ms"] = Round3(c.ms);
    if (!c.ok) {
      e["error"] = std::string(c.call) + " failed" + (c.has_rc ? " (returned " + std::to_string(c.rc) + ")" : "");
      if (error.empty()) error = e["error"];
    }
    list.push_back(std::move(e));
  }
  j["ok"] = ok;
  if (!ok) j["error"] = error;
  j["rss_before_bytes"] = OrNull(rss_before);
  j["rss_after_bytes"] = OrNull(rss_after);
  j["release_ms"] = Round3(t1 - t0);
  j["thread_ms"] = Round3(thread_ms);
  j["process_ms"] = Round3(t1 - t0 - thread_ms);
  j["call"] = allocator_->ReleaseCall();
  j["calls"] = std::move(list);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ProbeCommands::ProfileDump(const std::string& path) {
  nlohmann::json j = allocator_->ProfileDump(path);
  j["allocator"] = allocator_->Name();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace leaklab::probe
