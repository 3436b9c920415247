// leaklab-inspect: looks at a live process the lab did not start (issue 24). It stops ONE
// thread that sleeps in a restartable blocking call, runs the allocator's own functions on
// it through a small trampoline written into libc's code padding, and hands the thread back
// with its registers exactly as they were. docs/inspect.md tells the design and its limits.
//
//   leaklab-inspect <threads|resolve|counters|release|malloc-info|call> <pid> [options]
//
// One JSON line on stdout. Exit 0 ok, 1 failure, 2 usage, 3 refused, 4 time limit.
#include <elf.h>
#include <fcntl.h>
#include <libunwind-ptrace.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <cpuid.h>
#include <x86intrin.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alloc/adapter.h"
#include "alloc/raw.h"
#include "control/ledger_json.h"

#include "elf_objects.h"
#include "alloc/mimalloc_stats_text.h"

extern "C" const unsigned char leaklab_tramp_start[], leaklab_tramp_end[];

namespace leaklab::inspect {
namespace {

using json = nlohmann::json;
namespace alloc = leaklab::alloc;
// The allocator API names the inspector resolves in its target (alloc/raw.h: each defined
// in its allocator's file, beside the adapter that calls the same functions).
const alloc::GlibcNames& kGl = alloc::kGlibcNames;
const alloc::TcmallocNames& kTc = alloc::kTcmallocNames;
const alloc::JemallocNames& kJe = alloc::kJemallocNames;
const alloc::MimallocNames& kMi = alloc::kMimallocNames;

// allocated_bytes, free_bytes and unmapped_bytes from the allocator file's formula (null: -1).
void Normalized(const alloc::Normalized& n, json& j) {
  auto or_null = [](int64_t v) { return v < 0 ? json(nullptr) : json(v); };
  j["allocated_bytes"] = or_null(n.allocated_bytes);
  j["free_bytes"] = or_null(n.free_bytes);
  j["unmapped_bytes"] = or_null(n.unmapped_bytes);
}

bool Number(const json& v, uint64_t* out) {
  if (!v.is_number()) return false;
  *out = v.get<uint64_t>();
  return true;
}
using Clock = std::chrono::steady_clock;

// ---- state layout on the target's stack (offsets used by trampoline.S) ----
constexpr uint64_t kStage = 0, kNCalls = 8, kTgid = 16, kTid = 24, kSig = 32, kRestoreSp = 40, kTscStart = 48,
                   kTscEnd = 56;
constexpr uint64_t kCalls = 64, kCallSize = 128, kMaxCalls = 16, kXsave = 2112;
constexpr uint64_t kRedZone = 128, kMargin = 384, kRetImm = kRedZone + kMargin;  // `ret 512`
constexpr uint64_t kFlagRdiHandle = 1, kFlagRsiHandle = 2, kFlagSave = 0x40, kFlagSkipNull = 0x80;
constexpr size_t kMallocInfoCap = 64 * 1024;
constexpr uint64_t kStackHeadroom = 256 * 1024;  // below the state, for the called functions

enum Exit { kOk = 0, kFail = 1, kUsage = 2, kRefused = 3, kTime = 4 };

Clock::time_point g_start = Clock::now();
const uint64_t g_tsc_start = __rdtsc();
double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Failure {
  int code;
  std::string error, reason;
};

[[noreturn]] void Fail(int code, const std::string& error, const std::string& reason) { throw Failure{code, error, reason}; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string StatusField(const std::string& status, const std::string& key) {
  const std::string k = "\n" + key + ":";
  size_t at = status.find(k);
  if (at == std::string::npos) {
    if (status.rfind(key + ":", 0) == 0) at = 0; else return "";
  } else {
    at += 1;
  }
  at += key.size() + 1;
  size_t end = status.find('\n', at);
  std::string v = status.substr(at, end == std::string::npos ? std::string::npos : end - at);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

uint64_t HexMask(const std::string& s) { return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 16); }

std::string Hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// ---- options ----
struct Options {
  std::string command;
  pid_t pid = 0;
  double park_wait_ms = 1000, max_stop_ms = 50, call_timeout_ms = 5000;
  bool rt = true;
  std::string stack = "auto";  // auto | unwind | scan
  pid_t only_tid = 0;
  std::vector<std::string> call_args;
};

// ---- syscalls a thread may be parked in ----
const char* SyscallName(long nr) {
  switch (nr) {
    case 0: return "read";
    case 7: return "poll";
    case 17: return "pread64";
    case 19: return "readv";
    case 23: return "select";
    case 34: return "pause";
    case 35: return "nanosleep";
    case 43: return "accept";
    case 45: return "recvfrom";
    case 47: return "recvmsg";
    case 56: return "clone";
    case 57: return "fork";
    case 58: return "vfork";
    case 61: return "wait4";
    case 128: return "rt_sigtimedwait";
    case 130: return "rt_sigsuspend";
    case 202: return "futex";
    case 219: return "restart_syscall";
    case 230: return "clock_nanosleep";
    case 232: return "epoll_wait";
    case 247: return "waitid";
    case 270: return "pselect6";
    case 271: return "ppoll";
    case 281: return "epoll_pwait";
    case 288: return "accept4";
    case 441: return "epoll_pwait2";
    case 9: return "mmap";
    case 11: return "munmap";
    case 12: return "brk";
    case 28: return "madvise";
    case 1: return "write";
    default: return nullptr;
  }
}

// Why a parked call is not usable, or "" when it is.
std::string SyscallWhyNot(long nr, const uint64_t a[6]) {
  switch (nr) {
    case 0: case 19: case 45: case 47: case 43: case 288: case 7: case 23: case 34: case 35: case 230: case 232:
    case 219:  // restart_syscall: a sleep resumed after a stop
      return "";
    case 281: case 441:
      return a[4] == 0 ? "" : "swaps the signal mask";
    case 270: case 271:
      return "swaps the signal mask";
    case 130: return "swaps the signal mask (sigsuspend)";
    case 61: case 247: return "waits for a child";
    case 202: {
      const uint64_t op = a[1] & 0x7f;
      return op == 0 || op == 9 ? "" : "futex operation other than a wait";
    }
    default: return "not parked in a call known to restart or fail cleanly";
  }
}

struct ThreadInfo {
  pid_t tid = 0;
  std::string name, state;
  bool in_syscall = false;
  long nr = -1;
  uint64_t args[6] = {};
  uint64_t sp = 0, pc = 0;
  std::string why_not;
  // epoll_wait (or epoll_pwait with no mask) with a timeout: it returns EINTR after any
  // ptrace stop and that cannot be hidden, so such a thread is tried last.
  bool eintr = false;
};

std::vector<pid_t> Tids(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(std::atoi(e->d_name));
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

ThreadInfo ReadThread(pid_t pid, pid_t tid) {
  ThreadInfo t;
  t.tid = tid;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
  t.name = ReadFile(dir + "/comm");
  if (!t.name.empty() && t.name.back() == '\n') t.name.pop_back();
  const std::string status = ReadFile(dir + "/status");
  const std::string st = StatusField(status, "State");
  t.state = st.empty() ? "?" : st.substr(0, 1);
  const std::string sc = ReadFile(dir + "/syscall");
  if (!sc.empty() && sc.rfind("running", 0) != 0) {
    std::istringstream in(sc);
    std::string nr;
    in >> nr;
    if (nr != "-1") {
      t.in_syscall = true;
      t.nr = std::strtol(nr.c_str(), nullptr, 10);
      std::string v;
      for (int i = 0; i < 6 && (in >> v); ++i) t.args[i] = std::strtoull(v.c_str(), nullptr, 16);
      if (in >> v) t.sp = std::strtoull(v.c_str(), nullptr, 16);
      if (in >> v) t.pc = std::strtoull(v.c_str(), nullptr, 16);
    }
  }
  if (StatusField(status, "TracerPid") != "0" && !StatusField(status, "TracerPid").empty()) t.why_not = "traced";
  else if (t.state != "S") t.why_not = "not asleep (state " + t.state + ")";
  else if (!t.in_syscall) t.why_not = "not in a system call";
  else t.why_not = SyscallWhyNot(t.nr, t.args);
  if (t.why_not.empty() && !ReadFile(dir + "/children").empty()) t.why_not = "has child processes";
  t.eintr = t.why_not.empty() && (t.nr == 232 || t.nr == 281) && static_cast<int>(t.args[3]) >= 0;
  return t;
}

json ThreadJson(const ThreadInfo& t) {
  json j = {{"tid", t.tid}, {"name", t.name}, {"state", t.state}};
  if (t.in_syscall) {
    const char* n = SyscallName(t.nr);
    json args = json::array();
    for (uint64_t a : t.args) args.push_back(Hex(a));
    j["syscall"] = {{"nr", t.nr}, {"name", n ? n : ("syscall_" + std::to_string(t.nr))}, {"args", args}};
  } else {
    j["syscall"] = nullptr;
  }
  j["candidate"] = t.why_not.empty();
  j["eintr_to_program"] = t.eintr;
  j["why_not"] = t.why_not.empty() ? json(nullptr) : json(t.why_not);
  return j;
}

// ---- resolve ----
struct Range {
  uint64_t lo, hi;
  std::string why;
};

struct Resolved {
  std::vector<Mapping> maps;
  std::vector<Object> objects;
  std::string exe;
  std::string allocator = "unknown";
  bool is_static = false;
  const Object* malloc_object = nullptr;
  const Object* libc = nullptr;
  uint64_t malloc_addr = 0;
  std::vector<Range> deny;
  std::string release_call;
  std::map<std::string, uint64_t> fns;
};

std::string Base(const std::string& p) { return p.substr(p.rfind('/') + 1); }

void DenySpan(const Object& o, const std::set<std::string>& names, const std::string& why, std::vector<Range>* deny) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const Symbol& s : o.functions)
    if (names.count(s.name.substr(0, s.name.find('@')))) lo = std::min(lo, s.addr), hi = std::max(hi, s.addr);
  if (hi == 0) return;
  uint64_t start = lo, end = hi + 1;
  // From the end of the exported function before the span to the next exported function
  // after it: static helpers (_int_malloc, _IO_flush_all_lockp) sit in between.
  for (const Symbol& s : o.functions) {
    const std::string b = s.name.substr(0, s.name.find('@'));
    if (names.count(b)) continue;
    if (s.addr < lo && s.addr + s.size <= lo) start = s.addr + s.size;
    if (s.addr > hi) { end = s.addr; break; }
  }
  if (start > lo) start = lo;
  deny->push_back({start, end, why});
}

Resolved Resolve(pid_t pid) {
  Resolved r;
  r.maps = ReadMaps(pid);
  r.objects = LoadObjects(pid, r.maps, &r.exe);
  const Object* main = nullptr;
  for (const Object& o : r.objects) {
    if (o.main_program) main = &o;
    if (Base(o.path).rfind("libc.so", 0) == 0) r.libc = &o;
  }
  r.is_static = r.libc == nullptr && main != nullptr && !main->has_interp;
  // Who serves malloc: the main program if it defines it, then any object other than libc
  // (a preload or a linked allocator), then libc.
  auto defines = [](const Object& o) { return o.Find("malloc") != 0; };
  if (main && defines(*main) && main != r.libc) r.malloc_object = main;
  for (const Object& o : r.objects)
    if (!r.malloc_object && &o != r.libc && defines(o) && Base(o.path).rfind("ld-linux", 0) != 0) r.malloc_object = &o;
  if (!r.malloc_object && r.libc) r.malloc_object = r.libc;
  if (r.malloc_object) {
    const Object& m = *r.malloc_object;
    r.malloc_addr = m.Find("malloc");
    if (m.Find(kTc.get_property)) r.allocator = "tcmalloc";
    else if (m.Find(kJe.ctl)) r.allocator = "jemalloc";
    else if (m.Find(kMi.version)) r.allocator = "mimalloc";
    else if (&m == r.libc && m.Find(kGl.trim)) r.allocator = "glibc";
  }
  const char* const kFns[] = {
      kGl.trim, kGl.counters, kGl.info, kTc.get_property, kTc.release, kJe.ctl,
      kMi.version, kMi.collect, kMi.process_info, kMi.stats_print, kTc.get_stats};
  if (r.malloc_object)
    for (const char* f : kFns)
      if (uint64_t a = r.malloc_object->Find(f)) r.fns[f] = a;
  if (r.libc)
    for (const char* f : {"fmemopen", "fclose", "setvbuf", "fputs"})
      if (uint64_t a = r.libc->Find(f)) r.fns[f] = a;
  if (r.allocator == "glibc") r.release_call = kGl.release_call;
  else if (r.allocator == "tcmalloc") r.release_call = kTc.release_call;
  else if (r.allocator == "jemalloc") r.release_call = kJe.release_call;
  else if (r.allocator == "mimalloc") r.release_call = kMi.release_label;
  // Code a parked thread must not be inside.
  if (r.malloc_object && r.malloc_object != r.libc && !r.malloc_object->main_program)
    for (auto [lo, hi] : r.malloc_object->exec_ranges) r.deny.push_back({lo, hi, "allocator " + Base(r.malloc_object->path)});
  if (r.libc) {
    std::set<std::string> family;
    for (const char* const* f = kGl.malloc_family; *f != nullptr; ++f) family.insert(*f);
    DenySpan(*r.libc, family, "glibc malloc", &r.deny);
    DenySpan(*r.libc, {"fork", "__fork", "__libc_fork", "_Fork"}, "fork", &r.deny);
    DenySpan(*r.libc, {"_IO_flush_all", "_IO_flush_all_linebuffered", "_flushlbf"}, "stdio list lock", &r.deny);
    DenySpan(*r.libc, {"_IO_list_lock", "_IO_list_unlock", "_IO_list_resetlock"}, "stdio list lock", &r.deny);
    if (r.libc->sigreturn) r.deny.push_back({r.libc->sigreturn - 1, r.libc->sigreturn + 9, "signal return (a signal frame)"});
    // the trampoline itself (another inspector mid-call)
    r.deny.push_back({(r.libc->text_end + 15) & ~uint64_t{15}, r.libc->text_page_end, "trampoline"});
  }
  for (const Object& o : r.objects)
    if (Base(o.path).rfind("ld-linux", 0) == 0)
      for (auto [lo, hi] : o.exec_ranges) r.deny.push_back({lo, hi, "ld.so"});
  return r;
}

json ResolveJson(const Resolved& r) {
  json fns = json::object();
  for (auto& [k, v] : r.fns) fns[k] = Hex(v);
  json objs = json::array();
  for (const Object& o : r.objects)
    objs.push_back({{"path", o.path}, {"bias", Hex(o.bias)}, {"main_program", o.main_program},
                    {"build_id", o.build_id.empty() ? json(nullptr) : json(o.build_id)}});
  json deny = json::array();
  for (const Range& d : r.deny) deny.push_back({{"lo", Hex(d.lo)}, {"hi", Hex(d.hi)}, {"why", d.why}});
  json j = {{"allocator", r.allocator}, {"static", r.is_static}, {"functions", fns}, {"objects", objs},
            {"release_call", r.release_call.empty() ? json(nullptr) : json(r.release_call)}, {"deny_ranges", deny}};
  j["malloc"] = r.malloc_object ? json{{"object", r.malloc_object->path}, {"address", Hex(r.malloc_addr)}} : json(nullptr);
  return j;
}

// ---- refusals ----
void CheckRefusals(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const std::string status = ReadFile(dir + "/status");
  if (status.empty()) Fail(kFail, "failed", "no process " + std::to_string(pid));
  const std::string stat = ReadFile(dir + "/stat");
  {
    const size_t rp = stat.rfind(')');
    std::istringstream in(stat.substr(rp + 2));
    std::string f;
    unsigned long flags = 0;
    for (int i = 3; i <= 9 && (in >> f); ++i)
      if (i == 9) flags = std::strtoul(f.c_str(), nullptr, 10);
    if (flags & 0x00200000) Fail(kRefused, "refused", "kernel thread");
  }
  const std::string scope = ReadFile("/proc/sys/kernel/yama/ptrace_scope");
  const uint64_t cap_eff = HexMask(StatusField(ReadFile("/proc/self/status"), "CapEff"));
  const bool cap_ptrace = cap_eff & (1ull << 19);
  if (!scope.empty()) {
    const int s = std::atoi(scope.c_str());
    if (s >= 3 || (s >= 1 && !cap_ptrace))
      Fail(kRefused, "refused", "kernel.yama.ptrace_scope is " + std::to_string(s));
  }
  for (pid_t tid : Tids(pid)) {
    const std::string ts = ReadFile(dir + "/task/" + std::to_string(tid) + "/status");
    const std::string tracer = StatusField(ts, "TracerPid");
    if (!tracer.empty() && tracer != "0")
      Fail(kRefused, "refused", "already traced by pid " + tracer + " (thread " + std::to_string(tid) + ")");
  }
  std::istringstream uids(StatusField(status, "Uid"));
  unsigned ruid = 0, euid = 0;
  uids >> ruid >> euid;
  if ((ruid != getuid() || euid != getuid()) && !cap_ptrace)
    Fail(kRefused, "refused", "process of another user (uid " + std::to_string(euid) + ") and no CAP_SYS_PTRACE");
  struct stat st {};
  if (::stat((dir + "/status").c_str(), &st) == 0 && st.st_uid != euid)
    Fail(kRefused, "refused", "process is not dumpable (PR_SET_DUMPABLE 0 or changed credentials)");
  const std::string seccomp = StatusField(status, "Seccomp");
  if (!seccomp.empty() && seccomp != "0") Fail(kRefused, "refused", "seccomp filter or strict mode (Seccomp: " + seccomp + ")");
  const std::string feat = StatusField(status, "x86_Thread_features");
  if (feat.find("shstk") != std::string::npos) Fail(kRefused, "refused", "CET shadow stack enabled");
}

int TakeLock(pid_t pid) {
  const std::string path = "/tmp/leaklab-inspect." + std::to_string(pid) + ".lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) Fail(kFail, "failed", "lock " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) Fail(kRefused, "refused", "another inspector holds the lock " + path);
  return fd;
}

// ---- memory ----
bool ReadMem(pid_t pid, uint64_t addr, void* buf, size_t n) {
  iovec l{buf, n}, r{reinterpret_cast<void*>(addr), n};
  return process_vm_readv(pid, &l, 1, &r, 1, 0) == static_cast<ssize_t>(n);
}
bool WriteMem(pid_t pid, uint64_t addr, const void* buf, size_t n) {
  iovec l{const_cast<void*>(buf), n}, r{reinterpret_cast<void*>(addr), n};
  return process_vm_writev(pid, &l, 1, &r, 1, 0) == static_cast<ssize_t>(n);
}

// ---- the stopped thread ----
struct CallRec {
  uint64_t fn = 0, a[6] = {}, stack[2] = {}, pad = 0, rax = 0, rdx = 0, done = 0, flags = 0, pad2[2] = {};
};
static_assert(sizeof(CallRec) == kCallSize, "call record size");

struct Plan {  // what the caller wants run, with its data in the state area
  std::vector<CallRec> calls;
  std::vector<std::string> names;
  std::vector<uint8_t> data;  // laid at data_at in the state
  // Adds bytes to the data area; returns their offset within it.
  uint64_t Add(const void* p, size_t n) {
    const uint64_t at = (data.size() + 15) & ~uint64_t{15};
    data.resize(at + n);
    std::memcpy(data.data() + at, p, n);
    return at;
  }
  uint64_t AddStr(const std::string& s) { return Add(s.c_str(), s.size() + 1); }
  uint64_t Zero(size_t n) {
    const uint64_t at = (data.size() + 15) & ~uint64_t{15};
    data.resize(at + n);
    return at;
  }
  // Args given as data offsets are marked by this bit and rebased once the area is placed.
  static constexpr uint64_t kData = 1ull << 63;
};

uint32_t XsaveSize() {
  unsigned a, b, c, d;
  __cpuid_count(0xd, 0, a, b, c, d);
  return (b + 63) & ~63u;
}

struct Chosen {
  pid_t tid = 0;
  user_regs_struct regs{};
  long nr = -1;
  std::string stack_method;
  int frames = 0;
  int first_signal = 0;  // a signal the thread was stopping for when we got it
  Clock::time_point stopped;  // when PTRACE_INTERRUPT was sent
  double unwind_ms = 0;
  double wake_ms = 0;  // from PTRACE_INTERRUPT to the stop
};

struct Result {
  std::vector<CallRec> calls;
  std::vector<uint8_t> data;
  double stop_ms = 0, call_ms = 0, setup_ms = 0, target_call_ms = 0;
  json skipped = json::array();
  int attempts = 0;
  json thread;
  json trampoline;
  bool eintr = false;  // the chosen thread's call returns EINTR to the program
};

bool WaitStop(pid_t tid, int* status) {
  for (;;) {
    const pid_t r = waitpid(tid, status, __WALL);
    if (r == tid) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}


// The registers the kernel would run with after the stop if no handler ran: the state the
// self-restore path must recreate, and what epoll_wait's EINTR is rewritten to.
void ResumeForm(const user_regs_struct& r, bool hide_eintr, uint64_t* rip, uint64_t* rax) {
  const int64_t ret = static_cast<int64_t>(r.rax);
  *rip = r.rip;
  *rax = r.rax;
  if (static_cast<int64_t>(r.orig_rax) < 0) return;
  if (ret == -512 || ret == -513 || ret == -514) *rip = r.rip - 2, *rax = r.orig_rax;  // ERESTARTSYS/NOINTR/NOHAND
  else if (ret == -516) *rip = r.rip - 2, *rax = 219;                                   // ERESTART_RESTARTBLOCK
  else if (ret == -EINTR && hide_eintr) *rip = r.rip - 2, *rax = r.orig_rax;
}

bool HideEintr(const user_regs_struct& r) {
  // epoll_wait / epoll_pwait (no mask) with no timeout return EINTR after any ptrace stop.
  const long nr = static_cast<long>(r.orig_rax);
  if (nr == 232 || nr == 281) return static_cast<int>(r.r10) < 0 && (nr == 232 || r.r8 == 0);
  return false;
}

// Frames: unwind with libunwind (precise), or scan the stack for return addresses.
struct StackCheck {
  std::string method;
  int frames = 0;
  std::string deny;  // why the thread is not usable, or ""
};

const Range* InDeny(const std::vector<Range>& deny, uint64_t ip) {
  for (const Range& d : deny)
    if (ip >= d.lo && ip < d.hi) return &d;
  return nullptr;
}

// libunwind with our own accessors: the unwind tables come from .eh_frame_hdr of the objects
// already loaded, read from local copies of their read-only segments (libunwind's ptrace
// accessors re-read /proc/P/maps and re-map a file per frame, and open files by path); the
// registers from the GETREGS already done; only the stack is read from the target.
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t, unw_word_t, unw_dyn_info_t*, unw_proc_info_t*, int, void*);

struct UnwindCtx {
  pid_t tid;
  const Resolved* r;
  const user_regs_struct* regs;
};

const Object* ObjectAt(const Resolved& r, uint64_t ip) {
  for (const Object& o : r.objects)
    for (auto [lo, hi] : o.exec_ranges)
      if (ip >= lo && ip < hi) return &o;
  return nullptr;
}

int FindProcInfo(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need, void* arg) {
  auto* c = static_cast<UnwindCtx*>(arg);
  const Object* o = ObjectAt(*c->r, ip);
  if (!o || !o->eh_frame_hdr || !o->fde_count) return -UNW_ENOINFO;
  unw_dyn_info_t di{};
  di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  di.start_ip = o->exec_ranges.front().first;
  di.end_ip = o->exec_ranges.back().second;
  di.u.rti.segbase = o->eh_frame_hdr;
  di.u.rti.table_len = o->fde_count * 8 / sizeof(unw_word_t);
  di.u.rti.table_data = o->eh_frame_hdr + 12;
  return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
}

void PutUnwindInfo(unw_addr_space_t, unw_proc_info_t* pi, void*) {
  free(pi->unwind_info);
  pi->unwind_info = nullptr;
}

int GetDynInfoListAddr(unw_addr_space_t, unw_word_t*, void*) { return -UNW_ENOINFO; }

int AccessMem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write, void* arg) {
  if (write) return -UNW_EINVAL;
  auto* c = static_cast<UnwindCtx*>(arg);
  for (const Object& o : c->r->objects)
    if (o.ReadLocal(addr, val, sizeof *val)) return 0;
  return ReadMem(c->tid, addr, val, sizeof *val) ? 0 : -UNW_EINVAL;
}

int AccessReg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write, void* arg) {
  if (write) return -UNW_EREADONLYREG;
  const user_regs_struct& g = *static_cast<UnwindCtx*>(arg)->regs;
  const unsigned long long map[] = {g.rax, g.rdx, g.rcx, g.rbx, g.rsi, g.rdi, g.rbp, g.rsp, g.r8,
                                    g.r9,  g.r10, g.r11, g.r12, g.r13, g.r14, g.r15, g.rip};
  if (reg < 0 || reg > 16) return -UNW_EBADREG;
  *val = map[reg];
  return 0;
}

int AccessFpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EBADREG; }
int Resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }
int GetProcName(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*) { return -UNW_ENOINFO; }

unw_addr_space_t g_as = nullptr;

StackCheck Unwind(pid_t tid, const Resolved& r, const user_regs_struct& regs) {
  StackCheck c{"unwind", 0, ""};
  if (!g_as) {
    static unw_accessors_t acc{};
    acc.find_proc_info = FindProcInfo;
    acc.put_unwind_info = PutUnwindInfo;
    acc.get_dyn_info_list_addr = GetDynInfoListAddr;
    acc.access_mem = AccessMem;
    acc.access_reg = AccessReg;
    acc.access_fpreg = AccessFpreg;
    acc.resume = Resume;
    acc.get_proc_name = GetProcName;
    g_as = unw_create_addr_space(&acc, 0);
    unw_set_caching_policy(g_as, UNW_CACHE_GLOBAL);
  }
  UnwindCtx ctx{tid, &r, &regs};
  unw_cursor_t cur;
  bool complete = false;
  if (unw_init_remote(&cur, g_as, &ctx) == 0) {
    for (int i = 0; i < 512; ++i) {
      unw_word_t ip = 0;
      unw_get_reg(&cur, UNW_REG_IP, &ip);
      ++c.frames;
      // A caller's ip points after its call: test ip - 1 except in the first frame.
      const uint64_t probe = i == 0 ? ip : ip - 1;
      if (const Range* d = InDeny(r.deny, probe)) { c.deny = "frame in " + d->why + " at " + Hex(ip); break; }
      if (unw_is_signal_frame(&cur) > 0) { c.deny = "signal frame (inside a signal handler)"; break; }
      const int s = unw_step(&cur);
      if (s == 0) { complete = true; break; }
      if (s < 0) break;
    }
  }
  if (c.deny.empty() && !complete) c.method = "incomplete";
  return c;
}

