// leaklab-kv (test only): the lab's own key-value server, a server "of the users' kind"
// (plain malloc/free for every value, one thread per connection) that knows the truth about
// its own memory and reports it, so that the lab's verdicts can be checked against it
// (test/native/kv-server.test.ts, scenarios/kv-*.ts). It owns the store, the per-mode fate
// of removed values, the line protocol below, and a client for it in the same binary.
//
//   leaklab-kv --port P [--mode free|leak|leak-unreachable|pool] [--leak-share F] [--pool-max SIZE]
//   leaklab-kv client --port P [--stats] [--timeout SECONDS] <command words...>
//
// The server listens on 127.0.0.1:P (P = 0: a free port), prints
// "leaklab-kv: listening on 127.0.0.1:<port> mode=<mode>" on stdout, and serves each
// connection on its own thread. SIGTERM and SIGINT end it with exit(0) (a normal exit, so
// LeakSanitizer and memcheck report as at the end of main).
//
// Protocol: one command per line (ASCII, '\n'-terminated, a trailing '\r' ignored, words
// separated by spaces or tabs, the command word in any case), one reply line per command.
// A reply that succeeded is one JSON object starting with {"ok":true; a failed one is
// "ERR <message>". Sizes are plain bytes or the lab's units (512, 64KiB, 1.5MiB, 300MiB,
// 1GiB, 64KB, 1MB: B, KiB, MiB, GiB, KB, MB, GB, any case); seeds are unsigned 64-bit
// integers; a fraction is a decimal number in [0, 1].
//   FILL <total> <min> <max> <seed>  stores new keys until at least <total> value bytes
//                     were added (the last value may pass it by less than <max>), each
//                     value's size uniform in [<min>, <max>] (1 B to 1 GiB) from <seed>,
//                     its block malloc'ed (or, in pool mode, taken from the pool) and
//                     written in full (so it is resident). Reply: added_keys, added_bytes,
//                     new_blocks, reused_blocks, ms.
//   CLEAR             removes every key. Reply: removed_keys, removed_bytes, ms.
//   DELETE <fraction> <seed>  removes round(fraction x keys) keys chosen at random (a
//                     partial Fisher-Yates shuffle from <seed>). Reply as CLEAR.
//   STATS             the server's own truth, one JSON line:
//                       mode, leak_share, pool_max_bytes (0: unbounded),
//                       live_payload_bytes  what the program still holds for values:
//                                           stored_block_bytes + pooled_bytes + leaked_reachable_bytes
//                       stored_bytes        the bytes of the stored values
//                       stored_block_bytes  the blocks that hold them (> stored_bytes only
//                                           when a pooled block was reused for a smaller value)
//                       keys
//                       leaked_bytes        leaked_reachable_bytes + leaked_unreachable_bytes
//                                           (the program's own count of what it leaked)
//                       leaked_reachable_bytes, leaked_unreachable_bytes, leaked_values
//                       pooled_bytes, pooled_blocks
//                       unfreed_payload_bytes  every value block not freed:
//                                           live_payload_bytes + leaked_unreachable_bytes
//                       index_bytes         the program's bookkeeping beside the values: the
//                                           key index, the leak list, the pool's free list
//                                           (the pool's tree nodes counted at 48 B each)
//                       rss_bytes           /proc/self/statm
//   PING              {"ok":true}
//   QUIT              {"ok":true}, then the server closes the connection.
// An unknown command, a wrong number of arguments, or a bad number is answered with
// "ERR <message>" and the connection stays open. A line longer than 1024 bytes is answered
// with "ERR ..." and the connection is closed (the rest of it cannot be read as commands).
// Commands from all connections are served one at a time (one lock over the store), so a
// STATS sent during a FILL waits for it.
//
// Modes (--mode), what happens to a value that CLEAR or DELETE removes:
//   free              free()d. Whatever the process keeps afterwards, the allocator keeps.
//   leak              a share (--leak-share, default 1) of the removed values is kept
//                     forever in the store's leak list (reachable from a global: memcheck's
//                     "still reachable"); the rest is freed.
//   leak-unreachable  that share is leaked by dropping the last pointer to it (memcheck's
//                     "definitely lost", LeakSanitizer finds it); the rest is freed.
//   pool              removed blocks go into a free list in the program and later FILLs
//                     reuse them: a value of n bytes takes the smallest pooled block of n to
//                     2n bytes, else a new malloc. --pool-max SIZE bounds the pool: a block
//                     that would take it past SIZE is freed instead.
// The share is exact and spread evenly: of n removals, floor(n x share) are leaked (a
// running credit, not a random draw). Fragmentation is a workload, not a mode: FILL with
// small values (100-300 B), then DELETE 0.9 in mode free.
//
// The client sends its command words joined by spaces on a connection of its own, prints
// the reply on stdout (with --stats, then STATS's reply on the same connection) and exits
// 0; a reply "ERR ..." is also printed on stderr and exits 1; bad client arguments exit 2;
// no connection, a connection closed before the reply, or no reply within --timeout
// (default 120 s) exit 3 with a message on stderr.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "flags.h"
#include "rng.h"

