#include "admin.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "admin_command.h"
#include "control/alloc_calls_hook.h"
#include "control/leak_check.h"
#include "alloc.h"
#include "connection.h"
#include "json_writer.h"
#include "net.h"
#include "proc_stats.h"
#include "relay.h"

namespace leaklab {
namespace {

// The shared object that `malloc` resolves to in this process (e.g. "libtcmalloc.so.4"),
// to catch a relay that silently fell back to glibc.
std::string MallocLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&std::malloc), &info) == 0 || info.dli_fname == nullptr)
    return "unknown";
  const char* slash = std::strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

// One per admin connection, made when it is accepted: a reply is copied here and sent
// from here (not owned) when nothing else is queued on the connection, so answering the
// harness's 100 ms counters poll allocates nothing in Admin. A client that pipelines
// commands gets malloc()ed copies for the replies queued behind the first.
struct ReplyBuffer {
  char bytes[Admin::kStatsReplyBytes];
};

}  // namespace

Admin::Admin(Relay& relay, EventLoop& acceptor, uint32_t max_frame)
    : relay_(relay),
      acceptor_(acceptor),
      max_frame_(max_frame),
      policy_(relay, acceptor),
      version_(alloc::Version()),
      malloc_library_(MallocLibrary()),
      stats_reply_(new char[kStatsReplyBytes]) {}

void Admin::Start() {
  alloc_calls_.Find();
  listen_fd_ = ListenLoopback(&port_);
  listener_ = std::make_unique<Acceptor>(loop_, listen_fd_, "relay admin", [this](int fd) { OnAccept(fd); });
  listener_->Start();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "admin");  // seen in /proc/<pid>/task/*/comm
    // One stats reply before any command: whatever the allocators set up on first use
    // (a FILE, a probe allocation, jemalloc's ctl tables) is made now, not while polled.
    Stats(true);
    loop_.Run(ReleasePolicy::kCheckMs, [this] { policy_.Check(); });
  });
  thread_.detach();  // runs until the process exits
}

// Loop thread: one new admin client.
void Admin::OnAccept(int fd) {
  SetNoDelay(fd);
  Connection::Handlers h;
  auto buffer = std::make_shared<ReplyBuffer>();  // lives as long as the handlers
  h.on_frame = [this, buffer](Connection& c, Frame&& f) {
    // Every command name fits std::string's inline buffer: no allocation for it.
    const std::string command(f.payload ? f.payload : "", f.header.length);
    std::free(f.payload);
    alloc_calls_.Begin();
    const std::string_view reply = Handle(command);
    alloc_calls_.End();
    const uint32_t size = static_cast<uint32_t>(reply.size());
    if (c.output_bytes() == 0 && reply.size() <= sizeof buffer->bytes) {
      std::memcpy(buffer->bytes, reply.data(), reply.size());
      c.Send(FrameType::kAdminReply, f.header.id, buffer->bytes, size, /*owned=*/false);
    } else {
      char* copy = static_cast<char*>(std::malloc(reply.size() + 1));
      std::memcpy(copy, reply.data(), reply.size());
      c.Send(FrameType::kAdminReply, f.header.id, copy, size, /*owned=*/true);
    }
  };
  h.on_close = [this](Connection&, const std::string&) { listener_->DescriptorFreed(); };
  // The connection keeps itself alive while registered with the loop.
  auto conn = std::make_shared<Connection>(loop_, fd, max_frame_,
                                           TypeBit(FrameType::kAdmin), std::move(h));
  conn->Start();
}

std::string_view Admin::Handle(const std::string& command) {
  std::string args;
  switch (ParseAdminCommand(command, &args)) {
    case AdminCommand::kStats: return Stats(true);
    case AdminCommand::kStatsCounters: return Stats(false);
    case AdminCommand::kPing: reply_ = nlohmann::json{{"ok", true}}.dump(); break;
    case AdminCommand::kRelease: reply_ = Release(); break;
    case AdminCommand::kConfig: reply_ = Config(); break;
    case AdminCommand::kSet: reply_ = RunSetCommand(relay_.settings(), args); break;
    case AdminCommand::kProfileDump: reply_ = ProfileDump(args); break;
    case AdminCommand::kLeakCheck: reply_ = LeakCheckReply(); break;
    case AdminCommand::kUnknown: reply_ = UnknownCommandReply(command); break;
  }
  return reply_;
}

