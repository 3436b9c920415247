// Test only: the target of leaklab-inspect's tests (test/native/inspect.test.ts). Threads,
// each parked or busy the way a test wants, and a TCP port on 127.0.0.1 that answers a
// line with a line, so a client can be in flight during a snapshot. Built dynamic
// (inspect_host) and static (inspect_host_static).
//
//   inspect_host [--epoll] [--regs] [--handler] [--forker] [--allocators N] [--grow-in-mmap]
//                [--undumpable] [--seccomp] [--traced] [--user UID] [--heap MIB]
//
// Prints one JSON line {"ready":true,...,"tids":{...}} when set up. Reads commands on stdin:
// "status" prints {"eintr":N,"regs_bad":N,"requests":N,"failed":N,"reg_checks":N}.
// --regs: a thread loads known values into rbx, r8-r15 and ymm0-15, sits in read() on a
//   pipe, and checks them all when read returns; it counts EINTR, and any register found
//   changed. Each byte written to the pipe is one check.
// --handler: a thread blocked in read() inside a SIGUSR1 handler.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// Globals with C names, reached RIP-relative from the asm (no register left for a pointer).
extern "C" {
alignas(32) unsigned long long leaklab_ymm_pattern[4] = {0x1111222233334444ull, 0x5555666677778888ull,
                                                         0x99990000aaaabbbbull, 0xccccddddeeeeffffull};
alignas(32) unsigned long long leaklab_ymm_seen[16][4];
}

