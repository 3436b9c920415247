#include "alloc/mimalloc_stats_text.h"

#include <cstdlib>
#include <cstring>

namespace leaklab {
namespace {

double UnitScale(const char* unit, size_t len) {
  auto is = [&](const char* u) { return std::strlen(u) == len && std::strncmp(unit, u, len) == 0; };
  if (is("B")) return 1;
  if (is("KiB")) return 1024.0;
  if (is("MiB")) return 1024.0 * 1024;
  if (is("GiB")) return 1024.0 * 1024 * 1024;
  if (is("TiB")) return 1024.0 * 1024 * 1024 * 1024;
  return 0;
}

}  // namespace

void MimallocStatsText::Append(const char* msg, void* arg) {
  auto* t = static_cast<MimallocStatsText*>(arg);
  const size_t n = std::strlen(msg);
  const size_t room = sizeof t->text - 1 - t->used;
  const size_t take = n < room ? n : room;
  std::memcpy(t->text + t->used, msg, take);
  t->used += take;
  t->text[t->used] = '\0';
  if (take < n) t->truncated = true;
}

// No allocation: the relay calls it from its stats path, which must not drive the allocator.
bool ParseMimallocCurrent(const char* text, const char* label, double* out) {
  const size_t label_len = std::strlen(label);
  for (const char* line = text; line != nullptr && *line != '\0';) {
    const char* end = std::strchr(line, '\n');
    if (end == nullptr) end = line + std::strlen(line);
    const char* p = line;
    while (p < end && (*p == ' ' || *p == '[')) ++p;
    if (static_cast<size_t>(end - p) > label_len && std::strncmp(p, label, label_len) == 0 &&
        p[label_len] == ':') {
      p += label_len + 1;
      double amounts[4];
      int count = 0;
      while (count < 4) {
        while (p < end && *p == ' ') ++p;
        if (p >= end) return false;
        char* num_end = nullptr;
        const double v = std::strtod(p, &num_end);
        if (num_end == p || (num_end < end && *num_end != ' ')) return false;
        p = num_end;
        double scale = 1;
        const char* unit = p;
        while (unit < end && *unit == ' ') ++unit;
        const char* unit_end = unit;
        while (unit_end < end && *unit_end != ' ') ++unit_end;
        if (unit_end > unit && UnitScale(unit, static_cast<size_t>(unit_end - unit)) > 0) {
          scale = UnitScale(unit, static_cast<size_t>(unit_end - unit));
          p = unit_end;
        }
        amounts[count++] = v * scale;
      }
      *out = amounts[3];
      return true;
    }
    line = *end == '\n' ? end + 1 : nullptr;
  }
  return false;
}

void WriteMimallocProcessInfo(MiProcessInfoFn info, StatsOut& out) {
  size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
  info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  out.Int("process.current_rss", static_cast<int64_t>(rss));
  out.Int("process.peak_rss", static_cast<int64_t>(peak_rss));
  out.Int("process.current_commit", static_cast<int64_t>(commit));
  out.Int("process.peak_commit", static_cast<int64_t>(peak_commit));
  out.Int("process.page_faults", static_cast<int64_t>(faults));
}

void WriteMimallocStatsText(MiStatsPrintFn print, MimallocStatsText& text, StatsOut& out) {
  text.Clear();
  if (print != nullptr) print(&MimallocStatsText::Append, &text);
  double reserved = 0, committed = 0, reset = 0;
  const bool have_reserved = ParseMimallocCurrent(text.text, "reserved", &reserved);
  const bool have_committed = ParseMimallocCurrent(text.text, "committed", &committed);
  const bool have_reset = ParseMimallocCurrent(text.text, "reset", &reset);
  auto num = [&](const char* key, bool ok, double v) { out.IntOrNull(key, ok ? static_cast<int64_t>(v) : -1); };
  num("stats.reserved_approx", have_reserved, reserved);
  num("stats.committed_approx", have_committed, committed);
  num("stats.reset_approx", have_reset, reset);
  // Reserved address space that is decommitted, plus committed memory that was reset
  // (madvise'd) but kept mapped; approximate (see ParseMimallocCurrent).
  num("unmapped_bytes", have_reserved && have_committed && have_reset, reserved - committed + reset);
}

}  // namespace leaklab
