// sampler: reads another process's RSS from /proc/<pid>/statm at a fixed interval, on an
// absolute clock (clock_nanosleep, TIMER_ABSTIME), and prints the samples in batches:
//   {"event":"ready","pid":<sampler pid>}
//   {"type":"rss","samples":[[t_us, rss_bytes], ...]}   every --batch-ms
// t_us is CLOCK_MONOTONIC in microseconds (the clock Node's process.hrtime uses).
// It exits when the target is gone, on SIGTERM/SIGINT (after printing what it has), or
// when its parent dies. Native, so that a 10 ms loop costs one pread per sample and no
// garbage collector or event loop of the harness can delay a sample.
#include <fcntl.h>
#include <sys/resource.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "flags.h"
#include "net.h"

namespace {

const char kUsage[] =
    "usage: sampler --pid P [--interval-ms 10] [--batch-ms 100]\n";

volatile std::sig_atomic_t g_stop = 0;
constexpr int kNice = -10;

int64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

void Flush(std::vector<std::pair<int64_t, int64_t>>* batch) {
  if (batch->empty()) return;
  std::string line = "{\"type\":\"rss\",\"samples\":[";
  for (size_t i = 0; i < batch->size(); ++i) {
    if (i) line += ',';
    line += '[' + std::to_string((*batch)[i].first) + ',' + std::to_string((*batch)[i].second) + ']';
  }
  line += "]}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  batch->clear();
}

}  // namespace

int main(int argc, char** argv) {
  leaklab::DieWithParent();
  long pid = 0, interval_ms = 10, batch_ms = 100;
  leaklab::FlagParser flags(argc, argv, kUsage);
  std::string name, value;
  while (flags.Next(&name, &value)) {
    if (name == "pid") pid = static_cast<long>(flags.U64("pid", value, 1, 1 << 30));
    else if (name == "interval-ms") interval_ms = static_cast<long>(flags.U64("interval-ms", value, 1, 10000));
    else if (name == "batch-ms") batch_ms = static_cast<long>(flags.U64("batch-ms", value, 1, 60000));
    else flags.Fail("unknown flag '--" + name + "'; valid: --pid, --interval-ms, --batch-ms");
  }
  if (pid == 0) flags.Fail("--pid is required");
  const std::string path = "/proc/" + std::to_string(pid) + "/statm";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "sampler: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
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

  std::vector<std::pair<int64_t, int64_t>> batch;
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  int64_t next_flush = MonotonicUs() + batch_ms * 1000;
  char buf[256];
  while (!g_stop) {
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) break;  // the target has exited
    buf[n] = '\0';
    long size_pages = 0, resident_pages = 0;
    if (std::sscanf(buf, "%ld %ld", &size_pages, &resident_pages) != 2) break;
    const int64_t now = MonotonicUs();
    batch.emplace_back(now, int64_t{resident_pages} * page);
    if (now >= next_flush) {
      Flush(&batch);
      next_flush += batch_ms * 1000;
      if (next_flush <= now) next_flush = now + batch_ms * 1000;
    }
    next.tv_nsec += interval_ms * 1000000;
    while (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      ++next.tv_sec;
    }
    // Absolute deadlines: a late wake-up does not push every later sample back.
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR && !g_stop) {
    }
  }
  Flush(&batch);
  close(fd);
  return 0;
}
