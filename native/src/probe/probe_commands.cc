#include "probe_commands.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "control/leak_check.h"
#include "json_writer.h"
#include "probe_count.h"
#include "proc_stats.h"

namespace leaklab::probe {
namespace {

int64_t NowUsInt() { return static_cast<int64_t>(NowMsF() * 1000); }

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
    const size_t n = WriteRelease(stats_reply_.get(), kStatsReplyBytes);
    reply = n > 0 ? std::string_view(stats_reply_.get(), n) : std::string_view(reply_ = ErrorReply("release reply too large"));
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
// process-wide call ("process"). Allocation-free (a fixed call list, JsonWriter), so the
// release's own bookkeeping is not in rss_after - rss_before, and the C entry point
// leaklab_alloc_release can run it. The reply's size, or 0 when it does not fit.
size_t ProbeCommands::WriteRelease(char* buf, size_t len) {
  CallList calls;
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  const int64_t rss_before = ReadRssBytes();
  const double t0 = NowMsF();
  allocator_->Release(&calls);
  const double t1 = NowMsF();
  const int64_t rss_after = ReadRssBytes();
  bool ok = true;
  double thread_ms = 0;
  const CallResult* failed = nullptr;
  for (int i = 0; i < calls.count; ++i) {
    const CallResult& c = calls.items[i];
    if (!c.ok && failed == nullptr) failed = &c;
    ok = ok && c.ok;
    if (std::strcmp(c.thread, "probe") == 0) thread_ms += c.ms;
  }
  char error[512] = "";
  if (failed != nullptr) {
    if (failed->has_rc) std::snprintf(error, sizeof error, "%s failed (returned %lld)", failed->call, static_cast<long long>(failed->rc));
    else std::snprintf(error, sizeof error, "%s failed", failed->call);
  }
  JsonWriter j(buf, len);
  j.Bool("ok", ok);
  if (!ok) j.String("error", error);
  j.IntOrNull("rss_before_bytes", rss_before);
  j.IntOrNull("rss_after_bytes", rss_after);
  j.Double("release_ms", t1 - t0);
  j.Double("thread_ms", thread_ms);
  j.Double("process_ms", t1 - t0 - thread_ms);
  j.String("call", allocator_->ReleaseCall());
  j.BeginArray("calls");
  for (int i = 0; i < calls.count; ++i) {
    const CallResult& c = calls.items[i];
    j.BeginObject(nullptr);
    j.String("thread", c.thread);
    j.Int("tid", tid);
    j.Bool("main_thread", tid == getpid());
    j.String("call", c.call);
    if (c.has_rc) j.Int("rc", c.rc);
    else j.Null("rc");
    j.Bool("ok", c.ok);
    j.Double("ms", c.ms);
    if (!c.ok && &c == failed) j.String("error", error);
    j.EndObject();
  }
  j.EndArray();
  return j.Finish() ? j.size() : 0;
}

std::string ProbeCommands::ProfileDump(const std::string& path) {
  nlohmann::json j = allocator_->ProfileDump(path);
  j["allocator"] = allocator_->Name();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace leaklab::probe
