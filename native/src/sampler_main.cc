// sampler: the harness's observer of one process, outside the harness's event loop. It
// reads the process's RSS from /proc/<pid>/statm every --interval-ms on an absolute clock
// (5 times less often while RSS holds still: within 256 KiB for 10 samples);
// with --admin-port it asks the relay's (or a probe's) admin port for `stats-counters`
// every --stats-ms; with --smaps-ms it reads /proc/<pid>/smaps_rollup on a thread of its
// own (one read walks every page table of the process: ~5-20 ms at a 450 MiB peak, which
// would delay the 10 ms statm samples), and less often while reads are slow (at most
// 0.2% of a core). Everything is printed in one write per --batch-ms:
//   {"event":"ready","pid":<sampler pid>,"nice":N}
//   {"type":"rss","samples":[[t_us, rss_bytes], ...]}
//   {"type":"stats","t_us":T,"reply":{...the admin reply, verbatim...}}
//   {"type":"smaps","t_us":T,"rss":B,"private_dirty":B,"lazyfree":B}
//   {"type":"admin-error","t_us":T,"message":"..."}   (once; polling stops)
// t_us is CLOCK_MONOTONIC in microseconds (the clock Node's process.hrtime uses); a stats
// sample is stamped when its request was sent. One write per batch means the harness
// wakes a few times a second instead of some thirty (npm run bench -- harness).
// It exits when the target is gone, on SIGTERM/SIGINT (after printing what it has), or
// when its parent dies.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "codec.h"
#include "flags.h"
#include "net.h"

