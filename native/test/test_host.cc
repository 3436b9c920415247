// Test only: a server that does, before main(), what daemons do early and what a thread
// injected by LD_PRELOAD must survive (test/subject/probe.test.ts):
//   test_host PORT [drop-root] [close-fds] [worker=MiB]
//   drop-root   started as root, switch to uid/gid 65534 (mosquitto switches to its own user)
//   close-fds   close every descriptor above 2 (closefrom(3)), as daemons that sanitize
//               what they inherited do; the probe's socket, epoll set and file go with them
//   worker=MiB  once listening, fork one worker (no exec) that touches MiB of memory and
//               sleeps: memory outside the first process, as prefork servers have it
//   commands    also read workloads from stdin, one a line, each answered "done <line>" on
//               stdout once done (the probe's counting layer, test/subjects/probe-count.test.ts):
//                 hold=NxSIZE  malloc N blocks of SIZE bytes and keep them (written to)
//                 sparse       free every other block held
//                 free         free every block held
//                 churn=N      N times malloc(64) then free it at once
//                 threads=T    T threads at once, each mallocs 256 blocks of 4000 bytes,
//                              frees every other one and hands the rest to `hold` (glibc
//                              gives each its own arena: test/native/ledger-command.test.ts)
//                 hole=SIZE    malloc(SIZE), then 2 KiB blocks kept until one lies above it,
//                              then free it: a free chunk of SIZE below the top of the arena
// drop-root and close-fds happen in a constructor of the executable, which runs right
// after the preloaded libraries' constructors: earlier than any main() could. It listens on
// 127.0.0.1:PORT with an epoll set of its own (it gets the probe's old descriptor
// numbers), prints "uid=N listening", and answers each connection with "host\n".
#include <arpa/inet.h>
#include <pthread.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

bool Has(int argc, char** argv, const char* word) {
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], word) == 0) return true;
  return false;
}

