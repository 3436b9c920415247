#include "release_policy.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>

#include "alloc/adapter.h"
#include "proc_stats.h"
#include "relay.h"

namespace leaklab {
namespace {

double Ms(int64_t from_us, int64_t to_us) { return static_cast<double>(to_us - from_us) / 1e3; }

pid_t ThreadId() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Runs `call` on the calling thread and records it (with the thread) as one step.
ReleaseStep Step(const char* thread, int worker, alloc::CallResult (alloc::Adapter::*call)()) {
  ReleaseStep s;
  s.thread = thread;
  s.worker = worker;
  s.tid = ThreadId();
  s.main_thread = s.tid == getpid();
  const int64_t t0 = NowUs();
  s.result = (alloc::Linked().*call)();
  s.ms = Ms(t0, NowUs());
  return s;
}

// Runs `fn` on `loop`'s thread and waits for it.
void RunOn(EventLoop& loop, const std::function<void()>& fn) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  loop.Post([&] {
    fn();
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
}

// Keeps only free_bytes of an allocator's stats (-1: null or absent).
class FreeBytesOut : public StatsOut {
 public:
  int64_t free_bytes = -1;
  void Int(const char* key, int64_t value) override {
    if (std::strcmp(key, "free_bytes") == 0) free_bytes = value;
  }
  void Null(const char*) override {}
  void Bool(const char*, bool) override {}
  void Double(const char*, double) override {}
};

}  // namespace

ReleaseReport RunRelease(Relay& relay, EventLoop& acceptor) {
  ReleaseReport r;
  // The release's own bookkeeping is allocated before the first RSS read, so that
  // rss_after - rss_before is the allocator's doing alone (under mimalloc a fresh page of
  // these made RSS rise 8 KiB during a release).
  std::vector<ReleaseStep> steps(static_cast<size_t>(relay.options().threads));
  steps.reserve(steps.size() + 3);
  r.steps.reserve(steps.size() + 3);
  r.rss_before_bytes = ReadRssBytes();
  r.transient_threads_started = relay.transient_threads_started();
  const int64_t t0 = NowUs();
  relay.RunOnEveryWorker([&](int index) {
    steps[static_cast<size_t>(index)] = Step("worker", index, &alloc::Adapter::ReleaseThread);
  });
  // Test only: LEAKLAB_TEST_RELEASE_SKIP_ACCEPTOR leaves the acceptor (the main thread)
  // out, to measure what its step does (npm run bench -- reach; docs/native.md).
  static const bool skip_acceptor = std::getenv("LEAKLAB_TEST_RELEASE_SKIP_ACCEPTOR") != nullptr;
  ReleaseStep on_acceptor;
  if (!skip_acceptor)
    RunOn(acceptor, [&] { on_acceptor = Step("acceptor", -1, &alloc::Adapter::ReleaseThread); });
  const ReleaseStep on_admin = Step("admin", -1, &alloc::Adapter::ReleaseThread);
  const int64_t t1 = NowUs();
  const ReleaseStep process = Step("process", -1, &alloc::Adapter::ReleaseProcess);
  const int64_t t2 = NowUs();
  r.rss_after_bytes = ReadRssBytes();
  r.release_ms = Ms(t0, t2);
  r.thread_ms = Ms(t0, t1);
  r.process_ms = Ms(t1, t2);
  steps.push_back(on_acceptor);
  steps.push_back(on_admin);
  steps.push_back(process);
  for (const ReleaseStep& s : steps) {
    if (s.result.call == nullptr) continue;  // nothing to call on this thread (glibc)
    r.steps.push_back(s);
    if (!s.result.ok) r.ok = false;
  }
  return r;
}

void WriteReleaseReport(const ReleaseReport& r, nlohmann::ordered_json& j) {
  auto or_null = [](int64_t v) { return v < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); };
  j["rss_before_bytes"] = or_null(r.rss_before_bytes);
  j["rss_after_bytes"] = or_null(r.rss_after_bytes);
  j["release_ms"] = r.release_ms;
  j["thread_ms"] = r.thread_ms;
  j["process_ms"] = r.process_ms;
  j["call"] = alloc::Linked().ReleaseCall();
  nlohmann::ordered_json calls = nlohmann::ordered_json::array();
  std::string errors;
  for (const ReleaseStep& s : r.steps) {
    nlohmann::ordered_json c;
    c["thread"] = s.thread;
    if (s.worker >= 0) c["worker"] = s.worker;
    c["tid"] = s.tid;
    c["main_thread"] = s.main_thread;
    c["call"] = s.result.call;
    c["rc"] = s.result.has_rc ? nlohmann::ordered_json(s.result.rc) : nlohmann::ordered_json(nullptr);
    c["ok"] = s.result.ok;
    c["ms"] = std::round(s.ms * 1000) / 1000;  // 3 decimals, as the probe's
    if (!s.result.ok) {
      // The only calls that can fail (jemalloc's mallctl) return an errno value.
      const std::string where = std::strcmp(s.thread, "process") == 0
                                    ? "in the process-wide step"
                                    : std::string("on the ") + s.thread + " thread";
      const std::string what = std::string(s.result.call) + " returned " +
                               std::to_string(s.result.rc) + " (" + std::strerror(s.result.rc) +
                               ") " + where;
      c["error"] = what;
      if (errors.empty()) errors = what;
    }
    calls.push_back(std::move(c));
  }
  j["calls"] = std::move(calls);
  j["transient_threads_started"] = r.transient_threads_started;
  j["transient_threads_reached"] = 0;
  if (!r.ok) j["error"] = errors;
}

ReleasePolicy::ReleasePolicy(Relay& relay, EventLoop& acceptor)
    : relay_(relay), acceptor_(acceptor), baseline_rss_(std::max<int64_t>(0, ReadRssBytes())) {}

// When several policies are due at the same check, one release serves them all; it is
// counted once, under the first of periodic, idle, free-over.
void ReleasePolicy::Check() {
  const RelaySettings& s = relay_.settings();
  const int64_t now = NowMs();

  // Periodic: every release_every_ms, counted from when the setting took its value.
  const int64_t every = s.release_every_ms.load();
  if (every != every_ms_) {
    every_ms_ = every;
    next_periodic_ms_ = every > 0 ? now + every : 0;
  }
  const bool periodic_due = every > 0 && now >= next_periodic_ms_;

  // Idle: no request read for release_idle_ms (seen as requests_total standing still, to
  // cost the workers nothing); once per idle period.
  const int64_t requests = relay_.counters().requests_total.load();
  if (requests != last_requests_) {
    last_requests_ = requests;
    last_request_ms_ = now;
    idle_armed_ = true;
  }
  const int64_t idle = s.release_idle_ms.load();
  const bool idle_due = idle > 0 && idle_armed_ && now - last_request_ms_ >= idle;

  // Free-over: more than release_free_over free-but-resident bytes, not counting what
  // the last free-over release left behind (free_floor_: the lowest estimate since). A
  // release that cannot get below the threshold (fragmentation, or a threshold under the
  // allocator's irreducible residue) would otherwise run again at every check.
  const int64_t over = s.release_free_over.load();
  free_resident_bytes_ = over > 0 ? FreeResidentBytes() : -1;
  if (free_resident_bytes_ >= 0) free_floor_ = std::min(free_floor_, free_resident_bytes_);
  const bool free_due = free_resident_bytes_ >= 0 && free_resident_bytes_ - free_floor_ > over;

  if (periodic_due) Release("periodic", &periodic_);
  else if (idle_due) Release("idle", &idle_);
  else if (free_due) Release("free-over", &free_over_);
  else return;
  if (periodic_due) next_periodic_ms_ = now + every;
  if (idle_due) idle_armed_ = false;
  if (over > 0) free_floor_ = std::max<int64_t>(0, FreeResidentBytes());
}

// Free-but-resident bytes, estimated as min(allocator free_bytes, RSS - baseline RSS -
// live bytes), where the baseline is the RSS at start (code, libraries, stacks) and live
// bytes are the relay's own count (requests in flight and leaked, responses, log
// records). Both are upper bounds: the second also counts allocator metadata and stack
// growth; free_bytes can count free memory that is no longer resident (glibc's fordblks
// keeps the chunks malloc_trim has madvise()d away). mimalloc has no free_bytes (null),
// so there it is the RSS figure alone. -1 if RSS is unreadable.
int64_t ReleasePolicy::FreeResidentBytes() {
  const int64_t rss = ReadRssBytes();
  if (rss < 0) return -1;
  const RelayCounters& c = relay_.counters();
  const int64_t live = c.live_request_bytes.load() + c.leaked_request_bytes.load() +
                       c.live_response_bytes.load() + c.live_log_bytes.load();
  const int64_t rss_minus_live = std::max<int64_t>(0, rss - baseline_rss_ - live);
  if (free_bytes_known_ == 0) return rss_minus_live;
  FreeBytesOut out;
  alloc::Linked().Stats(out, false);
  const int64_t free = out.free_bytes;
  if (free < 0) {
    free_bytes_known_ = 0;  // fixed at link time: do not ask again
    return rss_minus_live;
  }
  free_bytes_known_ = 1;
  return std::min(free, rss_minus_live);
}

void ReleasePolicy::Release(const char* reason, int64_t* count) {
  const ReleaseReport r = RunRelease(relay_, acceptor_);
  if (!r.ok) ++failures_;
  ++releases_;
  ++*count;
  ms_total_ += r.release_ms;
  ms_max_ = std::max(ms_max_, r.release_ms);
  last_ = reason;
}

void ReleasePolicy::AddStats(JsonWriter& j) const {
  j.Int("policy_releases", releases_);
  j.Int("policy_releases_periodic", periodic_);
  j.Int("policy_releases_idle", idle_);
  j.Int("policy_releases_free_over", free_over_);
  j.Int("policy_release_failures", failures_);
  j.Double("policy_release_ms_total", ms_total_);
  j.Double("policy_release_ms_max", ms_max_);
  j.String("last_policy_release", last_);
  j.IntOrNull("policy_free_resident_bytes", free_resident_bytes_);
}

}  // namespace leaklab
