#include "json_writer.h"

#include <cmath>
#include <cstring>

namespace leaklab {
namespace {

// Decimal digits of v into out (at least 21 bytes), returns their count.
size_t FormatUint(uint64_t v, char* out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace

JsonWriter::JsonWriter(char* buf, size_t capacity) : buf_(buf), capacity_(capacity) {
  Char('{');
}

void JsonWriter::Raw(const char* s, size_t n) {
  if (overflow_) return;
  if (n > capacity_ - used_) {
    overflow_ = true;
    return;
  }
  std::memcpy(buf_ + used_, s, n);
  used_ += n;
}

void JsonWriter::Raw(const char* s) { Raw(s, std::strlen(s)); }

// key == nullptr: an element of an array (no key).
void JsonWriter::Key(const char* key) {
  if (!first_) Char(',');
  first_ = false;
  if (key == nullptr) return;
  String(nullptr, key);
  Char(':');
}

void JsonWriter::Int(const char* key, int64_t value) {
  Key(key);
  char digits[24];
  if (value < 0) {
    Char('-');
    Raw(digits, FormatUint(0 - static_cast<uint64_t>(value), digits));
  } else {
    Raw(digits, FormatUint(static_cast<uint64_t>(value), digits));
  }
}

void JsonWriter::Uint(const char* key, uint64_t value) {
  Key(key);
  char digits[24];
  Raw(digits, FormatUint(value, digits));
}

void JsonWriter::Double(const char* key, double value) {
  if (!std::isfinite(value)) return Null(key);
  Key(key);
  const uint64_t thousandths = static_cast<uint64_t>(std::llround(std::fabs(value) * 1000.0));
  if (value < 0 && thousandths != 0) Char('-');
  char digits[24];
  Raw(digits, FormatUint(thousandths / 1000, digits));
  const uint64_t frac = thousandths % 1000;
  const char f[4] = {'.', static_cast<char>('0' + frac / 100),
                     static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10)};
  Raw(f, 4);
}

void JsonWriter::Null(const char* key) {
  Key(key);
  Raw("null");
}

void JsonWriter::Bool(const char* key, bool value) {
  Key(key);
  Raw(value ? "true" : "false");
}

// key == nullptr: a bare string (used by Key() for the key itself).
void JsonWriter::String(const char* key, const char* value) {
  if (key != nullptr) Key(key);
  if (value == nullptr) return Raw("null");
  Char('"');
  static const char kHex[] = "0123456789abcdef";
  for (const char* p = value; *p; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\') {
      const char esc[2] = {'\\', static_cast<char>(c)};
      Raw(esc, 2);
    } else if (c < 0x20) {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      Raw(esc, 6);
    } else {
      Char(static_cast<char>(c));
    }
  }
  Char('"');
}

void JsonWriter::StringArray(const char* key, const char* const* values, size_t count) {
  Key(key);
  Char('[');
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) Char(',');
    String(nullptr, values[i]);
  }
  Char(']');
}

void JsonWriter::BeginObject(const char* key) {
  Key(key);
  Char('{');
  first_ = true;
}

void JsonWriter::BeginArray(const char* key) {
  Key(key);
  Char('[');
  first_ = true;
}

void JsonWriter::EndArray() {
  Char(']');
  first_ = false;
}

void JsonWriter::EndObject() {
  Char('}');
  first_ = false;
}

bool JsonWriter::Finish() {
  Char('}');
  return !overflow_;
}

}  // namespace leaklab
