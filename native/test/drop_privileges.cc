// Test only: a server that, started as root, gives up root as the first thing main() does
// (mosquitto and many daemons switch to their own user early; this one does it before
// main()). The probe must still
// announce itself (test/subject/probe.test.ts). Usage: drop_privileges PORT. Switches to
// uid/gid 65534 (nobody), listens on 127.0.0.1:PORT, prints "uid=N listening", and
// accepts and closes connections until it is killed.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// In a constructor of the executable: these run right after the preloaded libraries'
// constructors, earlier than any main() could switch.
__attribute__((constructor)) static void DropRoot() {
  if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
    std::fprintf(stderr, "drop_privileges: cannot switch to uid 65534: %s\n", std::strerror(errno));
    std::_Exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: drop_privileges PORT\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0) {
    std::fprintf(stderr, "drop_privileges: listen on 127.0.0.1:%s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  std::printf("uid=%u listening\n", static_cast<unsigned>(getuid()));
  std::fflush(stdout);
  for (;;) {
    const int c = accept(fd, nullptr, nullptr);
    if (c >= 0) close(c);
  }
}
