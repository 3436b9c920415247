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
#include "alloc/adapter.h"
#include "connection.h"
#include "json_writer.h"
#include "net.h"
#include "proc_stats.h"
#include "relay.h"

namespace leaklab {
namespace {

// The shared object that `malloc` resolves to in this process (e.g. "libtcmalloc.so.4"),
// to catch a relay that silently fell back to glibc.
std::string ServingLibrary() {
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
      malloc_library_(ServingLibrary()),
      handler_(alloc::Linked(), *this) {}

void Admin::Start() {
  listen_fd_ = ListenLoopback(&port_);
  listener_ = std::make_unique<Acceptor>(loop_, listen_fd_, "relay admin", [this](int fd) { OnAccept(fd); });
  listener_->Start();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "admin");  // seen in /proc/<pid>/task/*/comm
    handler_.Start();  // the allocator's first-use setup now, not while polled
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
    const std::string_view reply = Handle(command);
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

bool Admin::HostCommand(Command command, const std::string& args, std::string* reply) {
  if (command == Command::kConfig) *reply = Config();
  else if (command == Command::kSet) *reply = RunSetCommand(relay_.settings(), args);
  else return false;
  return true;
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

// The relay's own figures in a stats reply (after rss): its request counters, limits and
// release policies. No malloc/free call (the 100 ms counters poll).
void Admin::WriteHostStats(JsonWriter& j) {
  const RelayCounters& c = relay_.counters();
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
}

// Thread-local release on every worker, the acceptor and this thread, then the
// process-wide call (RunRelease, which the release policies run too). ok:false, with
// the failing call in "error", when an allocator call reported a failure.
std::string_view Admin::Release(char*, size_t) {
  const ReleaseReport r = RunRelease(relay_, acceptor_);
  nlohmann::ordered_json j;
  j["ok"] = r.ok;
  WriteReleaseReport(r, j);
  release_reply_ = j.dump();
  return release_reply_;
}

}  // namespace leaklab
