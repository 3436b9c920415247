#include "admin.h"

#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "admin_command.h"
#include "alloc.h"
#include "connection.h"
#include "net.h"
#include "proc_stats.h"
#include "relay.h"

namespace leaklab {
namespace {

nlohmann::json OrNull(int64_t v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); }

// The shared object that `malloc` resolves to in this process (e.g. "libtcmalloc.so.4"),
// to catch a relay that silently fell back to glibc.
std::string MallocLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&std::malloc), &info) == 0 || info.dli_fname == nullptr)
    return "unknown";
  const char* slash = std::strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

}  // namespace

Admin::Admin(Relay& relay, EventLoop& acceptor, uint32_t max_frame)
    : relay_(relay), acceptor_(acceptor), max_frame_(max_frame), policy_(relay, acceptor) {}

void Admin::Start() {
  listen_fd_ = ListenLoopback(&port_);
  loop_.Add(listen_fd_, EPOLLIN, [this](uint32_t) { AcceptConnections(); });
  thread_ = std::thread(
      [this] { loop_.Run(ReleasePolicy::kCheckMs, [this] { policy_.Check(); }); });
  thread_.detach();  // runs until the process exits
}

void Admin::AcceptConnections() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        std::fprintf(stderr, "relay: admin accept: %s\n", std::strerror(errno));
      return;
    }
    SetNoDelay(fd);
    Connection::Handlers h;
    h.on_frame = [this](Connection& c, Frame&& f) {
      const std::string command(f.payload ? f.payload : "", f.header.length);
      std::free(f.payload);
      const std::string reply = Handle(command);
      char* copy = static_cast<char*>(std::malloc(reply.size() + 1));
      std::memcpy(copy, reply.data(), reply.size());
      c.Send(FrameType::kAdminReply, f.header.id, copy, static_cast<uint32_t>(reply.size()),
             /*owned=*/true);
    };
    // The connection keeps itself alive while registered with the loop.
    auto conn = std::make_shared<Connection>(loop_, fd, max_frame_,
                                             TypeBit(FrameType::kAdmin), std::move(h));
    conn->Start();
  }
}

std::string Admin::Handle(const std::string& command) {
  std::string args;
  switch (ParseAdminCommand(command, &args)) {
    case AdminCommand::kPing: return nlohmann::json{{"ok", true}}.dump();
    case AdminCommand::kStats: return Stats(true);
    case AdminCommand::kStatsCounters: return Stats(false);
    case AdminCommand::kRelease: return Release();
    case AdminCommand::kConfig: return Config();
    case AdminCommand::kSet: return RunSetCommand(relay_.settings(), args);
    case AdminCommand::kProfileDump: return ProfileDump(args);
    case AdminCommand::kUnknown: break;
  }
  return UnknownCommandReply(command);
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
std::string Admin::Stats(bool with_smaps) {
  const int64_t start = NowUs();
  const RelayCounters& c = relay_.counters();
  nlohmann::json j;
  j["ok"] = true;
  j["t_us"] = start;
  j["rss_bytes"] = OrNull(ReadRssBytes());
  if (with_smaps) {
    const SmapsRollup smaps = ReadSmapsRollup();
    j["smaps_rss_bytes"] = OrNull(smaps.rss_bytes);
    j["private_dirty_bytes"] = OrNull(smaps.private_dirty_bytes);
    j["lazyfree_bytes"] = OrNull(smaps.lazyfree_bytes);
  }
  j["live_request_bytes"] = c.live_request_bytes.load();
  j["live_request_count"] = c.live_request_count.load();
  j["transient_threads_started"] = relay_.transient_threads_started();
  j["leaked_request_bytes"] = c.leaked_request_bytes.load();
  j["leaked_request_count"] = c.leaked_request_count.load();
  j["live_log_bytes"] = c.live_log_bytes.load();
  j["live_log_count"] = c.live_log_count.load();
  j["live_response_bytes"] = c.live_response_bytes.load();
  j["live_response_count"] = c.live_response_count.load();
  j["requests_total"] = c.requests_total.load();
  j["responses_total"] = c.responses_total.load();
  j["client_errors_total"] = c.client_errors_total.load();
  j["clients_total"] = c.clients_total.load();
  j["paused_clients"] = c.paused_clients.load();
  j["congested_upstreams"] = c.congested_upstreams.load();
  relay_.AddLimitStats(j);  // clients_open, ..., client_in_flight_max
  policy_.AddStats(j);
  j["allocator"] = {{"name", alloc::Name()},
                    {"version", alloc::Version()},
                    {"release_call", alloc::ReleaseCall()},
                    {"malloc_library", MallocLibrary()}};
  j["alloc"] = alloc::Stats();
  j["stats_us"] = NowUs() - start;
  return j.dump();
}

// Thread-local release on every worker, the acceptor and this thread, then the
// process-wide call (RunRelease, which the release policies run too).
std::string Admin::Release() {
  const ReleaseReport r = RunRelease(relay_, acceptor_);
  nlohmann::json j;
  j["ok"] = true;
  j["rss_before_bytes"] = OrNull(r.rss_before_bytes);
  j["rss_after_bytes"] = OrNull(r.rss_after_bytes);
  j["release_ms"] = r.release_ms;
  j["thread_ms"] = r.thread_ms;
  j["process_ms"] = r.process_ms;
  j["call"] = alloc::ReleaseCall();
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
