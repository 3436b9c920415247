// libleaklab-probe.so: preloaded into a process the lab did not build (LD_PRELOAD), it
// serves the relay's admin commands for that process's allocator. Active only when
// LEAKLAB_PROBE_DIR is set, and not in the wrappers that exec the real program after
// changing credentials or namespaces (IsCredentialWrapper). The constructor, before the
// host's main() runs, opens the listening socket (127.0.0.1, port 0) and creates
// <dir>/probe-<pid>.json (empty); then it starts one thread, which finds the allocator and
// fills the file with one write():
//   {"pid":N,"port":P,"allocator":"glibc|tcmalloc|jemalloc|mimalloc|unknown",
//    "malloc_library":"libjemalloc.so.2","version":"...","exe":"/usr/sbin/mosquitto"}
// The harness reads the file until it parses. Socket and file are opened in the
// constructor because a server started as root may drop its privileges early in main()
// (mosquitto switches to its own user): after that the thread could no longer create a
// file in the root-owned run folder, but it can still write through a descriptor opened
// before. Children that exec inherit the environment and announce themselves the same way
// (one file per pid). A child forked without exec has no probe thread (threads do not survive
// fork) and closes the inherited sockets. Nothing here may crash or block the host: any
// failure prints one "leaklab-probe:" line to stderr and leaves the probe inert.
// Also in the probe: its counting layer (probe_count.cc; it serves malloc whenever the probe
// is first in LD_PRELOAD, and counts with LEAKLAB_PROBE_COUNT=1) and the plain-C entry
// points (probe_entry.cc, leaklab_probe.h), which work without LEAKLAB_PROBE_DIR.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "probe_host.h"
#include "probe_server.h"

namespace leaklab::probe {
namespace {

ProbeServer* g_server = nullptr;  // set in the constructor once the socket listens

// What the constructor hands to the probe thread.
struct Start {
  ProbeServer* server;
  int announce_fd;  // <dir>/probe-<pid>.json, created empty
  FileIdent announce_id;
  std::string path;
};

// The program this process image runs (/proc/self/exe); empty if unreadable.
std::string SelfExe() {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  return len > 0 ? std::string(exe, static_cast<size_t>(len)) : std::string();
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "leaklab-probe: %s; the probe stays inert\n", what.c_str());
}

// False with *error when the file could not be written; *ours false as well when the
// descriptors are not the probe's any more (then nothing of them may be closed).
bool WriteAnnouncement(const Start& start, const ProbeHost& commands, std::string* error,
                       bool* ours) {
  *ours = true;
  nlohmann::ordered_json j;
  j["pid"] = static_cast<int64_t>(getpid());
  j["port"] = start.server->port();
  j["allocator"] = commands.allocator().Name();
  j["malloc_library"] = commands.malloc_object().name;
  j["version"] = commands.allocator().Version();
  // The program this image runs: a wrapper (taskset, setpriv, env) that loaded the probe and
  // then exec'd the server has the same pid, so the harness compares this with
  // /proc/<pid>/exe to tell a stale announcement from the server's.
  j["exe"] = SelfExe();
  const std::string text = j.dump() + "\n";
  if (!SameFile(start.announce_fd, start.announce_id) || !start.server->Ours()) {
    // Not ours any more: never write into the host's files, never close its descriptor.
    *ours = false;
    *error = "the host closed the probe's descriptors (" + start.path +
             ", its socket or epoll set) before the probe announced itself";
    return false;
  }
  // One write(): a reader sees the whole object or text that does not parse yet.
  const ssize_t n = write(start.announce_fd, text.data(), text.size());
  const int write_errno = errno;
  close(start.announce_fd);
  if (n != static_cast<ssize_t>(text.size())) {
    *error = "cannot write " + start.path + ": " + (n < 0 ? std::strerror(write_errno) : "short write");
    unlink(start.path.c_str());
    return false;
  }
  return true;
}

void* ProbeThread(void* arg) {
  const Start start = *static_cast<Start*>(arg);
  delete static_cast<Start*>(arg);
  try {
    // Named for `top -H` and /proc/<pid>/task/*/comm.
    pthread_setname_np(pthread_self(), "leaklab-probe");
    static ProbeHost commands;
    std::string error;
    bool ours = true;
    if (!WriteAnnouncement(start, commands, &error, &ours)) {
      Fail(error);
      if (ours) start.server->CloseInherited();
      return nullptr;
    }
    Fail(start.server->Run(commands));
  } catch (const std::exception& e) {
    Fail(e.what());
  } catch (...) {
    Fail("unexpected exception");
  }
  return nullptr;
}

// Programs in which a second thread does harm, and which exec the real program next (the
// probe starts again there). A process that changes its credentials with per-thread calls
// (setpriv: PR_SET_KEEPCAPS and capset on the main thread) and then calls setresgid has
// glibc abort it, because the probe thread's setresgid fails where the main thread's
// succeeds; unshare(CLONE_NEWUSER) fails with EINVAL in any process with two threads.
// Measured with setpriv and unshare -U (docs/targets.md, "Reliability").
bool IsCredentialWrapper() {
  const std::string exe = SelfExe();
  const std::string name = exe.substr(exe.rfind('/') + 1);
  static const char* const kWrappers[] = {"setpriv", "capsh", "su", "sudo", "runuser", "unshare",
                                          "nsenter", "bwrap", "chroot", "leaklab-launch"};
  for (const char* w : kWrappers)
    if (name == w) return true;
  return false;
}

void AfterForkInChild() {
  if (g_server != nullptr) g_server->CloseInherited();
  g_server = nullptr;
}

__attribute__((constructor)) void StartProbe() {
  const char* dir = std::getenv("LEAKLAB_PROBE_DIR");
  if (dir == nullptr || *dir == '\0' || IsCredentialWrapper()) return;
  static ProbeServer server;
  std::string error;
  if (!server.Open(&error)) {
    Fail(error);
    server.CloseInherited();
    return;
  }
  const std::string path = std::string(dir) + "/probe-" + std::to_string(getpid()) + ".json";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    Fail("cannot create " + path + ": " + std::strerror(errno));
    server.CloseInherited();
    return;
  }
  g_server = &server;
  pthread_atfork(nullptr, nullptr, &AfterForkInChild);
  // The probe thread takes no signals: the host's handlers and sigwait() keep theirs.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  auto* arg = new Start{&server, fd, FileIdentOf(fd), path};
  const int rc = pthread_create(&thread, &attr, &ProbeThread, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    delete arg;
    close(fd);
    unlink(path.c_str());
    server.CloseInherited();
    g_server = nullptr;
    Fail(std::string("cannot start its thread: ") + std::strerror(rc));
  }
}

}  // namespace
}  // namespace leaklab::probe
