#include "probe_host.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "event_loop.h"
#include "json_writer.h"
#include "probe_count.h"
#include "proc_stats.h"

namespace leaklab::probe {
namespace {

double NowMs() { return static_cast<double>(NowUs()) / 1e3; }

// One allocator call of a release: the thread it ran on ("probe": the probe thread's own
// caches; "process": process-wide), the call and its duration. Strings are static or
// owned by the adapter: a release allocates nothing between its two RSS reads.
struct TimedCall {
  const char* thread = "process";
  alloc::CallResult result;
  double ms = 0;
};

TimedCall Timed(const char* thread, alloc::CallResult (alloc::Adapter::*step)(), alloc::Adapter& a) {
  TimedCall c;
  c.thread = thread;
  const double t0 = NowMs();
  c.result = (a.*step)();
  c.ms = NowMs() - t0;
  return c;
}

}  // namespace

ProbeHost::ProbeHost()
    : malloc_object_(alloc::FindMallocObject()),
      allocator_(alloc::Resolve(malloc_object_)),
      other_allocators_(alloc::OtherAllocators(malloc_object_)),
      handler_(*allocator_, *this) {
  for (const std::string& s : other_allocators_) other_allocator_names_.push_back(s.c_str());
  handler_.Start();
}

// Where the allocator was found, and whether the counting layer counts.
void ProbeHost::WriteAllocatorInfo(JsonWriter& j) {
  char status[512];
  j.String("malloc_library_path", malloc_object_.path.c_str());
  j.StringArray("other_allocators", other_allocator_names_.data(), other_allocator_names_.size());
  j.String("counting", CountStatus(status, sizeof status));
}

// In-use bytes come from the allocator where it counts them, else from the counting layer
// when it counts (mimalloc, an unknown allocator): allocated_bytes_source says which.
void ProbeHost::WriteAllocated(JsonWriter& j, int64_t own) {
  const CountState count = ReadCount();
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
}

std::string_view ProbeHost::Release(char* buf, size_t len) {
  const size_t n = WriteRelease(buf, len);
  if (n > 0) return std::string_view(buf, n);
  error_reply_ = ErrorReply("release reply too large");
  return error_reply_;
}

// The relay's release reply shape (native/PROTOCOL.md): calls [{thread, tid, main_thread,
// call, rc, ok, ms}]; the probe reaches only its own thread's caches ("probe") and the
// process-wide call ("process"); a thread step that is the process call itself (mimalloc's
// mi_collect) runs once. Allocation-free (fixed call list, JsonWriter), so the release's
// own bookkeeping is not in rss_after - rss_before, and leaklab_alloc_release can run it.
size_t ProbeHost::WriteRelease(char* buf, size_t len) {
  alloc::Adapter& a = *allocator_;
  TimedCall calls[2];
  int count = 0;
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  const int64_t rss_before = ReadRssBytes();
  const double t0 = NowMs();
  const TimedCall thread = Timed("probe", &alloc::Adapter::ReleaseThread, a);
  if (thread.result.call != nullptr && std::strcmp(thread.result.call, a.ReleaseCall()) != 0) calls[count++] = thread;
  calls[count++] = Timed("process", &alloc::Adapter::ReleaseProcess, a);
  const double t1 = NowMs();
  const int64_t rss_after = ReadRssBytes();
  bool ok = true;
  double thread_ms = 0;
  const TimedCall* failed = nullptr;
  for (int i = 0; i < count; ++i) {
    if (!calls[i].result.ok && failed == nullptr) failed = &calls[i];
    ok = ok && calls[i].result.ok;
    if (std::strcmp(calls[i].thread, "probe") == 0) thread_ms += calls[i].ms;
  }
  char error[512] = "";
  if (failed != nullptr) {
    const alloc::CallResult& f = failed->result;
    if (f.has_rc) std::snprintf(error, sizeof error, "%s failed (returned %lld)", f.call, static_cast<long long>(f.rc));
    else std::snprintf(error, sizeof error, "%s failed", f.call);
  }
  JsonWriter j(buf, len);
  j.Bool("ok", ok);
  if (!ok) j.String("error", error);
  j.IntOrNull("rss_before_bytes", rss_before);
  j.IntOrNull("rss_after_bytes", rss_after);
  j.Double("release_ms", t1 - t0);
  j.Double("thread_ms", thread_ms);
  j.Double("process_ms", t1 - t0 - thread_ms);
  j.String("call", a.ReleaseCall());
  j.BeginArray("calls");
  for (int i = 0; i < count; ++i) {
    const TimedCall& c = calls[i];
    j.BeginObject(nullptr);
    j.String("thread", c.thread);
    j.Int("tid", tid);
    j.Bool("main_thread", tid == getpid());
    j.String("call", c.result.call);
    if (c.result.has_rc) j.Int("rc", c.result.rc);
    else j.Null("rc");
    j.Bool("ok", c.result.ok);
    j.Double("ms", c.ms);
    if (&c == failed) j.String("error", error);
    j.EndObject();
  }
  j.EndArray();
  return j.Finish() ? j.size() : 0;
}

}  // namespace leaklab::probe