namespace {

const char kUsage[] =
    "usage: sampler --pid P [--interval-ms 10] [--batch-ms 100] [--admin-port N [--stats-ms 100]]\n"
    "               [--smaps-ms 0 (off)]\n";

volatile std::sig_atomic_t g_stop = 0;
constexpr int kNice = -10;
constexpr int64_t kStillBytes = 256 * 1024;
constexpr int kStillSamples = 10;
constexpr int kStillFactor = 5;

int64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

timespec ToTimespec(int64_t us) {
  return timespec{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
}

// Waits on `fd` (or just sleeps when fd < 0) until the absolute CLOCK_MONOTONIC time
// `deadline_us` or until fd is readable; true when it is readable.
bool WaitUntil(int fd, int64_t deadline_us) {
  for (;;) {
    const int64_t now = MonotonicUs();
    if (now >= deadline_us || g_stop) return false;
    if (fd < 0) {
      const timespec ts = ToTimespec(deadline_us);
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    const timespec left = ToTimespec(deadline_us - now);
    const int r = ppoll(&p, 1, &left, nullptr);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// smaps_rollup on its own thread: results wait here until the next batch.
class SmapsReader {
 public:
  SmapsReader(long pid, int64_t interval_us)
      : path_("/proc/" + std::to_string(pid) + "/smaps_rollup"), interval_us_(interval_us) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  // Wakes the thread at once: after a slow read it may be waiting seconds for the next one
  // (kBudget), and a Stop() that waited for it held back the sampler's last batch until the
  // harness's stop grace ran out and SIGKILL lost it.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Appends the lines read since the last call to `out`.
  void Drain(std::string* out) {
    std::lock_guard<std::mutex> lock(mu_);
    out->append(lines_);
    lines_.clear();
  }

 private:
  void Run() {
    int64_t next = MonotonicUs() + interval_us_;
    std::vector<char> buf(8192);
    while (!g_stop) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        const auto wait = std::chrono::microseconds(std::max<int64_t>(0, next - MonotonicUs()));
        if (wake_.wait_for(lock, wait, [this] { return stop_; })) break;
      }
      const int64_t t = MonotonicUs();
      const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;  // the target has exited
      const ssize_t n = read(fd, buf.data(), buf.size() - 1);
      close(fd);
      if (n <= 0) break;
      buf[static_cast<size_t>(n)] = '\0';
      char line[160];
      std::snprintf(line, sizeof line,
                    "{\"type\":\"smaps\",\"t_us\":%lld,\"rss\":%lld,\"private_dirty\":%lld,\"lazyfree\":%lld}\n",
                    static_cast<long long>(t), Kb(buf.data(), "Rss:"), Kb(buf.data(), "Private_Dirty:"),
                    Kb(buf.data(), "LazyFree:"));
      {
        std::lock_guard<std::mutex> lock(mu_);
        lines_ += line;
      }
      // A read walks every page table of the process (5-20 ms at a 450 MiB peak, all of it
      // the sampler's CPU and time with the target's mmap lock held): the next read waits
      // at least kBudget times as long as this one took, so it costs at most 1/kBudget of
      // a core whatever the process's size.
      const int64_t took = MonotonicUs() - t;
      next = std::max(next + interval_us_, MonotonicUs() + took * kBudget);
    }
  }

  // "Key:   123 kB" at the start of a line, in bytes; 0 if absent.
  static long long Kb(const char* text, const char* key) {
    const size_t len = std::strlen(key);
    for (const char* p = text; p != nullptr && *p != '\0';) {
      if (std::strncmp(p, key, len) == 0) return std::strtoll(p + len, nullptr, 10) * 1024;
      p = std::strchr(p, '\n');
      if (p != nullptr) ++p;
    }
    return 0;
  }

  static constexpr int64_t kBudget = 500;  // <= 0.2% of a core
  const std::string path_;
  const int64_t interval_us_;
  bool stop_ = false;  // guarded by mu_
  std::condition_variable wake_;
  std::thread thread_;
  std::mutex mu_;
  std::string lines_;
};

// `stats-counters` over the admin port: one request in flight at a time, the reply read
// without blocking the statm loop.
class StatsPoller {
 public:
  StatsPoller(int fd, int64_t interval_us) : fd_(fd), interval_us_(interval_us) {}

  int fd() const { return fd_; }

  // Sends the request if one is due; false (with *error) if the connection failed.
  bool MaybeSend(int64_t now, std::string* error) {
    if (fd_ < 0 || in_flight_ || now < next_due_) return true;
    static const char kCommand[] = "stats-counters";
    uint8_t frame[kHeaderSize + sizeof kCommand - 1];
    leaklab::EncodeHeader(leaklab::FrameHeader{sizeof kCommand - 1, leaklab::FrameType::kAdmin, ++id_}, frame);
    std::memcpy(frame + kHeaderSize, kCommand, sizeof kCommand - 1);
    const ssize_t n = send(fd_, frame, sizeof frame, MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(sizeof frame)) {
      *error = n < 0 ? std::string("send: ") + std::strerror(errno) : "send: short write";
      return false;
    }
    in_flight_ = true;
    sent_us_ = now;
    next_due_ += interval_us_;
    if (next_due_ <= now) next_due_ = now + interval_us_;
    return true;
  }

  // Reads what arrived; appends a stats line per complete reply to `out`. False (with
  // *error) when the connection closed or sent something that is not a reply.
  bool OnReadable(std::string* out, std::string* error) {
    uint8_t buf[65536];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) {
        *error = "admin port closed the connection";
        return false;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        *error = std::string("recv: ") + std::strerror(errno);
        return false;
      }
      input_.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    }
    while (input_.size() >= kHeaderSize) {
      leaklab::FrameHeader h;
      const auto st = leaklab::DecodeHeader(reinterpret_cast<const uint8_t*>(input_.data()), input_.size(),
                                            leaklab::kDefaultMaxFrame,
                                            leaklab::TypeBit(leaklab::FrameType::kAdminReply), &h, error);
      if (st == leaklab::DecodeStatus::kError) return false;
      if (input_.size() < kHeaderSize + h.length) break;
      out->append("{\"type\":\"stats\",\"t_us\":" + std::to_string(sent_us_) + ",\"reply\":");
      out->append(input_, kHeaderSize, h.length);
      out->append("}\n");
      input_.erase(0, kHeaderSize + h.length);
      in_flight_ = false;
      // The reply is computed with the allocator's locks held (glibc's mallinfo2 walks every
      // free chunk: 107 ms on a heap of 8.4 M free chunks, docs/benches.md "probe poll"):
      // the next request waits at least kBudget times this round trip, so polling holds
      // those locks at most 1/kBudget of the time however slow the heap makes it.
      const int64_t now = MonotonicUs();
      next_due_ = std::max(next_due_, now + (now - sent_us_) * kBudget);
    }
    return true;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  static constexpr size_t kHeaderSize = leaklab::kHeaderSize;
  static constexpr int64_t kBudget = 20;  // <= 5% of the subject's time in the poll's locks
  int fd_;
  const int64_t interval_us_;
  int64_t next_due_ = 0;
  int64_t sent_us_ = 0;
  uint64_t id_ = 0;
  bool in_flight_ = false;
  std::string input_;
};

void AppendRss(const std::vector<std::pair<int64_t, int64_t>>& batch, std::string* out) {
  if (batch.empty()) return;
  out->append("{\"type\":\"rss\",\"samples\":[");
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i) out->push_back(',');
    out->append('[' + std::to_string(batch[i].first) + ',' + std::to_string(batch[i].second) + ']');
  }
  out->append("]}\n");
}

std::string AdminErrorLine(int64_t t_us, const std::string& message) {
  std::string quoted;
  for (const char c : message) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) quoted.push_back(c);
  }
  return "{\"type\":\"admin-error\",\"t_us\":" + std::to_string(t_us) + ",\"message\":\"" + quoted + "\"}\n";
}