// {"ok":true, "leak-rate":..., ... every setting by its key, then the fixed options}.
std::string Admin::Config() {
  const RelayOptions& o = relay_.options();
  nlohmann::ordered_json j;
  j["ok"] = true;
  relay_.settings().AddTo(j);
  j["threads"] = o.threads;
  j["upstream_conns"] = relay_.upstream_connection_count();
  j["max_frame"] = o.max_frame;
  j["high_water"] = o.high_water;
  return j.dump();
}

// with_smaps: /proc/self/smaps_rollup walks every page table of the process under its
// mmap lock: ~5 ms at 450 MiB RSS, so the harness samples it from outside, less often, and
// asks for "stats-counters" (everything else) every 100 ms.
// Written into stats_reply_ with no malloc/free call (JsonWriter, alloc::Stats): the
// harness must not be what drives the allocator in an idle phase.
std::string_view Admin::Stats(bool with_smaps) {
  const int64_t start = NowUs();
  uint64_t test_frees = 0;
  const uint64_t test_allocs = alloc_calls_.Now(&test_frees);
  const RelayCounters& c = relay_.counters();
  JsonWriter j(stats_reply_.get(), kStatsReplyBytes);
  j.Bool("ok", true);
  j.Int("t_us", start);
  j.Int("pid", static_cast<int64_t>(getpid()));
  j.IntOrNull("rss_bytes", ReadRssBytes());
  if (with_smaps) {
    const SmapsRollup smaps = ReadSmapsRollup();
    j.IntOrNull("smaps_rss_bytes", smaps.rss_bytes);
    j.IntOrNull("private_dirty_bytes", smaps.private_dirty_bytes);
    j.IntOrNull("lazyfree_bytes", smaps.lazyfree_bytes);
  }
  j.Int("live_request_bytes", c.live_request_bytes.load());
  j.Int("live_request_count", c.live_request_count.load());
  j.Int("transient_threads_started", relay_.transient_threads_started());
  j.Int("leaked_request_bytes", c.leaked_request_bytes.load());
  j.Int("leaked_request_count", c.leaked_request_count.load());
  j.Int("live_log_bytes", c.live_log_bytes.load());
  j.Int("live_log_count", c.live_log_count.load());
  j.Int("live_response_bytes", c.live_response_bytes.load());
  j.Int("live_response_count", c.live_response_count.load());
  j.Int("requests_total", c.requests_total.load());
  j.Int("responses_total", c.responses_total.load());
  j.Int("client_errors_total", c.client_errors_total.load());
  j.Int("clients_total", c.clients_total.load());
  j.Int("paused_clients", c.paused_clients.load());
  j.Int("congested_upstreams", c.congested_upstreams.load());
  relay_.AddLimitStats(j);  // clients_open, ..., client_in_flight_max
  policy_.AddStats(j);
  j.BeginObject("allocator");
  j.String("name", alloc::Name());
  j.String("version", version_.c_str());
  j.String("release_call", alloc::ReleaseCall());
  j.String("malloc_library", malloc_library_.c_str());
  j.EndObject();
  j.BeginObject("alloc");
  alloc::Stats(j, with_smaps);
  j.EndObject();
  j.Int("stats_us", NowUs() - start);
  alloc_calls_.Write(j, test_allocs, test_frees);
  if (!j.Finish()) {
    reply_ = AdminErrorReply("stats reply larger than " + std::to_string(kStatsReplyBytes) +
                             " bytes (Admin::kStatsReplyBytes)");
    return reply_;
  }
  return std::string_view(j.data(), j.size());
}

// Thread-local release on every worker, the acceptor and this thread, then the
// process-wide call (RunRelease, which the release policies run too). ok:false, with
// the failing call in "error", when an allocator call reported a failure.
std::string Admin::Release() {
  const ReleaseReport r = RunRelease(relay_, acceptor_);
  nlohmann::ordered_json j;
  j["ok"] = r.ok;
  WriteReleaseReport(r, j);
  return j.dump();
}

// "profile-dump <path>": the allocator's heap profile to <path> (an absolute path; the
// relay's working directory is not the harness's). {"ok":true,"path":...} or an error.
std::string Admin::ProfileDump(const std::string& path) {
  if (path.empty() || path[0] != '/')
    return AdminErrorReply("usage: profile-dump <absolute path>");
  std::string error;
  if (!alloc::ProfileDump(path, &error)) return AdminErrorReply(error);
  nlohmann::ordered_json j;
  j["ok"] = true;
  j["path"] = path;
  return j.dump();
}

}  // namespace leaklab
