// relay-<allocator>: the RPC relay under test. See native/PROTOCOL.md and relay.h.
//
//   relay-<alloc> --upstream-port N [--port P (default: the OS picks)] [--threads 8] [--upstream-conns N (default: threads)]
//                 [--max-frame 16777216] [--high-water 8388608]
//                 [--leak-rate 0] [--log-record-bytes 0] [--log-record-every 1]
//                 [--log-retention-ms 5000] [--release-every-ms 0] [--release-idle-ms 0]
//                 [--release-free-over 0] [--thread-churn-ms 0]
//                 [--max-clients 10000] [--idle-timeout-ms 600000]
//
// The flags from --leak-rate on are the relay's behaviours (relay_settings.h); the admin
// command `set <key> <value>` changes them at run time (key = flag without "--").
//
// Prints one JSON ready line on stdout once listening and connected upstream; nothing
// else ever goes to stdout. SIGTERM/SIGINT exit 0.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "admin.h"
#include "alloc/adapter.h"
#include "event_loop.h"
#include "flags.h"
#include "net.h"
#include "relay.h"
#include "relay_settings.h"
#include "signals.h"

namespace {

constexpr const char* kUsage =
    "usage: relay --upstream-port N [--port P] [--threads 8] [--upstream-conns N (default: threads)]\n"
    "             [--max-frame 16777216] [--high-water 8388608]\n"
    "             [--leak-rate R (0..1, default 0)]\n"
    "             [--log-record-bytes N (0 = off)] [--log-record-every K (default 1)]\n"
    "             [--log-retention-ms T (default 5000)]\n"
    "             [--release-every-ms N] [--release-idle-ms N] [--release-free-over BYTES]\n"
    "             [--thread-churn-ms N]\n"
    "             (release policies; 0 = off)\n"
    "             [--max-clients N (default 10000)] [--idle-timeout-ms N (default 600000)]\n"
    "             (limits on client connections; 0 = none)\n";

// Flags through the native tools' shared FlagParser (flags.h); the behaviour settings
// (--leak-rate, --release-idle-ms, ...) are RelaySettings keys, parsed and range-checked
// there, as for the admin channel's `set`.
leaklab::RelayOptions ParseArgs(int argc, char** argv, leaklab::RelaySettings* settings) {
  leaklab::FlagParser flags(argc, argv, kUsage);
  leaklab::RelayOptions o;
  bool have_port = false, have_conns = false;
  std::string name, value;
  while (flags.Next(&name, &value)) {
    if (name == "port") {
      o.listen_port = static_cast<uint16_t>(flags.U64(name, value, 1, 65535));
    } else if (name == "upstream-port") {
      o.upstream_port = static_cast<uint16_t>(flags.U64(name, value, 1, 65535));
      have_port = true;
    } else if (name == "threads") {
      o.threads = static_cast<int>(flags.U64(name, value, 1, 256));
    } else if (name == "upstream-conns") {
      o.upstream_conns = static_cast<int>(flags.U64(name, value, 1, 4096));
      have_conns = true;
    } else if (name == "max-frame") {
      o.max_frame = static_cast<uint32_t>(flags.U64(name, value, 1, 1ull << 30));
    } else if (name == "high-water") {
      o.high_water = static_cast<size_t>(flags.U64(name, value, 1, 1ull << 40));
    } else if (leaklab::RelaySettings::IsKey(name)) {
      std::string error;
      if (!settings->Set(name, value, &error)) flags.Fail("--" + error);
    } else {
      flags.Fail("unknown flag '--" + name +
                 "'; valid: --upstream-port, --port, --threads, --upstream-conns, --max-frame, "
                 "--high-water, and the settings (--<key> <value>): " +
                 leaklab::RelaySettings::KeysWithRanges());
    }
  }
  if (!have_port) flags.Fail("--upstream-port: required (the upstream's port, 1..65535)");
  if (!have_conns) o.upstream_conns = o.threads;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  leaklab::DieWithParent();
  leaklab::RaiseFdLimit();  // clients up to the hard limit; past it, see Acceptor
  leaklab::RelaySettings settings;  // lives as long as the process
  const leaklab::RelayOptions options = ParseArgs(argc, argv, &settings);

  // A peer that goes away must not kill us on write.
  signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT arrive on a signalfd in the acceptor loop; blocked in every thread
  // (threads inherit the mask, so block before creating any).
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    std::fprintf(stderr, "relay: signalfd: %s\n", std::strerror(errno));
    return 1;
  }

  leaklab::EventLoop acceptor;
  acceptor.Add(sfd, EPOLLIN, [](uint32_t) {
    std::fflush(stderr);
    // exit(), not _Exit(): leak checkers (LeakSanitizer, gperftools' heap checker) run at
    // exit. Called on the main thread with the relay still alive on its stack, so the
    // relay's destructors (which would race the worker threads) never run.
    std::exit(0);
  });

  leaklab::Relay relay(options, settings);
  relay.Start();
  relay.AttachAcceptor(acceptor);
  leaklab::Admin admin(relay, acceptor, options.max_frame);
  admin.Start();

  nlohmann::ordered_json ready;
  ready["event"] = "ready";
  ready["port"] = relay.port();
  ready["admin_port"] = admin.port();
  ready["pid"] = getpid();
  ready["allocator"] = leaklab::alloc::Linked().Name();
  ready["version"] = leaklab::alloc::Linked().Version();
  std::fputs((ready.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  std::fprintf(stderr,
               "relay: %d worker threads, %d upstream connections to port %u, open-file limit "
               "%llu\n",
               options.threads, relay.upstream_connection_count(), options.upstream_port,
               static_cast<unsigned long long>(nofile.rlim_cur));

  acceptor.Run();
  return 0;
}