void Write(const std::string& text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  leaklab::DieWithParent();
  long pid = 0, interval_ms = 10, batch_ms = 100, admin_port = 0, stats_ms = 100, smaps_ms = 0;
  leaklab::FlagParser flags(argc, argv, kUsage);
  std::string name, value;
  while (flags.Next(&name, &value)) {
    if (name == "pid") pid = static_cast<long>(flags.U64("pid", value, 1, 1 << 30));
    else if (name == "interval-ms") interval_ms = static_cast<long>(flags.U64("interval-ms", value, 1, 10000));
    else if (name == "batch-ms") batch_ms = static_cast<long>(flags.U64("batch-ms", value, 1, 60000));
    else if (name == "admin-port") admin_port = static_cast<long>(flags.U64("admin-port", value, 1, 65535));
    else if (name == "stats-ms") stats_ms = static_cast<long>(flags.U64("stats-ms", value, 1, 60000));
    else if (name == "smaps-ms") smaps_ms = static_cast<long>(flags.U64("smaps-ms", value, 0, 60000));
    else flags.Fail("unknown flag '--" + name + "'; valid: --pid, --interval-ms, --batch-ms, --admin-port, --stats-ms, --smaps-ms");
  }
  if (pid == 0) flags.Fail("--pid is required");
  const std::string path = "/proc/" + std::to_string(pid) + "/statm";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "sampler: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  int admin_fd = -1;
  if (admin_port != 0) {
    std::string error;
    admin_fd = leaklab::ConnectLoopback(static_cast<uint16_t>(admin_port), &error);
    if (admin_fd < 0) {
      std::fprintf(stderr, "sampler: %s\n", error.c_str());
      return 1;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const long page = sysconf(_SC_PAGESIZE);
  // The observer's timing, not the subject's: on 2 cores saturated by the relay's threads,
  // a sampler at the default priority wakes up to ~3 ms late. Raise it where allowed
  // (root, CAP_SYS_NICE); elsewhere it runs at the default and the jitter says so.
  const bool raised = setpriority(PRIO_PROCESS, 0, kNice) == 0;
  std::printf("{\"event\":\"ready\",\"pid\":%d,\"nice\":%d}\n", static_cast<int>(getpid()),
              raised ? kNice : getpriority(PRIO_PROCESS, 0));
  std::fflush(stdout);

  SmapsReader smaps(pid, int64_t{smaps_ms} * 1000);
  if (smaps_ms > 0) smaps.Start();
  StatsPoller stats(admin_fd, int64_t{stats_ms} * 1000);
  std::vector<std::pair<int64_t, int64_t>> batch;
  std::string out;  // stats lines waiting for the batch
  int64_t next_sample = MonotonicUs();
  int64_t last_rss = -1;
  int still = 0;
  int64_t next_flush = next_sample + batch_ms * 1000;
  char buf[256];
  auto flush = [&] {
    std::string text;
    AppendRss(batch, &text);
    text += out;
    smaps.Drain(&text);
    Write(text);
    batch.clear();
    out.clear();
  };
  while (!g_stop) {
    const int64_t now = MonotonicUs();
    if (now >= next_sample) {
      const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
      if (n <= 0) break;  // the target has exited
      buf[n] = '\0';
      long size_pages = 0, resident_pages = 0;
      if (std::sscanf(buf, "%ld %ld", &size_pages, &resident_pages) != 2) break;
      const int64_t rss = int64_t{resident_pages} * page;
      batch.emplace_back(now, rss);
      // While RSS holds still (within kStillBytes for kStillSamples samples) the interval
      // stretches to kStillFactor times --interval-ms; the first sample that moves brings
      // it back. On this VM each wake-up costs ~60 us, so a flat idle phase sampled every
      // 10 ms cost 0.6% of a core for nothing (docs/benches.md, harness).
      still = std::llabs(rss - last_rss) < kStillBytes ? still + 1 : 0;
      last_rss = rss;
      const int64_t step = (still >= kStillSamples ? kStillFactor : 1) * interval_ms * 1000;
      // Absolute deadlines: a late wake-up does not push every later sample back.
      next_sample += step;
      if (next_sample <= now - step) next_sample = now + step;
      std::string error;
      if (!stats.MaybeSend(now, &error)) {
        out += AdminErrorLine(now, error);
        stats.Close();
      }
      if (now >= next_flush) {
        flush();
        next_flush += batch_ms * 1000;
        if (next_flush <= now) next_flush = now + batch_ms * 1000;
      }
    }
    if (WaitUntil(stats.fd(), next_sample)) {
      std::string error;
      if (!stats.OnReadable(&out, &error)) {
        out += AdminErrorLine(MonotonicUs(), error);
        stats.Close();
      }
    }
  }
  smaps.Stop();
  flush();
  stats.Close();
  close(fd);
  return 0;
}
