#include "mimalloc_stats_text.h"

#include <cstdlib>
#include <sstream>

namespace leaklab {
namespace {

double UnitScale(const std::string& unit) {
  if (unit == "B") return 1;
  if (unit == "KiB") return 1024.0;
  if (unit == "MiB") return 1024.0 * 1024;
  if (unit == "GiB") return 1024.0 * 1024 * 1024;
  if (unit == "TiB") return 1024.0 * 1024 * 1024 * 1024;
  return 0;
}

}  // namespace

bool ParseMimallocCurrent(const std::string& text, const char* label, double* out) {
  const std::string key = std::string(label) + ":";
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t pos = line.find(key);
    if (pos == std::string::npos || line.find_first_not_of(" [", 0) != pos) continue;
    std::istringstream tokens(line.substr(pos + key.size()));
    std::string tok;
    double amounts[4];
    int count = 0;
    while (count < 4 && tokens >> tok) {
      char* end = nullptr;
      const double v = std::strtod(tok.c_str(), &end);
      if (end == tok.c_str() || *end != '\0') return false;
      double scale = 1;
      const std::streampos mark = tokens.tellg();
      std::string unit;
      if (tokens >> unit && UnitScale(unit) > 0) scale = UnitScale(unit);
      else tokens.seekg(mark);
      amounts[count++] = v * scale;
    }
    if (count < 4) return false;
    *out = amounts[3];
    return true;
  }
  return false;
}

}  // namespace leaklab