StackCheck Scan(pid_t pid, const Resolved& r, const user_regs_struct& regs) {
  StackCheck c{"scan", 0, ""};
  uint64_t end = 0;
  for (const Mapping& m : r.maps)
    if (regs.rsp >= m.start && regs.rsp < m.end) end = m.end;
  if (InDeny(r.deny, regs.rip)) { c.deny = "pc in " + InDeny(r.deny, regs.rip)->why; return c; }
  if (end == 0) { c.deny = "stack pointer outside any mapping"; return c; }
  end = std::min<uint64_t>(end, regs.rsp + 512 * 1024);
  std::vector<uint64_t> words((end - regs.rsp) / 8);
  if (!ReadMem(pid, regs.rsp, words.data(), words.size() * 8)) { c.deny = "stack unreadable"; return c; }
  for (uint64_t w : words) {
    if (const Range* d = InDeny(r.deny, w - 1)) {
      c.deny = "stack word " + Hex(w) + " points into " + d->why + " (conservative scan)";
      return c;
    }
  }
  c.frames = static_cast<int>(words.size());
  return c;
}

// Signals the thread would have discarded untraced: default-ignored or ignored, not caught.
bool WouldDiscard(pid_t pid, int sig) {
  const std::string st = ReadFile("/proc/" + std::to_string(pid) + "/status");
  const uint64_t ign = HexMask(StatusField(st, "SigIgn")), cgt = HexMask(StatusField(st, "SigCgt"));
  const uint64_t bit = 1ull << (sig - 1);
  if (cgt & bit) return false;
  if (ign & bit) return true;
  return sig == SIGURG || sig == SIGWINCH || sig == SIGCHLD || sig == SIGCONT;
}

