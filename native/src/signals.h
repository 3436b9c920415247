// Process setup shared by the native programs (the relay uses RaiseFdLimit only).
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

namespace leaklab {

// SIGTERM/SIGINT end the process at once (exit 128 + signal; stdout is flushed line by
// line, so nothing is lost); SIGPIPE is ignored so a peer's close is an EPIPE, not a death.
inline void InstallExitSignals() {
  struct sigaction sa {};
  sa.sa_handler = [](int sig) { _exit(128 + sig); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// Raises the open-file limit to its hard maximum (many connections).
inline void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace leaklab
