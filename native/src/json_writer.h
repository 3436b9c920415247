// A JSON object written into a fixed buffer, without allocating: the relay's `stats`
// replies, which the harness asks for every 100 ms. Allocator activity drives jemalloc's
// decay and tcmalloc's release, so the observer must not allocate inside the relay
// (docs/native.md). Fields go through StatsOut, so the allocator files (alloc/adapter.h) write
// their counters without knowing where they go.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaklab {

// Receives named numbers; each allocator's Stats() writes to one.
class StatsOut {
 public:
  virtual ~StatsOut() = default;
  virtual void Int(const char* key, int64_t value) = 0;
  virtual void Null(const char* key) = 0;
  virtual void Bool(const char* key, bool value) = 0;
  // Fixed point, 3 decimals.
  virtual void Double(const char* key, double value) = 0;
  // value < 0 (unknown) is written as null.
  void IntOrNull(const char* key, int64_t value) {
    if (value < 0) Null(key);
    else Int(key, value);
  }
};

class JsonWriter : public StatsOut {
 public:
  // Writes into buf[0..capacity); nothing is written past it. Starts the top-level object.
  JsonWriter(char* buf, size_t capacity);

  void Int(const char* key, int64_t value) override;
  void Null(const char* key) override;
  void Bool(const char* key, bool value) override;
  // Fixed point, 3 decimals (no printf of a double: glibc may allocate for those);
  // not finite: null.
  void Double(const char* key, double value) override;
  void Uint(const char* key, uint64_t value);
  // `value` null is written as null.
  void String(const char* key, const char* value);
  // ["a","b",...]
  void StringArray(const char* key, const char* const* values, size_t count);
  // `key` null: an element of the array being written.
  void BeginObject(const char* key);
  void BeginArray(const char* key);
  void EndArray();
  void EndObject();

  // Closes the top-level object; false if the buffer was too small (the text is then cut).
  bool Finish();
  const char* data() const { return buf_; }
  size_t size() const { return used_; }
  bool overflowed() const { return overflow_; }

 private:
  void Key(const char* key);
  void Raw(const char* s, size_t n);
  void Raw(const char* s);
  void Char(char c) { Raw(&c, 1); }

  char* buf_;
  size_t capacity_;
  size_t used_ = 0;
  bool overflow_ = false;
  bool first_ = true;  // no field yet in the current object
};

}  // namespace leaklab
