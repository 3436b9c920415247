#include "loadgen.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "filler.h"
#include "net.h"

namespace leaklab {
namespace {

constexpr int64_t kReportEveryUs = 100000;
constexpr int64_t kRetryMs = 100;
constexpr int kMaxDiagnostics = 20;
int diagnostics = 0;

void Diagnose(const std::string& message) {
  if (diagnostics > kMaxDiagnostics) return;
  if (++diagnostics > kMaxDiagnostics)
    std::fprintf(stderr, "loadgen: further diagnostics suppressed\n");
  else
    std::fprintf(stderr, "loadgen: %s\n", message.c_str());
}

// Tick lines are written to stdout's buffer and flushed at most every kFlushTicksEveryUs
// (each flush wakes the harness, and ten a second cost it about 1% of a core); phase and
// totals lines are flushed at once, as the harness acts on them. A tick carries its own
// time (mono_us), so its lateness changes nothing.
constexpr int64_t kFlushTicksEveryUs = 1000000;
int64_t last_flush_us = 0;

void PrintLine(const nlohmann::ordered_json& j, bool flush = true) {
  const std::string s = j.dump();
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
  const int64_t now = leaklab::NowUs();
  if (flush || now - last_flush_us >= kFlushTicksEveryUs) {
    std::fflush(stdout);
    last_flush_us = now;
  }
}

// The first bytes of request k's payload: k as 8 big-endian bytes.
void SequenceBytes(uint64_t k, uint8_t out[8]) {
  for (int i = 7; i >= 0; --i, k >>= 8) out[i] = static_cast<uint8_t>(k);
}

nlohmann::ordered_json PercentileOrNull(const LatencyHistogram& h, double q) {
  if (h.count() == 0) return nullptr;
  return h.Percentile(q);
}

}  // namespace

LoadGen::LoadGen(Schedule schedule, uint16_t port, uint32_t max_frame, int64_t start_us)
    : schedule_(std::move(schedule)),
      port_(port),
      max_frame_(max_frame),
      start_us_(start_us),
      filler_(MapFiller(max_frame)),
      slots_(schedule_.connections),
      phase_stats_(schedule_.phases.size()) {}

bool LoadGen::Connect(std::string* error) {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (!Open(i, error)) return false;
  return true;
}

bool LoadGen::Open(size_t index, std::string* error) {
  const int fd = ConnectLoopback(port_, error);
  if (fd < 0) return false;
  Connection::Handlers h;
  h.on_frame = [this, index](Connection& c, Frame&& f) { OnFrame(index, c, std::move(f)); };
  h.on_close = [this, index](Connection& c, const std::string& r) { OnClose(index, c, r); };
  auto conn = std::make_shared<Connection>(
      loop_, fd, max_frame_, TypeBit(FrameType::kResponse) | TypeBit(FrameType::kError),
      std::move(h));
  conn->Start();
  slots_[index].conn = std::move(conn);
  slots_[index].served = 0;
  slots_[index].retiring = false;
  ++up_count_;
  return true;
}

int LoadGen::Run() {
  loop_.SetAfterDispatch([this] { AfterDispatch(); });
  run_start_us_ = NowUs();
  next_report_us_ = run_start_us_ + kReportEveryUs;
  running_ = true;
  StartPhase(0, run_start_us_);
  TopUpClosed(run_start_us_);
  Flush();
  loop_.Run(1, [this] { OnTick(); });
  return 0;
}

void LoadGen::StartPhase(size_t index, int64_t start_us) {
  if (index > 0) phase_stats_[index - 1].end_us = start_us;
  phase_ = index;
  phase_stats_[index].start_us = start_us;
  phase_end_us_ = start_us + static_cast<int64_t>(schedule_.phases[index].duration_ms) * 1000;
  open_scheduled_ = 0;
  nlohmann::ordered_json j;
  j["type"] = "phase";
  j["index"] = index;
  j["name"] = schedule_.phases[index].name;
  j["t_ms"] = SinceStartMs(start_us);
  PrintLine(j);
}

void LoadGen::OnTick() {
  if (finished_) return;
  const int64_t now = NowUs();
  while (now >= phase_end_us_ || CountReached(true)) {
    // A phase sized by count ends now; a timed one at its scheduled end.
    const int64_t end = now >= phase_end_us_ ? phase_end_us_ : now;
    if (phase_ + 1 >= schedule_.phases.size()) return Finish(end);
    StartPhase(phase_ + 1, end);
  }
  if (up_count_ < slots_.size()) {
    const int64_t now_ms = now / 1000;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].conn || slots_[i].retry_ms > now_ms) continue;
      std::string error;
      if (!Open(i, &error)) {
        Diagnose("reconnect " + std::to_string(i) + ": " + error);
        slots_[i].retry_ms = now_ms + kRetryMs;
      }
    }
  }
  const auto& load = schedule_.phases[phase_].load;
  if (load && load->mode == Load::Mode::kOpen) {
    const double elapsed_s = static_cast<double>(now - phase_stats_[phase_].start_us) / 1e6;
    const auto due = static_cast<uint64_t>(load->rate * elapsed_s);
    for (; open_scheduled_ < due && !CountReached(false); ++open_scheduled_) {
      if (in_flight_ >= load->max_in_flight || !Issue(now)) {
        ++dropped_;
        ++phase_stats_[phase_].dropped;
      }
    }
  }
  TopUpClosed(now);
  Flush();
  if (now >= next_report_us_) {
    PrintTick(now);
    while (next_report_us_ <= now) next_report_us_ += kReportEveryUs;
  }
}