int HandbackSignal(pid_t pid, pid_t tid) {
  const std::string st = ReadFile("/proc/" + std::to_string(pid) + "/status");
  const std::string ts = ReadFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  const uint64_t busy = HexMask(StatusField(st, "SigCgt")) | HexMask(StatusField(ts, "SigBlk")) |
                        HexMask(StatusField(ts, "SigPnd")) | HexMask(StatusField(st, "ShdPnd"));
  for (int s : {SIGURG, SIGWINCH, SIGCHLD})
    if (!(busy & (1ull << (s - 1)))) return s;
  return 0;
}

// Installs the trampoline into libc's code padding unless it is there already.
uint64_t InstallTrampoline(pid_t pid, const Resolved& r, bool* installed_now) {
  if (!r.libc) Fail(kFail, "failed", "no libc mapped: nowhere to put the trampoline");
  const size_t n = leaklab_tramp_end - leaklab_tramp_start;
  const uint64_t at = (r.libc->text_end + 15) & ~uint64_t{15};
  if (at + n > r.libc->text_page_end) Fail(kFail, "failed", "libc has no room after its code");
  std::vector<uint8_t> cur(n);
  const std::string mem = "/proc/" + std::to_string(pid) + "/mem";
  const int fd = open(mem.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) Fail(kFail, "failed", mem + ": " + std::strerror(errno));
  if (pread(fd, cur.data(), n, at) != static_cast<ssize_t>(n)) { close(fd); Fail(kFail, "failed", "read libc padding"); }
  *installed_now = false;
  if (std::memcmp(cur.data(), leaklab_tramp_start, n) != 0) {
    for (uint8_t b : cur)
      if (b != 0) { close(fd); Fail(kFail, "failed", "libc padding after its code is not empty"); }
    if (pwrite(fd, leaklab_tramp_start, n, at) != static_cast<ssize_t>(n)) {
      close(fd);
      Fail(kFail, "failed", std::string("write trampoline: ") + std::strerror(errno));
    }
    *installed_now = true;
  }
  close(fd);
  return at;
}

struct Session {
  const Options& opt;
  pid_t pid;
  const Resolved& r;
  Result res;
  Chosen ch;
  uint64_t need_stack = 0;
};

// The lowest address the stack holding sp can use: a thread stack's mapping start, or for
// the main thread's [stack] (which grows on demand) its end less the stack size limit.
uint64_t StackLow(pid_t pid, const std::vector<Mapping>& maps, uint64_t sp) {
  for (const Mapping& m : maps) {
    if (sp < m.start || sp >= m.end) continue;
    if (m.path != "[stack]") return m.start;
    uint64_t limit = 8 << 20;
    std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/limits"));
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("Max stack size", 0) == 0) {
        const std::string v = line.substr(26);
        if (v.rfind("unlimited", 0) != 0) limit = std::strtoull(v.c_str(), nullptr, 10);
      }
    return m.end > limit ? m.end - std::min<uint64_t>(limit, 64ull << 20) + 65536 : 0;
  }
  return 0;
}