namespace {

constexpr size_t kMaxLine = 1024;
constexpr char kOverlong[] = "ERR line longer than 1024 bytes; closing\n";
constexpr uint64_t kMaxValueBytes = uint64_t{1} << 30;
constexpr uint64_t kMaxFillBytes = uint64_t{1} << 40;
// A std::multimap node in libstdc++ on 64-bit: the tree header (32 B) and the pair (16 B).
constexpr uint64_t kPoolNodeBytes = 48;

enum class Mode { kFree, kLeak, kLeakUnreachable, kPool };

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kFree: return "free";
    case Mode::kLeak: return "leak";
    case Mode::kLeakUnreachable: return "leak-unreachable";
    case Mode::kPool: return "pool";
  }
  return "?";
}

bool ParseMode(const std::string& s, Mode* m) {
  for (Mode c : {Mode::kFree, Mode::kLeak, Mode::kLeakUnreachable, Mode::kPool}) {
    if (s == ModeName(c)) {
      *m = c;
      return true;
    }
  }
  return false;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

// "<digits>[.<digits>]" with nothing else; *value is its value.
bool ParseDecimal(const std::string& s, double* value) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return false;
  if (i < s.size() && s[i] == '.') {
    const size_t dot = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == dot) return false;
  }
  if (i != s.size()) return false;
  *value = std::strtod(s.c_str(), nullptr);
  return std::isfinite(*value);
}

// A size as the lab writes it (harness/core/units.ts): a decimal number and a unit, rounded
// to whole bytes. False when the text is not one, or is above 2^62.
bool ParseSize(const std::string& s, uint64_t* bytes) {
  size_t split = 0;
  while (split < s.size() && ((s[split] >= '0' && s[split] <= '9') || s[split] == '.')) ++split;
  double number = 0;
  if (!ParseDecimal(s.substr(0, split), &number)) return false;
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1}, {"b", 1}, {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0},
      {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}};
  const std::string unit = Lower(s.substr(split));
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    const double v = std::round(number * factor);
    if (v > 4.611686018427388e18) return false;
    *bytes = static_cast<uint64_t>(v);
    return true;
  }
  return false;
}

bool ParseU64(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  errno = 0;
  const unsigned long long x = std::strtoull(s.c_str(), nullptr, 10);
  if (errno != 0) return false;
  *v = x;
  return true;
}

bool ParseFraction(const std::string& s, double* f) {
  return ParseDecimal(s, f) && *f >= 0.0 && *f <= 1.0;
}

uint64_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// One stored value: its key, its block, the value's bytes and the block's (capacity >= size:
// a pooled block may be reused for a smaller value).
struct Entry {
  uint64_t key;
  char* data;
  uint32_t size;
  uint32_t capacity;
};

// The key-value store and the fate of removed values. Every public method takes mutex_, so
// commands from all connection threads run one at a time.
class Store {
 public:
  Store(Mode mode, double leak_share, uint64_t pool_max)
      : mode_(mode), leak_share_(leak_share), pool_max_(pool_max) {}