namespace {

std::atomic<long> g_eintr{0}, g_regs_bad{0}, g_requests{0}, g_failed{0}, g_reg_checks{0};
std::atomic<pid_t> g_tid_epoll{0}, g_tid_regs{0}, g_tid_handler{0}, g_tid_grower{0};
int g_regs_pipe[2] = {-1, -1};
int g_handler_pipe[2] = {-1, -1};

pid_t Tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// read() with every checked register live across the syscall: the asm loads the values,
// makes the call, and then compares rbx, r8-r10, r12-r15 (rcx and r11 belong to the syscall
// instruction) and stores ymm0-15 for the C++ side to compare, with nothing in between.

long CheckedRead(int fd, char* buf, long* bad) {
  long ret, mismatches;
  asm volatile(
      "vmovdqu leaklab_ymm_pattern(%%rip), %%ymm0\n\t"
      "vpaddq %%ymm0, %%ymm0, %%ymm1\n\t vpaddq %%ymm1, %%ymm0, %%ymm2\n\t vpaddq %%ymm2, %%ymm0, %%ymm3\n\t"
      "vpaddq %%ymm3, %%ymm0, %%ymm4\n\t vpaddq %%ymm4, %%ymm0, %%ymm5\n\t vpaddq %%ymm5, %%ymm0, %%ymm6\n\t"
      "vpaddq %%ymm6, %%ymm0, %%ymm7\n\t vpaddq %%ymm7, %%ymm0, %%ymm8\n\t vpaddq %%ymm8, %%ymm0, %%ymm9\n\t"
      "vpaddq %%ymm9, %%ymm0, %%ymm10\n\t vpaddq %%ymm10, %%ymm0, %%ymm11\n\t vpaddq %%ymm11, %%ymm0, %%ymm12\n\t"
      "vpaddq %%ymm12, %%ymm0, %%ymm13\n\t vpaddq %%ymm13, %%ymm0, %%ymm14\n\t vpaddq %%ymm14, %%ymm0, %%ymm15\n\t"
      "movabs $0x0123456789abcdef, %%rbx\n\t"
      "movabs $0x1000000000000008, %%r8\n\t movabs $0x1000000000000009, %%r9\n\t"
      "movabs $0x100000000000000a, %%r10\n\t"
      "movabs $0x100000000000000c, %%r12\n\t movabs $0x100000000000000d, %%r13\n\t"
      "movabs $0x100000000000000e, %%r14\n\t movabs $0x100000000000000f, %%r15\n\t"
      "xor %%eax, %%eax\n\t"  // SYS_read(fd, buf, 1)
      "mov $1, %%edx\n\t"
      "syscall\n\t"
      "xor %%edx, %%edx\n\t"
      "xor %%ecx, %%ecx\n\t"
      "movabs $0x0123456789abcdef, %%r11\n\t cmp %%r11, %%rbx\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x1000000000000008, %%r11\n\t cmp %%r11, %%r8\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x1000000000000009, %%r11\n\t cmp %%r11, %%r9\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x100000000000000a, %%r11\n\t cmp %%r11, %%r10\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x100000000000000c, %%r11\n\t cmp %%r11, %%r12\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x100000000000000d, %%r11\n\t cmp %%r11, %%r13\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x100000000000000e, %%r11\n\t cmp %%r11, %%r14\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "movabs $0x100000000000000f, %%r11\n\t cmp %%r11, %%r15\n\t setne %%cl\n\t add %%rcx, %%rdx\n\t"
      "vmovdqu %%ymm0, leaklab_ymm_seen+0(%%rip)\n\t vmovdqu %%ymm1, leaklab_ymm_seen+32(%%rip)\n\t vmovdqu %%ymm2, leaklab_ymm_seen+64(%%rip)\n\t"
      "vmovdqu %%ymm3, leaklab_ymm_seen+96(%%rip)\n\t vmovdqu %%ymm4, leaklab_ymm_seen+128(%%rip)\n\t vmovdqu %%ymm5, leaklab_ymm_seen+160(%%rip)\n\t"
      "vmovdqu %%ymm6, leaklab_ymm_seen+192(%%rip)\n\t vmovdqu %%ymm7, leaklab_ymm_seen+224(%%rip)\n\t vmovdqu %%ymm8, leaklab_ymm_seen+256(%%rip)\n\t"
      "vmovdqu %%ymm9, leaklab_ymm_seen+288(%%rip)\n\t vmovdqu %%ymm10, leaklab_ymm_seen+320(%%rip)\n\t vmovdqu %%ymm11, leaklab_ymm_seen+352(%%rip)\n\t"
      "vmovdqu %%ymm12, leaklab_ymm_seen+384(%%rip)\n\t vmovdqu %%ymm13, leaklab_ymm_seen+416(%%rip)\n\t vmovdqu %%ymm14, leaklab_ymm_seen+448(%%rip)\n\t"
      "vmovdqu %%ymm15, leaklab_ymm_seen+480(%%rip)\n\t vzeroupper\n\t"
      : "=&a"(ret), "=&d"(mismatches)
      : "D"(fd), "S"(buf)
      : "rbx", "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc",
        "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
  for (int k = 0; k < 16; ++k)
    for (int l = 0; l < 4; ++l)
      if (leaklab_ymm_seen[k][l] != leaklab_ymm_pattern[l] * static_cast<unsigned long long>(k + 1)) ++mismatches;
  *bad = mismatches;
  return ret;
}

void* RegsThread(void*) {
  g_tid_regs = Tid();
  char c;
  for (;;) {
    long bad = 0;
    const long r = CheckedRead(g_regs_pipe[0], &c, &bad);
    if (r == -EINTR) ++g_eintr;
    if (bad) g_regs_bad += bad;
    if (r == 1) ++g_reg_checks;
    if (r == 0) return nullptr;
  }
}

void Handler(int) {
  char c;
  // Parked in read() inside the handler: the inspector must never pick this thread.
  while (read(g_handler_pipe[0], &c, 1) < 0 && errno == EINTR) ++g_eintr;
}

void* HandlerThread(void*) {
  g_tid_handler = Tid();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
  for (;;) pause();
}

std::atomic<bool> g_stop{false};

void* Allocator(void*) {
  std::vector<void*> keep(256, nullptr);
  unsigned x = 12345;
  while (!g_stop) {
    x = x * 1103515245 + 12345;
    const unsigned i = (x >> 8) % keep.size();
    free(keep[i]);
    keep[i] = malloc(16 + (x >> 12) % 65536);
    if (keep[i]) static_cast<char*>(keep[i])[0] = 1;
  }
  return nullptr;
}

void* Forker(void*) {
  while (!g_stop) {
    const pid_t p = fork();
    if (p == 0) _exit(0);
    if (p > 0) waitpid(p, nullptr, 0);
  }
  return nullptr;
}

// Big allocations kept (never touched: address space only), so the allocator keeps growing
// its heap through mmap/sbrk under its own lock; with the slow mmap shim this thread is
// asleep in there about 80% of the time (20 ms in, 5 ms out, when others may take the lock).
void* Grower(void*) {
  g_tid_grower = Tid();
  for (int i = 0; i < 8192 && !g_stop; ++i) {
    if (!malloc(3 << 20)) break;
    usleep(5000);
  }
  while (!g_stop) pause();
  return nullptr;
}

// Answers each line with "ok <n>\n" from a thread per connection, via epoll on the listener.
int g_listen = -1;
void* Conn(void* arg) {
  const int fd = static_cast<int>(reinterpret_cast<long>(arg));
  char buf[256];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) { ++g_eintr; continue; }
    if (n <= 0) break;
    ++g_requests;
    std::string* s = new std::string("ok " + std::to_string(n) + "\n");
    if (write(fd, s->data(), s->size()) != static_cast<ssize_t>(s->size())) ++g_failed;
    delete s;
  }
  close(fd);
  return nullptr;
}