// Stops one candidate thread; true when it is usable (then it stays stopped in ch).
bool TryThread(Session& s, const ThreadInfo& t) {
  ++s.res.attempts;
  auto skip = [&](const std::string& why) {
    s.res.skipped.push_back({{"tid", t.tid}, {"reason", why}});
    return false;
  };
  if (ptrace(PTRACE_SEIZE, t.tid, 0, 0) != 0) return skip(std::string("PTRACE_SEIZE: ") + std::strerror(errno));
  Chosen ch;
  ch.tid = t.tid;
  const auto t_interrupt = Clock::now();
  int status = 0;
  if (ptrace(PTRACE_INTERRUPT, t.tid, 0, 0) != 0 || !WaitStop(t.tid, &status) || !WIFSTOPPED(status)) {
    ptrace(PTRACE_DETACH, t.tid, 0, 0);
    return skip("could not stop it");
  }
  // The stop starts when the thread is stopped: until then it was waking from its sleep
  // (runnable, waiting for a core), which can take long on a loaded machine.
  ch.stopped = Clock::now();
  ch.wake_ms = MsSince(t_interrupt) - MsSince(ch.stopped);
  if (status >> 16 != PTRACE_EVENT_STOP) ch.first_signal = WSTOPSIG(status);
  ptrace(PTRACE_GETREGS, t.tid, 0, &ch.regs);
  auto release = [&](const std::string& why) {
    user_regs_struct back = ch.regs;
    if (HideEintr(back)) {
      uint64_t rip, rax;
      ResumeForm(back, true, &rip, &rax);
      back.rip = rip, back.rax = rax, back.orig_rax = ~0ull;
      ptrace(PTRACE_SETREGS, t.tid, 0, &back);
    }
    ptrace(PTRACE_DETACH, t.tid, 0, ch.first_signal);
    return skip(why);
  };
  // Re-check the call from the registers: still in it, and interrupted.
  const int64_t rax = static_cast<int64_t>(ch.regs.rax);
  if (static_cast<long>(ch.regs.orig_rax) != t.nr) return release("left its call before the stop");
  if (!(rax == -512 || rax == -513 || rax == -514 || rax == -516 || rax == -EINTR))
    return release("its call completed before the stop (rax " + std::to_string(rax) + ")");
  // Re-apply the EINTR rewrite at once, so an inspector killed from here on hides it too.
  if (HideEintr(ch.regs)) {
    user_regs_struct early = ch.regs;
    uint64_t rip, rax2;
    ResumeForm(early, true, &rip, &rax2);
    early.rip = rip, early.rax = rax2, early.orig_rax = ~0ull;
    ptrace(PTRACE_SETREGS, t.tid, 0, &early);
  }
  // Room on its stack for the call state and the called functions.
  const uint64_t lo = StackLow(s.pid, s.r.maps, ch.regs.rsp);
  if (lo == 0 || ch.regs.rsp < lo + s.need_stack) return release("less stack room than the call needs");
  StackCheck c;
  const auto t_unwind = Clock::now();
  if (s.opt.stack != "scan") c = Unwind(t.tid, s.r, ch.regs);
  if (s.opt.stack == "scan" || (c.deny.empty() && c.method == "incomplete")) c = Scan(s.pid, s.r, ch.regs);
  ch.unwind_ms = MsSince(t_unwind);
  if (!c.deny.empty()) return release(c.deny);
  ch.stack_method = c.method;
  ch.frames = c.frames;
  ch.nr = t.nr;
  s.ch = ch;
  return true;
}

void ChooseThread(Session& s) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(s.opt.park_wait_ms * 1000));
  for (;;) {
    // Threads whose call would see EINTR (a timed epoll_wait) only when no other will do.
    for (const bool allow_eintr : {false, true}) {
      for (pid_t tid : Tids(s.pid)) {
        if (s.opt.only_tid && tid != s.opt.only_tid) continue;
        ThreadInfo t = ReadThread(s.pid, tid);
        if (!t.why_not.empty()) {
          // --tid: say why that thread was not tried (once)
          if (s.opt.only_tid && s.res.skipped.empty()) s.res.skipped.push_back({{"tid", tid}, {"reason", t.why_not}});
          continue;
        }
        if (t.eintr != allow_eintr) continue;
        if (TryThread(s, t)) {
          s.res.eintr = t.eintr;
          return;
        }
      }
    }
    if (Clock::now() >= deadline) break;
    usleep(5000);
  }
  Fail(kFail, "failed", "no usable thread: none parked in a restartable blocking call outside the allocator");
}

void SetRealtime(bool on, bool allowed) {
  if (!allowed) return;
  sched_param sp{};
  sp.sched_priority = on ? 1 : 0;
  sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp);
}