  std::string Fill(uint64_t total, uint64_t min, uint64_t max, uint64_t seed) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto start = std::chrono::steady_clock::now();
    leaklab::Rng rng(leaklab::SplitMix64(seed));  // hashed: seeds s and s + 1 are unrelated streams
    uint64_t added_keys = 0, added_bytes = 0, fresh = 0, reused = 0;
    std::string error;
    while (added_bytes < total) {
      const uint32_t size = static_cast<uint32_t>(rng.Uniform(min, max));
      Entry e{next_key_, nullptr, size, size};
      if (mode_ == Mode::kPool && TakeFromPool(size, &e)) {
        ++reused;
      } else {
        e.data = static_cast<char*>(std::malloc(size));
        if (e.data == nullptr) {
          error = "malloc(" + std::to_string(size) + ") failed";
          break;
        }
        ++fresh;
      }
      std::memset(e.data, static_cast<int>((e.key | 1) & 0xff), size);  // resident
      try {
        entries_.push_back(e);
      } catch (const std::bad_alloc&) {
        std::free(e.data);
        error = "the key index could not grow";
        break;
      }
      ++next_key_;
      ++added_keys;
      added_bytes += size;
      stored_bytes_ += size;
      stored_block_bytes_ += e.capacity;
    }
    if (!error.empty())
      return "ERR FILL: out of memory after " + std::to_string(added_keys) + " keys (" +
             std::to_string(added_bytes) + " bytes): " + error;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"ok\":true,\"added_keys\":%" PRIu64 ",\"added_bytes\":%" PRIu64
                  ",\"new_blocks\":%" PRIu64 ",\"reused_blocks\":%" PRIu64 ",\"ms\":%.1f}",
                  added_keys, added_bytes, fresh, reused, MsSince(start));
    return buf;
  }

  std::string Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto start = std::chrono::steady_clock::now();
    const uint64_t keys = entries_.size(), bytes = stored_bytes_;
    for (Entry& e : entries_) Remove(&e);
    entries_.clear();
    ShrinkIndex();
    return RemovedReply(keys, bytes, start);
  }

  std::string Delete(double fraction, uint64_t seed) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto start = std::chrono::steady_clock::now();
    const size_t n = entries_.size();
    const size_t k = static_cast<size_t>(std::llround(fraction * static_cast<double>(n)));
    leaklab::Rng rng(leaklab::SplitMix64(seed));
    // Partial Fisher-Yates: the k chosen entries end up in the last k slots.
    for (size_t i = 0; i < k; ++i) {
      const size_t j = static_cast<size_t>(rng.Uniform(0, n - 1 - i));
      std::swap(entries_[j], entries_[n - 1 - i]);
    }
    const uint64_t before = stored_bytes_;
    for (size_t i = n - k; i < n; ++i) Remove(&entries_[i]);
    entries_.resize(n - k);
    ShrinkIndex();
    return RemovedReply(k, before - stored_bytes_, start);
  }

  std::string Stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t live = stored_block_bytes_ + pooled_bytes_ + leaked_reachable_bytes_;
    const uint64_t index = entries_.capacity() * sizeof(Entry) +
                           leaked_.capacity() * sizeof(char*) + pool_.size() * kPoolNodeBytes;
    char buf[1024];
    std::snprintf(
        buf, sizeof buf,
        "{\"ok\":true,\"mode\":\"%s\",\"leak_share\":%.6g,\"pool_max_bytes\":%" PRIu64
        ",\"live_payload_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64
        ",\"stored_block_bytes\":%" PRIu64 ",\"keys\":%zu,\"leaked_bytes\":%" PRIu64
        ",\"leaked_reachable_bytes\":%" PRIu64 ",\"leaked_unreachable_bytes\":%" PRIu64
        ",\"leaked_values\":%" PRIu64 ",\"pooled_bytes\":%" PRIu64 ",\"pooled_blocks\":%zu"
        ",\"unfreed_payload_bytes\":%" PRIu64 ",\"index_bytes\":%" PRIu64
        ",\"rss_bytes\":%" PRIu64 "}",
        ModeName(mode_), leak_share_, pool_max_, live, stored_bytes_, stored_block_bytes_,
        entries_.size(), leaked_reachable_bytes_ + leaked_unreachable_bytes_,
        leaked_reachable_bytes_, leaked_unreachable_bytes_, leaked_values_, pooled_bytes_,
        pool_.size(), live + leaked_unreachable_bytes_, index, RssBytes());
    return buf;
  }

 private:
  // The smallest pooled block of size to 2 x size bytes, taken out of the pool.
  bool TakeFromPool(uint32_t size, Entry* e) {
    const auto it = pool_.lower_bound(size);
    if (it == pool_.end() || it->first > 2 * static_cast<uint64_t>(size)) return false;
    e->capacity = it->first;
    e->data = it->second;
    pooled_bytes_ -= it->first;
    pool_.erase(it);
    return true;
  }

  // Removes one value from the accounting and gives its block the mode's fate. Its slot's
  // pointer is cleared, so no stale copy in the index keeps a leaked block reachable.
  void Remove(Entry* e) {
    stored_bytes_ -= e->size;
    stored_block_bytes_ -= e->capacity;
    char* data = e->data;
    e->data = nullptr;
    if (mode_ == Mode::kLeak || mode_ == Mode::kLeakUnreachable) {
      leak_credit_ += leak_share_;
      if (leak_credit_ >= 1.0 - 1e-9) {
        leak_credit_ -= 1.0;
        ++leaked_values_;
        if (mode_ == Mode::kLeak) {
          leaked_.push_back(data);
          leaked_reachable_bytes_ += e->capacity;
        } else {
          leaked_unreachable_bytes_ += e->capacity;  // the last pointer goes with `data`
        }
        return;
      }
    } else if (mode_ == Mode::kPool && (pool_max_ == 0 || pooled_bytes_ + e->capacity <= pool_max_)) {
      pool_.emplace(e->capacity, data);
      pooled_bytes_ += e->capacity;
      return;
    }
    std::free(data);
  }

  // After a removal, an index at under a quarter of its capacity is reallocated to fit, so
  // the index of 1.3M small values does not stay behind as 30 MiB of the program's own.
  void ShrinkIndex() {
    if (entries_.size() < entries_.capacity() / 4) entries_.shrink_to_fit();
  }

  std::string RemovedReply(uint64_t keys, uint64_t bytes, std::chrono::steady_clock::time_point start) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "{\"ok\":true,\"removed_keys\":%" PRIu64 ",\"removed_bytes\":%" PRIu64 ",\"ms\":%.1f}",
                  keys, bytes, MsSince(start));
    return buf;
  }

  const Mode mode_;
  const double leak_share_;
  const uint64_t pool_max_;
  std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t next_key_ = 1;
  uint64_t stored_bytes_ = 0;
  uint64_t stored_block_bytes_ = 0;
  std::vector<char*> leaked_;  // mode leak: the removed values kept forever
  double leak_credit_ = 0;
  uint64_t leaked_values_ = 0;
  uint64_t leaked_reachable_bytes_ = 0;
  uint64_t leaked_unreachable_bytes_ = 0;
  std::multimap<uint32_t, char*> pool_;  // mode pool: block capacity -> block
  uint64_t pooled_bytes_ = 0;
};