void LoadGen::AfterDispatch() {
  if (!running_ || finished_) return;
  TopUpClosed(NowUs());
  Flush();
}

void LoadGen::TopUpClosed(int64_t now_us) {
  const auto& load = schedule_.phases[phase_].load;
  if (!load || load->mode != Load::Mode::kClosed) return;
  while (in_flight_ < load->concurrency && !CountReached(false) && Issue(now_us)) {
  }
}

bool LoadGen::CountReached(bool and_answered) const {
  const auto& load = schedule_.phases[phase_].load;
  if (!load || load->requests == 0 || phase_stats_[phase_].sent < load->requests) return false;
  return !and_answered || in_flight_ == 0;
}

bool LoadGen::Issue(int64_t now_us) {
  if (up_count_ == 0) return false;
  size_t index = next_slot_;
  size_t tried = 0;
  while (!slots_[index].conn || slots_[index].retiring) {
    if (++tried > slots_.size()) return false;  // every open connection is retiring
    index = (index + 1) % slots_.size();
  }
  next_slot_ = (index + 1) % slots_.size();
  Slot& slot = slots_[index];

  const uint64_t k = next_k_++;
  const uint32_t length = RequestSize(schedule_.phases[phase_].load->size, schedule_.seed, k);
  uint8_t prefix[8];
  SequenceBytes(k, prefix);
  const size_t prefix_len = std::min<size_t>(8, length);
  if (!slot.corked) {  // batch this slot's frames into one writev at Flush()
    slot.conn->Cork();
    slot.corked = true;
    corked_.push_back(index);
  }
  slot.conn->SendPrefixed(FrameType::kRequest, k, prefix, prefix_len, filler_,
                          static_cast<uint32_t>(length - prefix_len));
  slot.outstanding.emplace(k, Request{k, now_us, length});
  ++in_flight_;
  ++sent_;
  bytes_sent_ += length;
  PhaseStats& ps = phase_stats_[phase_];
  ++ps.sent;
  ps.bytes_sent += length;
  return true;
}

void LoadGen::Flush() {
  for (size_t index : corked_) {
    slots_[index].corked = false;
    std::shared_ptr<Connection> conn = slots_[index].conn;  // Uncork may close it
    if (conn) conn->Uncork();
  }
  corked_.clear();
}

void LoadGen::OnFrame(size_t index, Connection& conn, Frame&& frame) {
  const int64_t now = NowUs();
  if (frame.header.type == FrameType::kError) {
    const std::string message(frame.payload ? frame.payload : "", frame.header.length);
    std::free(frame.payload);
    Diagnose("connection " + std::to_string(index) + ": ERROR frame: " + message);
    return conn.Close("ERROR frame");  // OnClose counts its outstanding requests
  }
  bytes_received_ += frame.header.length;
  Slot& slot = slots_[index];
  auto it = slot.outstanding.find(frame.header.id);
  if (it == slot.outstanding.end()) {
    std::free(frame.payload);
    ++unexpected_;
    Diagnose("connection " + std::to_string(index) + ": response for unknown id " +
             std::to_string(frame.header.id));
    return;
  }
  const Request req = it->second;
  slot.outstanding.erase(it);
  --in_flight_;
  uint8_t expect[8];
  SequenceBytes(req.k, expect);
  const size_t n = std::min<size_t>({8, req.length, frame.header.length});
  const bool match = n == 0 || std::memcmp(frame.payload, expect, n) == 0;
  std::free(frame.payload);
  if (finished_) return;
  if (!match) {
    CountErrors(1);
    Diagnose("connection " + std::to_string(index) + ": response " + std::to_string(req.k) +
             " does not echo the request's first bytes");
    return;
  }
  ++completed_;
  ++interval_completed_;
  PhaseStats& ps = phase_stats_[phase_];
  ++ps.completed;
  const uint64_t latency = static_cast<uint64_t>(std::max<int64_t>(0, now - req.sent_us));
  ps.latency.Record(latency);
  run_latency_.Record(latency);
  interval_latency_.Record(latency);
  const auto& load = schedule_.phases[phase_].load;
  if (load && load->reconnect_every && ++slot.served >= load->reconnect_every) slot.retiring = true;
  if (slot.retiring && slot.outstanding.empty()) Retire(index);
}