// Runs the plan on the chosen thread and gives it back. Fills res.calls and res.data.
void RunPlan(Session& s, Plan& plan) {
  const auto t_setup = Clock::now();
  bool installed_now = false;
  const uint64_t tramp = InstallTrampoline(s.pid, s.r, &installed_now);
  s.res.trampoline = {{"object", s.r.libc->path}, {"address", Hex(tramp)}, {"installed_now", installed_now}};
  s.need_stack = kRetImm + 8 + 16 * 8 + kXsave + XsaveSize() + plan.data.size() + 64 + kStackHeadroom;
  SetRealtime(true, s.opt.rt);
  try {
    ChooseThread(s);
  } catch (...) {
    SetRealtime(false, s.opt.rt);
    throw;
  }
  const auto t_stop = s.ch.stopped;
  Chosen& ch = s.ch;
  const user_regs_struct orig = ch.regs;
  const int sig = HandbackSignal(s.pid, ch.tid);
  auto give_back = [&](int deliver) {
    ptrace(PTRACE_SETREGS, ch.tid, 0, &orig);
    if (HideEintr(orig)) {
      user_regs_struct b = orig;
      uint64_t rip, rax;
      ResumeForm(orig, true, &rip, &rax);
      b.rip = rip, b.rax = rax, b.orig_rax = ~0ull;
      ptrace(PTRACE_SETREGS, ch.tid, 0, &b);
    }
    ptrace(PTRACE_DETACH, ch.tid, 0, deliver);
    SetRealtime(false, s.opt.rt);
  };
  if (sig == 0) {
    give_back(ch.first_signal);
    Fail(kFail, "failed", "no hand-back signal: SIGURG, SIGWINCH and SIGCHLD are all caught, blocked or pending");
  }
  // Layout, from the original rsp down: red zone + margin, the `ret 512` slot, the 16-word
  // register block, then the state (64-aligned), then the stack of the called functions.
  const uint64_t slot = orig.rsp - kRetImm - 8;
  const uint64_t regblock = slot - 16 * 8;
  const uint32_t xs = XsaveSize();
  const uint64_t data_off = kXsave + xs;
  const uint64_t state_size = data_off + ((plan.data.size() + 63) & ~uint64_t{63});
  const uint64_t state = (regblock - state_size) & ~uint64_t{63};
  std::vector<uint8_t> buf(state_size, 0);
  auto put64 = [&](uint64_t off, uint64_t v) { std::memcpy(buf.data() + off, &v, 8); };
  put64(kStage, 0);
  put64(kNCalls, plan.calls.size());
  put64(kTgid, s.pid);
  put64(kTid, ch.tid);
  put64(kSig, sig);
  put64(kRestoreSp, regblock);
  for (size_t i = 0; i < plan.calls.size(); ++i) {
    CallRec c = plan.calls[i];
    for (auto& a : c.a)
      if (a & Plan::kData) a = state + data_off + (a & ~Plan::kData);
    for (auto& a : c.stack)
      if (a & Plan::kData) a = state + data_off + (a & ~Plan::kData);
    std::memcpy(buf.data() + kCalls + i * kCallSize, &c, sizeof c);
  }
  std::memcpy(buf.data() + data_off, plan.data.data(), plan.data.size());
  // The register block for the self-restore path (pop order r15 .. rax, rflags, rip).
  uint64_t rip, rax;
  ResumeForm(orig, HideEintr(orig), &rip, &rax);
  const uint64_t regs[17] = {orig.r15, orig.r14, orig.r13, orig.r12, orig.r11, orig.r10, orig.r9, orig.r8, orig.rbp,
                             orig.rdi, orig.rsi, orig.rdx, orig.rcx, orig.rbx, rax, orig.eflags, rip};
  // State first, then the registers that point at it.
  if (!WriteMem(s.pid, state, buf.data(), buf.size()) || !WriteMem(s.pid, regblock, regs, sizeof regs)) {
    give_back(ch.first_signal);
    Fail(kFail, "failed", std::string("writing the call state: ") + std::strerror(errno));
  }
  user_regs_struct entry = orig;
  entry.rip = tramp;
  entry.rsp = state;
  entry.rbx = state;
  entry.rax = 0;
  entry.orig_rax = ~0ull;             // no syscall restart on the way into the trampoline
  entry.eflags &= ~(0x400ull | 0x100ull);  // DF and TF clear, as the ABI wants at a call
  s.res.setup_ms = std::chrono::duration<double, std::milli>(t_stop - t_setup).count();  // before the stop
  if (MsSince(t_stop) > s.opt.max_stop_ms) {
    give_back(ch.first_signal);
    Fail(kTime, "max-stop", "the stop reached " + std::to_string(MsSince(t_stop)) + " ms before the call (--max-stop " +
                                std::to_string(s.opt.max_stop_ms) + ")");
  }
  ptrace(PTRACE_SETREGS, ch.tid, 0, &entry);
  const auto t_call = Clock::now();
  ptrace(PTRACE_CONT, ch.tid, 0, 0);
  // Wait for the hand-back signal; other stops are continued, their signals kept.
  std::vector<int> deferred;
  if (ch.first_signal) deferred.push_back(ch.first_signal);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  for (;;) {
    int status = 0;
    const pid_t w = waitpid(ch.tid, &status, __WALL | WNOHANG);
    if (w == ch.tid) {
      if (WIFEXITED(status) || WIFSIGNALED(status)) Fail(kFail, "target-died", "the thread exited during the call");
      if (WIFSTOPPED(status)) {
        const int ss = WSTOPSIG(status);
        if (status >> 16 == 0 && ss == sig) break;
        if (status >> 16 == 0 && ss != SIGTRAP) {
          if (!WouldDiscard(s.pid, ss)) deferred.push_back(ss);
        }
        ptrace(PTRACE_CONT, ch.tid, 0, 0);
        continue;
      }
    } else if (w < 0 && errno != EINTR) {
      Fail(kFail, "target-died", std::string("waitpid: ") + std::strerror(errno));
    }
    const double left = s.opt.call_timeout_ms - MsSince(t_call);
    if (left <= 0) {
      // Abandon: exiting detaches the thread; it finishes the call and restores itself.
      Fail(kTime, "abandoned", "the call ran past --call-timeout " + std::to_string(s.opt.call_timeout_ms) +
                                   " ms; the thread finishes it and restores itself");
    }
    timespec ts{0, static_cast<long>(std::min(left, 50.0) * 1e6)};
    sigtimedwait(&chld, nullptr, &ts);
  }
  s.res.call_ms = MsSince(t_call);
  // Read the results back while the thread is stopped.
  std::vector<uint8_t> back(state_size);
  const bool ok = ReadMem(s.pid, state, back.data(), back.size());
  const int deliver = deferred.empty() ? 0 : deferred.front();
  give_back(deliver);
  for (size_t i = 1; i < deferred.size(); ++i) syscall(SYS_tgkill, s.pid, ch.tid, deferred[i]);
  s.res.stop_ms = MsSince(t_stop);
  if (!ok) Fail(kFail, "failed", "could not read the results back");
  s.res.calls.resize(plan.calls.size());
  for (size_t i = 0; i < plan.calls.size(); ++i)
    std::memcpy(&s.res.calls[i], back.data() + kCalls + i * kCallSize, sizeof(CallRec));
  s.res.data.assign(back.begin() + data_off, back.end());
  // The target's own time in the functions, from the trampoline's TSC stamps, with the TSC
  // rate measured over this run.
  uint64_t tsc0 = 0, tsc1 = 0;
  std::memcpy(&tsc0, back.data() + kTscStart, 8);
  std::memcpy(&tsc1, back.data() + kTscEnd, 8);
  const double per_ms = static_cast<double>(__rdtsc() - g_tsc_start) / MsSince(g_start);
  if (tsc1 > tsc0 && per_ms > 0) s.res.target_call_ms = (tsc1 - tsc0) / per_ms;
  const char* sn = SyscallName(ch.nr);
  s.res.thread = {{"tid", ch.tid}, {"syscall", sn ? sn : std::to_string(ch.nr)},
                  {"stack", {{"method", ch.stack_method}, {"frames", ch.frames}}},
                  {"eintr_to_program", s.res.eintr}};
}

// ---- commands ----
struct Builder {
  Plan p;
  const Resolved& r;
  size_t Call(const std::string& label, const std::string& fn, std::vector<uint64_t> args, uint64_t flags = 0) {
    auto it = r.fns.find(fn);
    CallRec c;
    c.fn = it == r.fns.end() ? 0 : it->second;
    for (size_t i = 0; i < args.size() && i < 8; ++i) (i < 6 ? c.a[i] : c.stack[i - 6]) = args[i];
    c.flags = flags;
    if (c.fn == 0) return SIZE_MAX;
    p.calls.push_back(c);
    p.names.push_back(label);
    return p.calls.size() - 1;
  }
  uint64_t Str(const std::string& s) { return p.AddStr(s) | Plan::kData; }
  uint64_t Buf(size_t n) { return p.Zero(n) | Plan::kData; }
};

uint64_t U64At(const std::vector<uint8_t>& d, uint64_t data_ref) {
  uint64_t v = 0;
  std::memcpy(&v, d.data() + (data_ref & ~Plan::kData), 8);
  return v;
}