// Never destroyed: connection threads may still use it while exit() runs.
Store* g_store = nullptr;

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// One command line -> its reply line (without the '\n'). *quit is set by QUIT.
std::string Execute(const std::string& line, bool* quit) {
  const std::vector<std::string> w = Words(line);
  if (w.empty()) return "ERR empty command; commands: FILL, CLEAR, DELETE, STATS, PING, QUIT";
  const std::string cmd = Lower(w[0]);
  const size_t args = w.size() - 1;
  auto arity = [&](const char* usage, size_t n) -> std::string {
    return args == n ? "" : "ERR " + std::string(usage) + " takes " + std::to_string(n) +
                                " argument(s), got " + std::to_string(args);
  };
  if (cmd == "fill") {
    if (auto e = arity("FILL <total> <min value bytes> <max value bytes> <seed>", 4); !e.empty()) return e;
    uint64_t total = 0, min = 0, max = 0, seed = 0;
    const char* names[] = {"total", "min value bytes", "max value bytes"};
    uint64_t* dest[] = {&total, &min, &max};
    for (int i = 0; i < 3; ++i)
      if (!ParseSize(w[i + 1], dest[i]))
        return "ERR FILL: " + std::string(names[i]) + " '" + w[i + 1] +
               "' is not a size (bytes, or a number with B, KiB, MiB, GiB, KB, MB, GB)";
    if (!ParseU64(w[4], &seed)) return "ERR FILL: seed '" + w[4] + "' is not an unsigned 64-bit integer";
    if (min < 1 || max > kMaxValueBytes)
      return "ERR FILL: value sizes must be 1 B to 1 GiB, got " + std::to_string(min) + " to " + std::to_string(max);
    if (min > max) return "ERR FILL: min value bytes (" + std::to_string(min) + ") > max (" + std::to_string(max) + ")";
    if (total > kMaxFillBytes) return "ERR FILL: total " + std::to_string(total) + " is above 1 TiB";
    return g_store->Fill(total, min, max, seed);
  }
  if (cmd == "clear") {
    if (auto e = arity("CLEAR", 0); !e.empty()) return e;
    return g_store->Clear();
  }
  if (cmd == "delete") {
    if (auto e = arity("DELETE <fraction> <seed>", 2); !e.empty()) return e;
    double fraction = 0;
    uint64_t seed = 0;
    if (!ParseFraction(w[1], &fraction)) return "ERR DELETE: fraction '" + w[1] + "' is not a decimal number in [0, 1]";
    if (!ParseU64(w[2], &seed)) return "ERR DELETE: seed '" + w[2] + "' is not an unsigned 64-bit integer";
    return g_store->Delete(fraction, seed);
  }
  if (cmd == "stats") {
    if (auto e = arity("STATS", 0); !e.empty()) return e;
    return g_store->Stats();
  }
  if (cmd == "ping") return "{\"ok\":true}";
  if (cmd == "quit") {
    *quit = true;
    return "{\"ok\":true}";
  }
  std::string shown = w[0].substr(0, 64);
  for (char& c : shown)
    if (c < 0x20 || c > 0x7e) c = '?';
  return "ERR unknown command '" + shown + "'; commands: FILL, CLEAR, DELETE, STATS, PING, QUIT";
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// After the reply to an overlong line: our side is shut, and what the peer still sends is
// read and dropped (for at most 1 s) before the close, since closing with unread bytes
// sends a reset that can destroy the reply before the peer has read it.
void CloseAfterError(int fd, const std::string& reply) {
  WriteAll(fd, reply);
  shutdown(fd, SHUT_WR);
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char sink[4096];
  const auto start = std::chrono::steady_clock::now();
  while (MsSince(start) < 1000) {
    const ssize_t n = read(fd, sink, sizeof sink);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
}

// A connection's thread: reads lines, answers each, until the peer closes, QUIT, an
// overlong line, or a failed write.
void Serve(int fd) {
  std::string buffer;
  char chunk[4096];
  bool quit = false;
  while (!quit) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while (!quit && (nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (nl > kMaxLine) {
        CloseAfterError(fd, kOverlong);
        quit = true;
        break;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!WriteAll(fd, Execute(line, &quit) + "\n")) quit = true;
    }
    if (!quit && buffer.size() > kMaxLine) {
      CloseAfterError(fd, kOverlong);
      quit = true;
    }
  }
  close(fd);
}

constexpr char kUsage[] =
    "usage: leaklab-kv --port P [--mode free|leak|leak-unreachable|pool] [--leak-share F] [--pool-max SIZE]\n"
    "       leaklab-kv client --port P [--stats] [--timeout SECONDS] <command words...>\n"
    "(the protocol and the modes: native/test/kv_server.cc)\n";

int RunServer(int argc, char** argv) {
  leaklab::FlagParser flags(argc, argv, kUsage);
  std::string name, value;
  uint64_t port = 0;
  bool have_port = false, have_share = false, have_pool_max = false;
  Mode mode = Mode::kFree;
  double leak_share = 1.0;
  uint64_t pool_max = 0;
  while (flags.Next(&name, &value)) {
    if (name == "port") {
      port = flags.U64(name, value, 0, 65535);
      have_port = true;
    } else if (name == "mode") {
      if (!ParseMode(value, &mode)) flags.Fail("--mode: '" + value + "' is not one of free, leak, leak-unreachable, pool");
    } else if (name == "leak-share") {
      leak_share = flags.Double(name, value, 0, 1);
      have_share = true;
    } else if (name == "pool-max") {
      if (!ParseSize(value, &pool_max)) flags.Fail("--pool-max: '" + value + "' is not a size");
      have_pool_max = true;
    } else {
      flags.Fail("unknown flag --" + name);
    }
  }
  if (!have_port) flags.Fail("--port is required");
  if (have_share && mode != Mode::kLeak && mode != Mode::kLeakUnreachable)
    flags.Fail("--leak-share is for --mode leak and leak-unreachable");
  if (have_pool_max && mode != Mode::kPool) flags.Fail("--pool-max is for --mode pool");

  // SIGTERM and SIGINT are taken by one thread (blocked in every other, which inherit the
  // mask) and end the process through exit(); SIGPIPE is ignored: a peer's close is EPIPE.
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::thread([stop] {
    int sig = 0;
    sigwait(&stop, &sig);
    std::exit(0);
  }).detach();

  g_store = new Store(mode, leak_share, pool_max);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "leaklab-kv: cannot listen on 127.0.0.1:%" PRIu64 ": %s\n", port, std::strerror(errno));
    return 1;
  }
  std::printf("leaklab-kv: listening on 127.0.0.1:%u mode=%s\n", ntohs(addr.sin_port), ModeName(mode));
  std::fflush(stdout);
  for (;;) {
    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EINTR && errno != ECONNABORTED) usleep(10'000);  // EMFILE and the like: back off
      continue;
    }
    try {
      std::thread(Serve, c).detach();  // the thread owns the descriptor
    } catch (const std::system_error&) {
      close(c);
    }
  }
}

