// Minimal command-line parsing shared by the native tools: `--name value` or
// `--name=value`; every mistake exits 2 with a message that names the flag.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace leaklab {

class FlagParser {
 public:
  FlagParser(int argc, char** argv, const char* usage) : argc_(argc), argv_(argv), usage_(usage) {}

  // Next flag: *name without the dashes; *value empty for --help. False at the end.
  bool Next(std::string* name, std::string* value) {
    if (i_ >= argc_) return false;
    std::string arg = argv_[i_++];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) Fail("unexpected argument '" + arg + "'");
    const size_t eq = arg.find('=');
    *name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (*name == "help" || *name == "h") {
      std::fputs(usage_, stdout);
      std::exit(0);
    }
    if (eq != std::string::npos) {
      *value = arg.substr(eq + 1);
    } else {
      if (i_ >= argc_) Fail("--" + *name + " needs a value");
      *value = argv_[i_++];
    }
    return true;
  }

  [[noreturn]] void Fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n%s", argv_[0], message.c_str(), usage_);
    std::exit(2);
  }

  uint64_t U64(const std::string& name, const std::string& value, uint64_t min,
               uint64_t max) const {
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
    if (value.empty() || value[0] == '-' || value[0] == '+' || *end != '\0' || errno != 0 ||
        v < min || v > max)
      Fail("--" + name + ": '" + value + "' is not an integer in [" + std::to_string(min) +
           ", " + std::to_string(max) + "]");
    return v;
  }

  double Double(const std::string& name, const std::string& value, double min,
                double max) const {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < min || v > max)
      Fail("--" + name + ": '" + value + "' is not a number in [" + Format(min) + ", " +
           Format(max) + "]");
    return v;
  }

 private:
  static std::string Format(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }

  int argc_;
  char** argv_;
  const char* usage_;
  int i_ = 1;
};

}  // namespace leaklab
