// Quoting untrusted input in error messages: at most the first kMaxQuoted bytes, so an error
// reply never grows with what provoked it (a 1 MiB unknown admin command gets a short reply).
#pragma once

#include <cstddef>
#include <string>

namespace leaklab {

constexpr size_t kMaxQuoted = 64;

// 'text' when it is at most kMaxQuoted bytes, else 'its first kMaxQuoted bytes'... (N bytes).
inline std::string Quote(const std::string& text) {
  if (text.size() <= kMaxQuoted) return "'" + text + "'";
  return "'" + text.substr(0, kMaxQuoted) + "'... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace leaklab
