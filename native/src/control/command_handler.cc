#include "control/command_handler.h"
#include "control/ledger_json.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "control/leak_check.h"
#include "event_loop.h"
#include "proc_stats.h"

namespace leaklab {

CommandHandler::CommandHandler(alloc::Adapter& adapter, CommandHost& host)
    : adapter_(adapter),
      host_(host),
      version_(adapter.Version()),
      reply_buf_(new char[kReplyBytes]),
      ledger_(new alloc::Ledger()) {}

void CommandHandler::Start() {
  alloc_calls_.Find();
  WriteStats(true, reply_buf_.get(), kReplyBytes);
  WriteLedger(reply_buf_.get(), kReplyBytes);
}

std::string_view CommandHandler::Handle(const std::string& command) {
  alloc_calls_.Begin();
  std::string args;
  std::string_view reply;
  auto fixed = [&](size_t n, const char* what) {
    if (n > 0) return std::string_view(reply_buf_.get(), n);
    reply_ = ErrorReply(std::string(what) + " reply larger than " + std::to_string(kReplyBytes) + " bytes");
    return std::string_view(reply_);
  };
  const Command c = ParseCommand(command, &args);
  switch (c) {
    case Command::kStats: reply = fixed(WriteStats(true, reply_buf_.get(), kReplyBytes), "stats"); break;
    case Command::kStatsCounters: reply = fixed(WriteStats(false, reply_buf_.get(), kReplyBytes), "stats"); break;
    case Command::kLedger: reply = fixed(WriteLedger(reply_buf_.get(), kReplyBytes), "ledger"); break;
    case Command::kPing: reply = reply_ = "{\"ok\":true}"; break;
    case Command::kRelease: reply = host_.Release(reply_buf_.get(), kReplyBytes); break;
    case Command::kLeakCheck: reply = reply_ = LeakCheckReply(); break;
    case Command::kProfileDump: reply = reply_ = ProfileDump(args); break;
    case Command::kConfig:
    case Command::kSet:
    case Command::kUnknown:
      if (!host_.HostCommand(c, args, &reply_)) reply_ = UnknownCommandReply(host_.Kind(), command, host_.HostCommands());
      reply = reply_;
      break;
  }
  alloc_calls_.End();
  return reply;
}

// RSS, smaps_rollup (full), the host's own figures, the allocator and its counters.
// with smaps: /proc/self/smaps_rollup walks every page table of the process under its mmap
// lock (~5 ms at 450 MiB RSS), so the harness asks for it less often and for
// stats-counters every 100 ms. No malloc/free call: the harness must not be what drives
// the allocator in an idle phase.
size_t CommandHandler::WriteStats(bool full, char* buf, size_t len) {
  const int64_t start = NowUs();
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
  host_.WriteHostStats(j);
  j.BeginObject("allocator");
  j.String("name", adapter_.Name());
  j.String("version", version_.c_str());
  j.String("release_call", adapter_.ReleaseCall());
  j.String("malloc_library", host_.MallocLibrary());
  host_.WriteAllocatorInfo(j);
  j.EndObject();
  j.BeginObject("alloc");
  const int64_t t0 = NowUs();
  const int64_t own = adapter_.Stats(j, full);
  j.Int("alloc_calls_us", NowUs() - t0);
  host_.WriteAllocated(j, own);
  j.EndObject();
  j.Int("stats_us", NowUs() - start);
  alloc_calls_.Write(j, test_allocs, test_frees);
  return j.Finish() ? j.size() : 0;
}


// {"ok":true,"allocator":...,"ledger_us":...,"arenas":[...]|null,...}: where each glibc
// arena's free memory sits (alloc::Adapter::FillLedger); null for the allocators whose
// pools come from stats-counters. Past Ledger::kMaxArenas, one aggregate entry
// ("index":null, "arenas":N) sums the rest and "truncated" is true.
size_t CommandHandler::WriteLedger(char* buf, size_t len) {
  const int64_t t0 = NowUs();
  const bool have = adapter_.FillLedger(ledger_.get());
  const int64_t spent = NowUs() - t0;
  const alloc::Ledger& l = *ledger_;
  JsonWriter j(buf, len);
  j.Bool("ok", true);
  j.String("allocator", adapter_.Name());
  j.Int("ledger_us", spent);
  if (!have) {
    j.Null("arenas");
    return j.Finish() ? j.size() : 0;
  }
  WriteLedgerArenas(j, l);
  return j.Finish() ? j.size() : 0;
}

// "profile-dump <path>": the allocator's heap profile to <path> (absolute: the host's
// working directory is not the harness's).
std::string CommandHandler::ProfileDump(const std::string& path) {
  if (path.empty() || path[0] != '/') return ErrorReply("usage: profile-dump <absolute path>");
  const int64_t t0 = NowUs();
  const alloc::ProfileResult r = adapter_.ProfileDump(path);
  nlohmann::ordered_json j;
  j["ok"] = r.ok;
  if (r.ok) j["path"] = path;
  else j["error"] = r.error;
  if (host_.DescribeProfiles()) {
    if (r.ok && r.format != nullptr) j["format"] = r.format;
    if (r.ok && r.source != nullptr) j["source"] = r.source;
    if (r.ok) j["ms"] = static_cast<double>(NowUs() - t0) / 1e3;
    j["allocator"] = adapter_.Name();
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace leaklab