json Counters(Session& s) {
  const Resolved& r = s.r;
  Builder b{{}, r};
  json j = json::object();
  const std::string& a = r.allocator;
  struct Read { std::string key; size_t call; uint64_t out; bool is_bool; bool is_ssize; };
  std::vector<Read> reads;
  uint64_t mi_out = 0, ver_call = SIZE_MAX;
  size_t mi_call = SIZE_MAX, tc_calls[16];
  uint64_t tc_out[16];
  const char* const* tc_props = alloc::kTcmallocProperties;
  const size_t ntc = alloc::kTcmallocPropertyCount;
  uint64_t je_ver_out = 0, mi_text = 0;
  size_t mi_print_call = SIZE_MAX;
  if (a == "glibc") {
    mi_out = b.Buf(80);
    mi_call = b.Call(kGl.counters, kGl.counters, {mi_out});
  } else if (a == "jemalloc") {
    const uint64_t epoch = b.Buf(8), elen = b.Buf(8);
    {
      uint64_t one = 1, eight = 8;
      std::memcpy(b.p.data.data() + (epoch & ~Plan::kData), &one, 8);
      std::memcpy(b.p.data.data() + (elen & ~Plan::kData), &eight, 8);
    }
    b.Call("epoch", kJe.ctl, {b.Str("epoch"), epoch, elen, epoch, 8});
    for (const char* k : {"stats.allocated", "stats.active", "stats.resident", "stats.mapped", "stats.retained",
                          "stats.metadata", "opt.dirty_decay_ms", "opt.muzzy_decay_ms", "opt.narenas", "background_thread"}) {
      const uint64_t out = b.Buf(8), len = b.Buf(8);
      const bool is_bool = std::strcmp(k, "background_thread") == 0;
      const uint64_t n = is_bool ? 1 : (std::strcmp(k, "opt.narenas") == 0 ? 4 : 8);
      std::memcpy(b.p.data.data() + (len & ~Plan::kData), &n, 8);
      const size_t c = b.Call(k, kJe.ctl, {b.Str(k), out, len, 0, 0});
      reads.push_back({std::string(k) == "background_thread" ? "opt.background_thread" : k, c, out, is_bool,
                       std::strstr(k, "decay") != nullptr});
      if (std::strcmp(k, "opt.narenas") == 0) reads.back().is_bool = false;
    }
    je_ver_out = b.Buf(8);
    const uint64_t len = b.Buf(8);
    uint64_t eight = 8;
    std::memcpy(b.p.data.data() + (len & ~Plan::kData), &eight, 8);
    ver_call = b.Call("version", kJe.ctl, {b.Str("version"), je_ver_out, len, 0, 0});
  } else if (a == "tcmalloc") {
    for (size_t i = 0; i < ntc; ++i) {
      tc_out[i] = b.Buf(8);
      tc_calls[i] = b.Call(tc_props[i], kTc.get_property, {b.Str(tc_props[i]), tc_out[i]});
    }
  } else if (a == "mimalloc") {
    mi_out = b.Buf(64);
    std::vector<uint64_t> args;
    for (int i = 0; i < 8; ++i) args.push_back(mi_out + 8 * i);
    mi_call = b.Call(kMi.process_info, kMi.process_info, args);
    ver_call = b.Call(kMi.version, kMi.version, {});
    // The stats text, as the probe reads it for unmapped_bytes: mi_stats_print_out with
    // fputs as the output function, into an unbuffered fmemopen stream over our buffer.
    mi_text = b.Buf(kMallocInfoCap);
    if (r.fns.count("fputs") && r.fns.count(kMi.stats_print)) {
      b.Call("fmemopen", "fmemopen", {mi_text, kMallocInfoCap, b.Str("w")}, kFlagSave);
      b.Call("setvbuf", "setvbuf", {0, 0, _IONBF, 0}, kFlagRdiHandle | kFlagSkipNull);
      mi_print_call = b.Call(kMi.stats_print, kMi.stats_print, {r.fns.at("fputs"), 0}, kFlagRsiHandle | kFlagSkipNull);
      b.Call("fclose", "fclose", {0}, kFlagRdiHandle | kFlagSkipNull);
    }
  } else {
    Fail(kFail, "failed", "allocator unknown: no counters to read");
  }
  RunPlan(s, b.p);
  const auto& d = s.res.data;
  auto done = [&](size_t c) { return c != SIZE_MAX && c < s.res.calls.size() && s.res.calls[c].done; };
  if (a == "glibc") {
    const char* f[] = {"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"};
    uint64_t v[10];
    for (int i = 0; i < 10; ++i) v[i] = U64At(d, mi_out + 8 * i), j[f[i]] = done(mi_call) ? json(v[i]) : json(nullptr);
    Normalized(done(mi_call) ? alloc::GlibcNormalized(v[7], v[4], v[8]) : alloc::Normalized(), j);
  } else if (a == "jemalloc") {
    std::map<std::string, json> got;
    for (const Read& rd : reads) {
      const bool ok = done(rd.call) && s.res.calls[rd.call].rax == 0;
      uint64_t v = U64At(d, rd.out);
      json val;
      if (!ok) val = nullptr;
      else if (rd.is_bool) val = (v & 0xff) ? 1 : 0;
      else if (rd.key == "opt.narenas") val = static_cast<uint32_t>(v);
      else if (rd.is_ssize) val = static_cast<int64_t>(v);
      else val = v;
      j[rd.key] = val;
      got[rd.key] = val;
    }
    uint64_t al = 0, res = 0, ret = 0;
    const bool has_al = Number(got["stats.allocated"], &al), has_res = Number(got["stats.resident"], &res),
               has_ret = Number(got["stats.retained"], &ret);
    Normalized(alloc::JemallocNormalized(has_al ? &al : nullptr, has_res ? &res : nullptr, has_ret ? &ret : nullptr), j);
    j["version"] = nullptr;
    if (done(ver_call) && s.res.calls[ver_call].rax == 0) {
      char vb[64] = {};
      if (ReadMem(s.pid, U64At(d, je_ver_out), vb, sizeof vb - 1)) j["version"] = std::string(vb);
    }
  } else if (a == "tcmalloc") {
    uint64_t v[16];
    bool ok[16];
    for (size_t i = 0; i < ntc; ++i) {
      ok[i] = done(tc_calls[i]) && (s.res.calls[tc_calls[i]].rax & 0xff) != 0;
      v[i] = U64At(d, tc_out[i]);
      j[tc_props[i]] = ok[i] ? json(v[i]) : json(nullptr);
    }
    Normalized(alloc::TcmallocNormalized(v, ok), j);
  } else {
    const char* f[] = {"process.elapsed_msecs", "process.user_msecs", "process.system_msecs", "process.current_rss",
                       "process.peak_rss", "process.current_commit", "process.peak_commit", "process.page_faults"};
    for (int i = 0; i < 8; ++i) j[f[i]] = done(mi_call) ? json(U64At(d, mi_out + 8 * i)) : json(nullptr);
    j[kMi.version] = done(ver_call) ? json(static_cast<int>(s.res.calls[ver_call].rax)) : json(nullptr);
    // As the probe: a release build keeps only the OS-level counters in its stats text.
    double reserved = 0, committed = 0, reset = 0;
    bool have = false;
    if (done(mi_print_call)) {
      const char* text = reinterpret_cast<const char*>(d.data() + (mi_text & ~Plan::kData));
      const std::string t(text, strnlen(text, kMallocInfoCap));
      const bool hr = ParseMimallocCurrent(t.c_str(), "reserved", &reserved);
      const bool hc = ParseMimallocCurrent(t.c_str(), "committed", &committed);
      const bool hs = ParseMimallocCurrent(t.c_str(), "reset", &reset);
      auto num = [](bool ok, double v) { return ok ? json(static_cast<int64_t>(v)) : json(nullptr); };
      j["stats.reserved_approx"] = num(hr, reserved);
      j["stats.committed_approx"] = num(hc, committed);
      j["stats.reset_approx"] = num(hs, reset);
      have = hr && hc && hs;
    }
    Normalized(alloc::MimallocNormalized(have, reserved, committed, reset), j);
  }
  // As the probe says where its allocated_bytes came from: here only ever the allocator.
  j["allocated_bytes_source"] = j["allocated_bytes"].is_null() ? json(nullptr) : json("allocator");
  return j;
}

json CallsJson(const Session& s, const Plan& p, bool int_rc) {
  json calls = json::array();
  for (size_t i = 0; i < p.calls.size(); ++i) {
    const CallRec& c = s.res.calls[i];
    calls.push_back({{"name", p.names[i]}, {"ran", c.done == 1},
                     {"rc", c.done ? (int_rc ? json(static_cast<int>(c.rax)) : json(Hex(c.rax))) : json(nullptr)}});
  }
  return calls;
}

json Release(Session& s, json* calls_out) {
  Builder b{{}, s.r};
  const std::string& a = s.r.allocator;
  if (a == "glibc") b.Call(kGl.release_call, kGl.trim, {0});
  else if (a == "tcmalloc") b.Call(kTc.release_call, kTc.release, {});
  else if (a == "jemalloc") b.Call(kJe.release_call, kJe.ctl, {b.Str(kJe.purge_all), 0, 0, 0, 0});
  else if (a == "mimalloc") b.Call(kMi.release_call, kMi.collect, {1});
  else Fail(kFail, "failed", "allocator unknown: no release call");
  if (b.p.calls.empty()) Fail(kFail, "failed", "the release function is not exported");
  RunPlan(s, b.p);
  *calls_out = CallsJson(s, b.p, true);
  json extra = json::object();
  if (a == "mimalloc")
    extra["reach"] = std::string(kMi.release_call) + " ran on thread " + std::to_string(s.ch.tid) +
                     ": it collects that thread's heap and the abandoned segments, not the other threads' heaps";
  return extra;
}

void MallocInfoStream(Builder& b, uint64_t buf);
json ArenaLedger(const std::string& text);

json MallocInfo(Session& s) {
  Builder b{{}, s.r};
  const uint64_t buf = b.Buf(kMallocInfoCap);
  const std::string& a = s.r.allocator;
  if (a == "tcmalloc") {
    // gperftools writes its text straight into a buffer: no stream needed.
    b.Call(kTc.get_stats, kTc.get_stats, {buf, kMallocInfoCap});
    if (b.p.calls.empty()) Fail(kFail, "failed", std::string(kTc.get_stats) + " is not exported");
  } else {
    MallocInfoStream(b, buf);
  }
  RunPlan(s, b.p);
  const auto& d = s.res.data;
  const size_t at = buf & ~Plan::kData;
  std::string text(reinterpret_cast<const char*>(d.data() + at), strnlen(reinterpret_cast<const char*>(d.data() + at), kMallocInfoCap));
  const bool truncated = text.size() >= kMallocInfoCap - 1;
  json out = {{"text", text}, {"bytes", text.size()}, {"truncated", truncated}, {"calls", CallsJson(s, b.p, false)}};
  if (a == "glibc" && !truncated) out["ledger"] = ArenaLedger(text);
  return out;
}

