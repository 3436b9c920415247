// Test only: a server that does, before main(), what daemons do early and what a thread
// injected by LD_PRELOAD must survive (test/subject/probe.test.ts):
//   test_host PORT [drop-root] [close-fds] [worker=MiB]
//   drop-root   started as root, switch to uid/gid 65534 (mosquitto switches to its own user)
//   close-fds   close every descriptor above 2 (closefrom(3)), as daemons that sanitize
//               what they inherited do; the probe's socket, epoll set and file go with them
//   worker=MiB  once listening, fork one worker (no exec) that touches MiB of memory and
//               sleeps: memory outside the first process, as prefork servers have it
// drop-root and close-fds happen in a constructor of the executable, which runs right
// after the preloaded libraries' constructors: earlier than any main() could. It listens on
// 127.0.0.1:PORT with an epoll set of its own (it gets the probe's old descriptor
// numbers), prints "uid=N listening", and answers each connection with "host\n".
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: test_host PORT [drop-root] [close-fds]\n");
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
  for (;;) {
    epoll_event got;
    if (epoll_wait(ep, &got, 1, -1) != 1) continue;
    for (;;) {
      const int c = accept(fd, nullptr, nullptr);
      if (c < 0) break;
      const ssize_t n = write(c, "host\n", 5);
      (void)n;
      close(c);
    }
  }
}
