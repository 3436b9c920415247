#include "mimalloc_stats_text.h"

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

}  // namespace leaklab