void* EpollAcceptor(void*) {
  g_tid_epoll = Tid();
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = g_listen;
  epoll_ctl(ep, EPOLL_CTL_ADD, g_listen, &ev);
  for (;;) {
    epoll_event out[4];
    const int n = epoll_wait(ep, out, 4, -1);  // no timeout: EINTR must be hidden
    if (n < 0) {
      if (errno == EINTR) ++g_eintr;
      continue;
    }
    const int fd = accept4(g_listen, nullptr, nullptr, 0);
    if (fd < 0) continue;
    pthread_t t;
    pthread_create(&t, nullptr, Conn, reinterpret_cast<void*>(static_cast<long>(fd)));
    pthread_detach(t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool traced = false, epoll = false, regs = false, handler = false, forker = false, grow = false, undumpable = false, seccomp = false;
  int allocators = 0, uid = -1;
  long heap_mib = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--epoll") epoll = true;
    else if (a == "--regs") regs = true;
    else if (a == "--handler") handler = true;
    else if (a == "--forker") forker = true;
    else if (a == "--grow-in-mmap") grow = true;
    else if (a == "--undumpable") undumpable = true;
    else if (a == "--seccomp") seccomp = true;
    else if (a == "--traced") traced = true;
    else if (a == "--allocators" && i + 1 < argc) allocators = std::atoi(argv[++i]);
    else if (a == "--user" && i + 1 < argc) uid = std::atoi(argv[++i]);
    else if (a == "--heap" && i + 1 < argc) heap_mib = std::atol(argv[++i]);
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  // SIGUSR1 blocked everywhere but in the handler thread.
  sigset_t usr;
  sigemptyset(&usr);
  sigaddset(&usr, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr, nullptr);
  std::vector<void*> heap;
  for (long i = 0; i < heap_mib * 16; ++i) {
    heap.push_back(malloc(60000));
    std::memset(heap.back(), 1, 60000);
  }
  for (size_t i = 0; i < heap.size(); i += 2) free(heap[i]);  // half free: something to release
  std::string tids = "\"main\":" + std::to_string(Tid());
  pthread_t t;
  if (epoll) {
    g_listen = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(g_listen, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    listen(g_listen, 64);
    socklen_t len = sizeof sa;
    getsockname(g_listen, reinterpret_cast<sockaddr*>(&sa), &len);
    tids += ",\"port\":" + std::to_string(ntohs(sa.sin_port));
    pthread_create(&t, nullptr, EpollAcceptor, nullptr);
  }
  if (regs) {
    if (pipe(g_regs_pipe) != 0) return 1;
    pthread_create(&t, nullptr, RegsThread, nullptr);
  }
  if (handler) {
    if (pipe(g_handler_pipe) != 0) return 1;
    struct sigaction sa {};
    sa.sa_handler = Handler;
    sigaction(SIGUSR1, &sa, nullptr);
    pthread_create(&t, nullptr, HandlerThread, nullptr);
  }
  for (int i = 0; i < allocators; ++i) pthread_create(&t, nullptr, Allocator, nullptr);
  if (forker) pthread_create(&t, nullptr, Forker, nullptr);
  if (grow) pthread_create(&t, nullptr, Grower, nullptr);
  if (uid >= 0 && (setgid(uid) != 0 || setuid(uid) != 0)) return 1;
  if (undumpable) prctl(PR_SET_DUMPABLE, 0);
  if (seccomp) {
    // Allow everything, but a filter is a filter: the inspector refuses it.
    sock_filter f[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    sock_fprog prog{1, f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return 1;
  }
  if (traced) {
    // A second tracer: a child that seizes this process's main thread and waits.
    const pid_t parent = getpid();
    if (fork() == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (ptrace(PTRACE_SEIZE, parent, 0, 0) != 0) _exit(1);
      for (;;) pause();
    }
  }
  for (int i = 0; i < 200; ++i) {
    if ((!epoll || g_tid_epoll) && (!regs || g_tid_regs) && (!handler || g_tid_handler) && (!grow || g_tid_grower)) break;
    usleep(1000);
  }
  usleep(20000);
  tids += ",\"epoll\":" + std::to_string(g_tid_epoll) + ",\"regs\":" + std::to_string(g_tid_regs) +
          ",\"handler\":" + std::to_string(g_tid_handler) + ",\"grower\":" + std::to_string(g_tid_grower);
  std::printf("{\"ready\":true,\"pid\":%d,%s}\n", getpid(), tids.c_str());
  std::fflush(stdout);
  char line[256];
  while (std::fgets(line, sizeof line, stdin)) {
    if (std::strncmp(line, "status", 6) == 0) {
      std::printf("{\"eintr\":%ld,\"regs_bad\":%ld,\"requests\":%ld,\"failed\":%ld,\"reg_checks\":%ld}\n",
                  g_eintr.load(), g_regs_bad.load(), g_requests.load(), g_failed.load(), g_reg_checks.load());
      std::fflush(stdout);
    } else if (std::strncmp(line, "poke", 4) == 0) {
      if (write(g_regs_pipe[1], "x", 1) != 1) return 1;
    } else if (std::strncmp(line, "signal", 6) == 0) {
      // Send SIGUSR1 to the process: only the handler thread has it unblocked.
      kill(getpid(), SIGUSR1);
      std::printf("{\"signalled\":true}\n");
      std::fflush(stdout);
    }
  }
  g_stop = true;
  return 0;
}
