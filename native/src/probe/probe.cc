// libleaklab-probe.so: preloaded into a process the lab did not build (LD_PRELOAD), it
// serves the relay's admin commands for that process's allocator. Active only when
// LEAKLAB_PROBE_DIR is set: the constructor starts one thread, which listens on
// 127.0.0.1 (port 0) and then writes <dir>/probe-<pid>.json atomically (temp + rename):
//   {"pid":N,"port":P,"allocator":"glibc|tcmalloc|jemalloc|mimalloc|unknown",
//    "malloc_library":"libjemalloc.so.2","version":"..."}
// Children that exec inherit the environment and announce themselves the same way (one
// file per pid). A child forked without exec has no probe thread (threads do not survive
// fork) and closes the inherited sockets. Nothing here may crash or block the host: any
// failure prints one "leaklab-probe:" line to stderr and leaves the probe inert.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "probe_commands.h"
#include "probe_server.h"

namespace leaklab::probe {
namespace {

ProbeServer* g_server = nullptr;  // set on the probe thread before the file is written

void Fail(const std::string& what) {
  std::fprintf(stderr, "leaklab-probe: %s; the probe stays inert\n", what.c_str());
}

bool WriteAnnouncement(const std::string& dir, uint16_t port, const ProbeCommands& commands,
                       std::string* error) {
  nlohmann::ordered_json j;
  j["pid"] = static_cast<int64_t>(getpid());
  j["port"] = port;
  j["allocator"] = commands.allocator().Name();
  j["malloc_library"] = commands.malloc_object().name;
  j["version"] = commands.allocator().Version();
  const std::string text = j.dump() + "\n";
  const std::string final_path = dir + "/probe-" + std::to_string(getpid()) + ".json";
  const std::string tmp = final_path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "we");
  if (f == nullptr) {
    *error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written || std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    *error = "cannot write " + final_path + ": " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

void* ProbeThread(void* arg) {
  const std::string dir = *static_cast<std::string*>(arg);
  delete static_cast<std::string*>(arg);
  try {
    // Named for `top -H` and /proc/<pid>/task/*/comm.
    pthread_setname_np(pthread_self(), "leaklab-probe");
    static ProbeServer server;
    std::string error;
    if (!server.Open(&error)) {
      Fail(error);
      return nullptr;
    }
    g_server = &server;
    static ProbeCommands commands;
    if (!WriteAnnouncement(dir, server.port(), commands, &error)) {
      Fail(error);
      server.CloseInherited();
      return nullptr;
    }
    server.Run(commands);
  } catch (const std::exception& e) {
    Fail(e.what());
  } catch (...) {
    Fail("unexpected exception");
  }
  return nullptr;
}

void AfterForkInChild() {
  if (g_server != nullptr) g_server->CloseInherited();
  g_server = nullptr;
}

__attribute__((constructor)) void StartProbe() {
  const char* dir = std::getenv("LEAKLAB_PROBE_DIR");
  if (dir == nullptr || *dir == '\0') return;
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
  auto* arg = new std::string(dir);
  const int rc = pthread_create(&thread, &attr, &ProbeThread, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    delete arg;
    Fail(std::string("cannot start its thread: ") + std::strerror(rc));
  }
}

}  // namespace
}  // namespace leaklab::probe