// glibc's arenas from malloc_info()'s text, parsed and written as the admin port's `ledger`
// reply writes them (alloc/glibc.cc, control/ledger_json.cc): the harness reads one shape.
json ArenaLedger(const std::string& text) {
  static alloc::Ledger ledger;
  ledger = alloc::Ledger();
  alloc::ParseMallocInfo(text.data(), text.size(), &ledger);
  static char buf[64 * 1024];
  JsonWriter j(buf, sizeof buf);
  WriteLedgerArenas(j, ledger);
  if (!j.Finish()) return nullptr;
  return json::parse(std::string(j.data(), j.size()));
}

void MallocInfoStream(Builder& b, uint64_t buf) {
  const Resolved& r = b.r;
  const uint64_t mode = b.Str("w");
  const std::string& a = r.allocator;
  b.Call("fmemopen", "fmemopen", {buf, kMallocInfoCap, mode}, kFlagSave);
  b.Call("setvbuf", "setvbuf", {0, 0, _IONBF, 0}, kFlagRdiHandle | kFlagSkipNull);
  if (a == "glibc") b.Call(std::string(kGl.info) + "(0)", kGl.info, {0, 0}, kFlagRsiHandle | kFlagSkipNull);
  else if (a == "mimalloc") b.Call(std::string(kMi.stats_print) + "(fputs)", kMi.stats_print, {r.fns.count("fputs") ? r.fns.at("fputs") : 0, 0}, kFlagRsiHandle | kFlagSkipNull);
  else Fail(kFail, "failed", std::string("malloc-info is implemented for glibc (") + kGl.info + "), tcmalloc (" +
                                 kTc.get_stats + ") and mimalloc (" + kMi.stats_print + ") only");
  b.Call("fclose", "fclose", {0}, kFlagRdiHandle | kFlagSkipNull);
  if (b.p.calls.size() != 4) Fail(kFail, "failed", "fmemopen, setvbuf, fclose or the allocator's function is missing");
}

json SmapsRollup(pid_t pid) {
  json j = json::object();
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/smaps_rollup"));
  std::string line;
  while (std::getline(in, line)) {
    const size_t c = line.find(':');
    if (c == std::string::npos || line.find("kB") == std::string::npos) continue;
    j[line.substr(0, c)] = std::strtoull(line.c_str() + c + 1, nullptr, 10) * 1024;
  }
  return j;
}

int Usage(json& out, const std::string& why) {
  out["ok"] = false;
  out["error"] = "usage";
  out["reason"] = why + " (usage: leaklab-inspect <threads|resolve|counters|release|malloc-info|call> <pid> "
                        "[--park-wait MS] [--max-stop MS] [--call-timeout MS] [--no-rt] [--stack auto|scan] [--tid T] "
                        "[call: <symbol|0xaddr> [int args...]])";
  return kUsage;
}

int Run(int argc, char** argv, json& out) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw Failure{kUsage, "usage", a + " needs a value"};
      return argv[++i];
    };
    if (a == "--park-wait") o.park_wait_ms = std::atof(val().c_str());
    else if (a == "--max-stop") o.max_stop_ms = std::atof(val().c_str());
    else if (a == "--call-timeout") o.call_timeout_ms = std::atof(val().c_str());
    else if (a == "--no-rt") o.rt = false;
    else if (a == "--stack") o.stack = val();
    else if (a == "--tid") o.only_tid = std::atoi(val().c_str());
    else if (a.rfind("--", 0) == 0) return Usage(out, "unknown option " + a);
    else pos.push_back(a);
  }
  if (pos.size() < 2) return Usage(out, "a command and a pid are needed");
  o.command = pos[0];
  o.pid = std::atoi(pos[1].c_str());
  o.call_args.assign(pos.begin() + 2, pos.end());
  out["command"] = o.command;
  out["pid"] = o.pid;
  static const std::set<std::string> kCommands = {"threads", "resolve", "counters", "release", "malloc-info", "call"};
  if (!kCommands.count(o.command)) return Usage(out, "unknown command " + o.command);
  if (o.pid <= 0) return Usage(out, "bad pid " + pos[1]);
  if (o.stack != "auto" && o.stack != "scan") return Usage(out, "--stack is auto or scan");
  if (o.command == "call" && o.call_args.empty()) return Usage(out, "call needs a symbol or an address");

  if (o.command == "threads") {
    if (ReadFile("/proc/" + pos[1] + "/status").empty()) Fail(kFail, "failed", "no process " + pos[1]);
    json th = json::array();
    for (pid_t tid : Tids(o.pid)) th.push_back(ThreadJson(ReadThread(o.pid, tid)));
    out["threads"] = th;
    return kOk;
  }
  CheckRefusals(o.pid);
  Resolved r = Resolve(o.pid);
  if (o.command == "resolve") {
    out.update(ResolveJson(r));
    if (r.is_static || r.allocator == "unknown") out["note"] = "allocator unknown, smaps only", out["smaps_rollup"] = SmapsRollup(o.pid);
    return kOk;
  }
  if (r.is_static || r.allocator == "unknown") {
    out["allocator"] = "unknown";
    out["static"] = r.is_static;
    out["note"] = "allocator unknown, smaps only";
    out["smaps_rollup"] = SmapsRollup(o.pid);
    return kOk;
  }
  const int lock = TakeLock(o.pid);
  (void)lock;
  Session s{o, o.pid, r, {}, {}};
  out["allocator"] = r.allocator;
  auto finish = [&]() {
    out["attempts"] = s.res.attempts;
    out["skipped"] = s.res.skipped;
    out["thread"] = s.res.thread;
    out["timing"] = {{"stop_ms", s.res.stop_ms}, {"call_ms", s.res.call_ms}, {"target_call_ms", s.res.target_call_ms},
                     {"setup_ms", s.res.setup_ms}, {"unwind_ms", s.ch.unwind_ms}, {"wake_ms", s.ch.wake_ms}};
    out["trampoline"] = s.res.trampoline;
  };
  try {
    if (o.command == "counters") {
      out["counters"] = Counters(s);
    } else if (o.command == "release") {
      json calls;
      out.update(Release(s, &calls));
      out["calls"] = calls;
      out["release_call"] = r.release_call;
    } else if (o.command == "malloc-info") {
      out[kGl.info] = MallocInfo(s);  // the key is the glibc function's name
    } else {
      Builder b{{}, r};
      const std::string& f = o.call_args[0];
      uint64_t addr = f.rfind("0x", 0) == 0 ? std::strtoull(f.c_str(), nullptr, 16) : 0;
      if (!addr)
        for (const Object& ob : r.objects)
          if ((addr = ob.Find(f))) break;
      if (!addr) Fail(kFail, "failed", "no function " + f + " in any loaded object");
      CallRec c;
      c.fn = addr;
      for (size_t i = 1; i < o.call_args.size() && i <= 8; ++i)
        (i <= 6 ? c.a[i - 1] : c.stack[i - 7]) = std::strtoull(o.call_args[i].c_str(), nullptr, 0);
      b.p.calls.push_back(c);
      b.p.names.push_back(f);
      RunPlan(s, b.p);
      out["calls"] = CallsJson(s, b.p, false);
      out["rax"] = Hex(s.res.calls[0].rax);
    }
  } catch (const Failure&) {
    finish();
    throw;
  }
  finish();
  return kOk;
}

}  // namespace
}  // namespace leaklab::inspect

int main(int argc, char** argv) {
  using namespace leaklab::inspect;
  // All blockable signals blocked for the whole run: a Ctrl-C cannot land mid-call.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  json out = json::object();
  out["ok"] = true;
  out["command"] = nullptr;  // every line names them, even a usage error before they are read
  out["pid"] = nullptr;
  int code = kOk;
  try {
    code = Run(argc, argv, out);
  } catch (const Failure& f) {
    code = f.code;
    out["error"] = f.error;
    out["reason"] = f.reason;
  } catch (const std::exception& e) {
    code = kFail;
    out["error"] = "failed";
    out["reason"] = e.what();
  }
  if (code != kOk) out["ok"] = false;
  out["wall_ms"] = MsSince(g_start);
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  return code;
}
