// leaklab-launch: starts a lab target so that it can never outlive the harness.
//
//   leaklab-launch --parent-pid P -- <program> [args...]
//
// Puts itself in a new process group (so the harness stops the target and every child it
// forks with one kill(-pgid)), asks the kernel to SIGKILL it when its parent dies
// (PR_SET_PDEATHSIG survives execve), checks the parent is still P (it may have died
// before the prctl), then execs the program in place: the target's pid is this pid.
// Exit 126: the program is not executable; 127: not found; 1: bad usage.
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr const char* kUsage = "usage: leaklab-launch --parent-pid P -- <program> [args...]\n";

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr, "leaklab-launch: %s\n%s", why, kUsage);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  long parent = -1;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--parent-pid" && i + 1 < argc) {
      char* end = nullptr;
      parent = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || parent <= 0) Usage("--parent-pid: expected a process id");
    } else {
      Usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (parent <= 0) Usage("--parent-pid: required (the harness's pid)");
  if (i >= argc) Usage("no program after --");

  if (setpgid(0, 0) != 0) {
    std::fprintf(stderr, "leaklab-launch: setpgid: %s\n", std::strerror(errno));
    return 1;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    std::fprintf(stderr, "leaklab-launch: prctl(PR_SET_PDEATHSIG): %s\n", std::strerror(errno));
    return 1;
  }
  if (getppid() != static_cast<pid_t>(parent)) return 1;  // the harness is gone already

  execvp(argv[i], argv + i);
  const int err = errno;
  std::fprintf(stderr, "leaklab-launch: cannot run %s: %s\n", argv[i], std::strerror(err));
  return err == ENOENT ? 127 : 126;
}