// glibc passes argc, argv and envp to the functions of .init_array.
__attribute__((constructor)) void EarlyStart(int argc, char** argv, char**) {
  if (Has(argc, argv, "close-fds")) closefrom(3);
  if (Has(argc, argv, "drop-root") && geteuid() == 0 &&
      (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
    std::fprintf(stderr, "test_host: cannot switch to uid 65534: %s\n", std::strerror(errno));
    std::_Exit(1);
  }
}

// The blocks held, in an mmap()ed array: the workloads' own bookkeeping never goes
// through malloc, so the probe's count moves by exactly the blocks (probe-count.test.ts).
void** g_held = nullptr;
size_t g_count = 0, g_cap = 0;

void Hold(void* p) {
  if (g_count == g_cap) {
    const size_t cap = g_cap ? g_cap * 2 : 65536;
    void* m = g_held ? mremap(g_held, g_cap * sizeof(void*), cap * sizeof(void*), MREMAP_MAYMOVE)
                     : mmap(nullptr, cap * sizeof(void*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    g_held = static_cast<void**>(m);
    g_cap = cap;
  }
  g_held[g_count++] = p;
}

// threads=T: one thread's share; its blocks are held by RunThreads once every thread is done.
constexpr int kThreadBlocks = 256;
pthread_barrier_t g_start, g_done;

void* ThreadWork(void* arg) {
  void** mine = static_cast<void**>(arg);
  pthread_barrier_wait(&g_start);  // all at once, so that glibc gives each an arena of its own
  for (int i = 0; i < kThreadBlocks; ++i) {
    mine[i] = std::malloc(4000);
    static_cast<char*>(mine[i])[0] = 1;
  }
  for (int i = 0; i < kThreadBlocks; i += 2) {
    std::free(mine[i]);
    mine[i] = nullptr;
  }
  // No thread exits before all have an arena: glibc hands an exited thread's arena to the
  // next thread that needs one.
  pthread_barrier_wait(&g_done);
  return nullptr;
}

void RunThreads(unsigned long n) {
  static void* blocks[64][kThreadBlocks];
  pthread_t ids[64];
  if (n > 64) n = 64;
  pthread_barrier_init(&g_start, nullptr, static_cast<unsigned>(n));
  pthread_barrier_init(&g_done, nullptr, static_cast<unsigned>(n));
  for (unsigned long t = 0; t < n; ++t) pthread_create(&ids[t], nullptr, &ThreadWork, blocks[t]);
  for (unsigned long t = 0; t < n; ++t) pthread_join(ids[t], nullptr);
  pthread_barrier_destroy(&g_start);
  pthread_barrier_destroy(&g_done);
  for (unsigned long t = 0; t < n; ++t)
    for (int i = 1; i < kThreadBlocks; i += 2) Hold(blocks[t][i]);
}

// One workload line (see the header); false if it is not one.
bool RunCommand(const char* line) {
  unsigned long n = 0, size = 0;
  if (std::sscanf(line, "hold=%lux%lu", &n, &size) == 2) {
    for (unsigned long i = 0; i < n; ++i) {
      char* p = static_cast<char*>(std::malloc(size));
      if (p != nullptr && size > 0) p[0] = static_cast<char>(i);
      Hold(p);
    }
  } else if (std::strcmp(line, "sparse") == 0) {
    for (size_t i = 0; i < g_count; i += 2) {
      std::free(g_held[i]);
      g_held[i] = nullptr;
    }
  } else if (std::strcmp(line, "free") == 0) {
    for (size_t i = 0; i < g_count; ++i) std::free(g_held[i]);
    g_count = 0;
  } else if (std::sscanf(line, "threads=%lu", &n) == 1) {
    RunThreads(n);
  } else if (std::sscanf(line, "hole=%lu", &size) == 1) {
    // Small blocks kept until one lies above `big` (the first ones may fill free chunks
    // elsewhere): then `big` is not next to the top, and free() puts it in a bin.
    char* big = static_cast<char*>(std::malloc(size));
    for (int i = 0; i < 4096; ++i) {
      char* guard = static_cast<char*>(std::malloc(2048));  // past tcache sizes
      Hold(guard);
      if (guard > big) break;
    }
    std::free(big);
  } else if (std::sscanf(line, "churn=%lu", &n) == 1) {
    for (unsigned long i = 0; i < n; ++i) {
      void* volatile p = std::malloc(64);
      std::free(p);
    }
  } else {
    return false;
  }
  return true;
}

// Reads what stdin has, runs each complete line (fixed buffers: no malloc); false at its end.
bool ReadCommands() {
  static char pending[4096];
  static size_t used = 0;
  const ssize_t n = read(0, pending + used, sizeof pending - 1 - used);
  if (n <= 0) return false;
  used += static_cast<size_t>(n);
  char* start = pending;
  while (char* nl = static_cast<char*>(std::memchr(start, '\n', pending + used - start))) {
    *nl = '\0';
    char reply[512];
    const int len = std::snprintf(reply, sizeof reply, "%s %s\n", RunCommand(start) ? "done" : "unknown", start);
    const ssize_t w = write(1, reply, static_cast<size_t>(len < 0 ? 0 : len));
    (void)w;
    start = nl + 1;
  }
  used = static_cast<size_t>(pending + used - start);
  std::memmove(pending, start, used);
  if (used == sizeof pending - 1) used = 0;  // a line too long: dropped
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: test_host PORT [drop-root] [close-fds] [worker=MiB] [commands]\n");
    return 2;
  }
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;  // edge-triggered: an event another waiter took is lost
  ev.data.fd = fd;
  if (ep < 0 || fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 64) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    std::fprintf(stderr, "test_host: listen on 127.0.0.1:%s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  std::printf("uid=%u listening\n", static_cast<unsigned>(getuid()));
  std::fflush(stdout);
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], "worker=", 7) != 0) continue;
    const size_t bytes = static_cast<size_t>(std::atoi(argv[i] + 7)) << 20;
    if (fork() == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char> held(bytes, 1);  // touched: resident
      for (;;) pause();
    }
  }
  if (Has(argc, argv, "commands")) {
    epoll_event in{};
    in.events = EPOLLIN;
    in.data.fd = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in);
  }
  for (;;) {
    epoll_event got;
    if (epoll_wait(ep, &got, 1, -1) != 1) continue;
    if (got.data.fd == 0) {
      if (!ReadCommands()) epoll_ctl(ep, EPOLL_CTL_DEL, 0, nullptr);
      continue;
    }
    for (;;) {
      const int c = accept(fd, nullptr, nullptr);
      if (c < 0) break;
      const ssize_t n = write(c, "host\n", 5);
      (void)n;
      close(c);
    }
  }
}