[[noreturn]] void ClientFail(int code, const std::string& message) {
  std::fprintf(stderr, "leaklab-kv client: %s\n", message.c_str());
  std::exit(code);
}

// Reads one '\n'-terminated line (without it) into *line; false on a close, an error or
// the receive timeout, with *why saying which.
bool ReadLine(int fd, std::string* pending, std::string* line, std::string* why) {
  for (;;) {
    const size_t nl = pending->find('\n');
    if (nl != std::string::npos) {
      *line = pending->substr(0, nl);
      pending->erase(0, nl + 1);
      return true;
    }
    char chunk[4096];
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      *why = "the server closed the connection before a reply";
      return false;
    }
    if (n < 0 && errno == ECONNRESET) {
      *why = "the server closed the connection before a reply (reset)";
      return false;
    }
    if (n < 0) {
      *why = errno == EAGAIN || errno == EWOULDBLOCK ? "no reply within the timeout" : std::string("read: ") + std::strerror(errno);
      return false;
    }
    pending->append(chunk, static_cast<size_t>(n));
  }
}

int RunClient(int argc, char** argv) {
  uint64_t port = 0, timeout_s = 120;
  bool have_port = false, stats = false;
  int i = 2;
  for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; ++i) {
    const std::string flag = argv[i];
    if (flag == "--stats") {
      stats = true;
      continue;
    }
    if (flag != "--port" && flag != "--timeout") ClientFail(2, "unknown flag " + flag + "\n" + kUsage);
    if (i + 1 >= argc) ClientFail(2, flag + " needs a value");
    uint64_t v = 0;
    if (!ParseU64(argv[++i], &v) || (flag == "--port" && (v < 1 || v > 65535)) || (flag == "--timeout" && v < 1))
      ClientFail(2, flag + ": '" + argv[i] + "' is not " + (flag == "--port" ? "a port (1-65535)" : "a number of seconds (>= 1)"));
    if (flag == "--port") {
      port = v;
      have_port = true;
    } else {
      timeout_s = v;
    }
  }
  if (!have_port) ClientFail(2, std::string("--port is required\n") + kUsage);
  if (i >= argc) ClientFail(2, std::string("no command given\n") + kUsage);
  std::string command;
  for (; i < argc; ++i) command += (command.empty() ? "" : " ") + std::string(argv[i]);

  signal(SIGPIPE, SIG_IGN);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    ClientFail(3, "cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string pending, reply, why;
  std::vector<std::string> commands = {command};
  if (stats) commands.push_back("STATS");
  for (const std::string& c : commands) {
    if (!WriteAll(fd, c + "\n"))
      ClientFail(3, "'" + c + "': " + (errno == EPIPE || errno == ECONNRESET
                                          ? std::string("the server closed the connection before a reply (") + std::strerror(errno) + ")"
                                          : std::string("cannot send: ") + std::strerror(errno)));
    if (!ReadLine(fd, &pending, &reply, &why)) ClientFail(3, "'" + c + "': " + why);
    std::printf("%s\n", reply.c_str());
    std::fflush(stdout);
    if (reply.compare(0, 3, "ERR") == 0) ClientFail(1, "the server answered '" + c + "' with: " + reply);
  }
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "client") == 0) return RunClient(argc, argv);
  return RunServer(argc, argv);
}