void LoadGen::Retire(size_t index) {
  std::shared_ptr<Connection> conn = slots_[index].conn;
  ++reconnects_;
  conn->Close("churn");  // OnClose schedules the reconnect; nothing is outstanding
}

void LoadGen::OnClose(size_t index, Connection& conn, const std::string& reason) {
  Slot& slot = slots_[index];
  if (slot.conn.get() != &conn || finished_) return;
  const uint64_t lost = slot.outstanding.size();
  CountErrors(lost);
  in_flight_ -= lost;
  slot.outstanding.clear();
  slot.conn.reset();  // Close() holds its own reference while this runs
  --up_count_;
  slot.retry_ms = NowMs();  // reconnect on the next tick
  if (reason == "churn") return;
  Diagnose("connection " + std::to_string(index) + " closed (" +
           (reason.empty() ? std::string("EOF") : reason) + "), " + std::to_string(lost) +
           " outstanding requests counted as errors; reconnecting");
}

void LoadGen::CountErrors(uint64_t n) {
  errors_ += n;
  phase_stats_[phase_].errors += n;
}

void LoadGen::PrintTick(int64_t now_us) {
  nlohmann::ordered_json j;
  j["type"] = "tick";
  j["t_ms"] = SinceStartMs(now_us);
  j["phase"] = schedule_.phases[phase_].name;
  j["sent"] = sent_;
  j["completed"] = completed_;
  j["errors"] = errors_;
  j["dropped"] = dropped_;
  j["in_flight"] = in_flight_;
  j["interval_completed"] = interval_completed_;
  j["p50_us"] = PercentileOrNull(interval_latency_, 0.50);
  j["p99_us"] = PercentileOrNull(interval_latency_, 0.99);
  j["mono_us"] = now_us;  // CLOCK_MONOTONIC, as the harness's sampler stamps its samples
  PrintLine(j, /*flush=*/false);
  interval_completed_ = 0;
  interval_latency_.Reset();
}

void LoadGen::Finish(int64_t now_us) {
  finished_ = true;
  phase_stats_[phase_].end_us = now_us;
  PrintTotals(now_us);
  loop_.Stop();
}

void LoadGen::PrintTotals(int64_t now_us) {
  nlohmann::ordered_json j;
  j["type"] = "totals";
  j["duration_ms"] = (now_us - run_start_us_) / 1000;
  j["sent"] = sent_;
  j["completed"] = completed_;
  j["errors"] = errors_;
  j["dropped"] = dropped_;
  j["abandoned"] = in_flight_;
  j["unexpected_responses"] = unexpected_;
  j["reconnects"] = reconnects_;
  j["bytes_sent"] = bytes_sent_;
  j["bytes_received"] = bytes_received_;
  j["p50_us"] = PercentileOrNull(run_latency_, 0.50);
  j["p99_us"] = PercentileOrNull(run_latency_, 0.99);
  j["phases"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < phase_stats_.size(); ++i) {
    const PhaseStats& ps = phase_stats_[i];
    const int64_t us = std::max<int64_t>(1, ps.end_us - ps.start_us);
    nlohmann::ordered_json p;
    p["name"] = schedule_.phases[i].name;
    p["duration_ms"] = us / 1000;
    p["sent"] = ps.sent;
    p["completed"] = ps.completed;
    p["errors"] = ps.errors;
    p["dropped"] = ps.dropped;
    p["throughput_rps"] = static_cast<double>(ps.completed) * 1e6 / static_cast<double>(us);
    p["p50_us"] = PercentileOrNull(ps.latency, 0.50);
    p["p99_us"] = PercentileOrNull(ps.latency, 0.99);
    p["bytes_sent"] = ps.bytes_sent;
    const auto& load = schedule_.phases[i].load;
    if (load && load->requests) p["requests"] = load->requests;  // sent < requests: cut short
    j["phases"].push_back(std::move(p));
  }
  PrintLine(j);
}

}  // namespace leaklab
