// Self-checking tests of the frame codec against literal wire bytes (no framework).
// Prints "N passed, M failed"; exits 1 on any failure.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec.h"

using namespace leaklab;

namespace {

int passed = 0;
int failed = 0;

void Check(bool ok, const char* what, int line) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::fprintf(stderr, "FAIL line %d: %s\n", line, what);
  }
}
#define CHECK(cond) Check((cond), #cond, __LINE__)

constexpr uint32_t kAll = TypeBit(FrameType::kRequest) | TypeBit(FrameType::kResponse) |
                          TypeBit(FrameType::kError) | TypeBit(FrameType::kAdmin) |
                          TypeBit(FrameType::kAdminReply);

// REQUEST, length 3, id 0x0102030405060708, payload "abc".
const std::vector<uint8_t> kRequestAbc = {0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00,
                                          0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                          'a',  'b',  'c'};

void TestEncode() {
  uint8_t out[kHeaderSize];
  EncodeHeader(FrameHeader{3, FrameType::kRequest, 0x0102030405060708ull}, out);
  CHECK(std::memcmp(out, kRequestAbc.data(), kHeaderSize) == 0);
  EncodeHeader(FrameHeader{0x01020304u, FrameType::kAdminReply, 0xffffffffffffffffull}, out);
  const uint8_t want[kHeaderSize] = {1, 2, 3, 4, 5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff};
  CHECK(std::memcmp(out, want, kHeaderSize) == 0);
}

void TestDecodeHeader() {
  FrameHeader h;
  std::string err;
  CHECK(DecodeHeader(kRequestAbc.data(), kRequestAbc.size(), kDefaultMaxFrame, kAll, &h,
                     &err) == DecodeStatus::kFrame);
  CHECK(h.length == 3 && h.type == FrameType::kRequest && h.id == 0x0102030405060708ull);
  CHECK(DecodeHeader(kRequestAbc.data(), 15, kDefaultMaxFrame, kAll, &h, &err) ==
        DecodeStatus::kNeedMore);
}

// Feeds `bytes` split at `split` into a fresh reader and expects one "abc" frame.
bool DecodeSplit(const std::vector<uint8_t>& bytes, size_t split) {
  FrameReader reader(kDefaultMaxFrame, kAll);
  Frame f;
  std::string err;
  const uint8_t* p = bytes.data();
  size_t n = split;
  const DecodeStatus first = reader.Next(&p, &n, &f, &err);
  if (split < bytes.size()) {
    if (first != DecodeStatus::kNeedMore || n != 0) return false;
    p = bytes.data() + split;
    n = bytes.size() - split;
    if (reader.Next(&p, &n, &f, &err) != DecodeStatus::kFrame) return false;
  } else if (first != DecodeStatus::kFrame) {
    return false;
  }
  const bool ok = n == 0 && f.header.id == 0x0102030405060708ull && f.header.length == 3 &&
                  std::memcmp(f.payload, "abc", 3) == 0;
  std::free(f.payload);
  return ok;
}

void TestEverySplit() {
  for (size_t split = 0; split <= kRequestAbc.size(); ++split)
    Check(DecodeSplit(kRequestAbc, split), ("split at " + std::to_string(split)).c_str(),
          __LINE__);
}

DecodeStatus DecodeOne(std::vector<uint8_t> bytes, uint32_t max_frame, uint32_t allowed,
                       std::string* err) {
  FrameReader reader(max_frame, allowed);
  Frame f;
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  const DecodeStatus st = reader.Next(&p, &n, &f, err);
  if (st == DecodeStatus::kFrame) std::free(f.payload);
  return st;
}

void TestErrors() {
  std::string err;
  // Length 17 over max_frame 16; no payload byte needed to see it.
  std::vector<uint8_t> over = {0, 0, 0, 17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  CHECK(DecodeOne(over, 16, kAll, &err) == DecodeStatus::kError);
  CHECK(err.find("exceeds") != std::string::npos);
  // Exactly max_frame is fine.
  std::vector<uint8_t> exact = over;
  exact[3] = 16;
  exact.resize(kHeaderSize + 16, 'x');
  CHECK(DecodeOne(exact, 16, kAll, &err) == DecodeStatus::kFrame);
  // 0xffffffff length.
  std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(DecodeOne(huge, kDefaultMaxFrame, kAll, &err) == DecodeStatus::kError);
  // Unknown types 0, 6, 255.
  for (uint8_t t : {0, 6, 255}) {
    std::vector<uint8_t> bad = {0, 0, 0, 0, t, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    err.clear();
    CHECK(DecodeOne(bad, kDefaultMaxFrame, kAll, &err) == DecodeStatus::kError && !err.empty());
  }
  // A known type that is not allowed on this port.
  std::vector<uint8_t> admin = {0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(DecodeOne(admin, kDefaultMaxFrame, TypeBit(FrameType::kRequest), &err) ==
        DecodeStatus::kError);
  // Nonzero flags, nonzero reserved bytes.
  for (int pos : {5, 6, 7}) {
    std::vector<uint8_t> bad = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    bad[pos] = 0x80;
    CHECK(DecodeOne(bad, kDefaultMaxFrame, kAll, &err) == DecodeStatus::kError);
  }
}

void TestZeroLengthAndTwoFrames() {
  // Zero-length RESPONSE id 7, then REQUEST "abc", in one buffer.
  std::vector<uint8_t> bytes = {0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  bytes.insert(bytes.end(), kRequestAbc.begin(), kRequestAbc.end());
  FrameReader reader(kDefaultMaxFrame, kAll);
  Frame f;
  std::string err;
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kFrame);
  CHECK(f.header.type == FrameType::kResponse && f.header.id == 7 && f.header.length == 0 &&
        f.payload == nullptr);
  CHECK(n == kRequestAbc.size());
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kFrame);
  CHECK(f.header.type == FrameType::kRequest && f.header.length == 3 &&
        std::memcmp(f.payload, "abc", 3) == 0);
  std::free(f.payload);
  CHECK(n == 0);
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kNeedMore);
}

// A REQUEST of `len` bytes whose payload byte i is (i * 7) mod 256.
std::vector<uint8_t> PatternFrame(uint32_t len, uint64_t id) {
  std::vector<uint8_t> bytes(kHeaderSize + len);
  EncodeHeader(FrameHeader{len, FrameType::kRequest, id}, bytes.data());
  for (uint32_t i = 0; i < len; ++i) bytes[kHeaderSize + i] = static_cast<uint8_t>(i * 7);
  return bytes;
}

void TestDirect() {
  // REQUEST of 100000 bytes: header plus 10 bytes through Next, then as the relay's
  // Connection does: read() straight into the payload while it has room, else through Next
  // (which grows the buffer).
  const uint32_t len = 100000;
  const std::vector<uint8_t> bytes = PatternFrame(len, 42);
  FrameReader reader(kDefaultMaxFrame, kAll);
  Frame f;
  std::string err;
  char* dst = nullptr;
  CHECK(reader.DirectSpace(&dst) == 0);  // not in a body yet
  const uint8_t* p = bytes.data();
  size_t n = kHeaderSize + 10;
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kNeedMore);
  // 10 bytes arrived: one minimum chunk, not the 100000 the header declares.
  CHECK(reader.PendingPayloadBytes() == FrameReader::kMinPayloadChunk);
  size_t off = kHeaderSize + 10;
  DecodeStatus st = DecodeStatus::kNeedMore;
  while (off < bytes.size()) {
    const size_t space = reader.DirectSpace(&dst);
    CHECK(space <= bytes.size() - off);
    size_t chunk = std::min<size_t>(bytes.size() - off, 30000);
    if (space > 0) {
      chunk = std::min(chunk, space);
      std::memcpy(dst, bytes.data() + off, chunk);
      reader.CommitDirect(chunk);
      size_t zero = 0;
      const uint8_t* none = bytes.data();
      st = reader.Next(&none, &zero, &f, &err);
    } else {
      const uint8_t* q = bytes.data() + off;
      size_t m = chunk;
      st = reader.Next(&q, &m, &f, &err);
      CHECK(m == 0);
    }
    off += chunk;
    CHECK(st == (off < bytes.size() ? DecodeStatus::kNeedMore : DecodeStatus::kFrame));
  }
  CHECK(f.header.id == 42 && f.header.length == len &&
        std::memcmp(f.payload, bytes.data() + kHeaderSize, len) == 0);
  std::free(f.payload);
  CHECK(reader.DirectSpace(&dst) == 0);
  CHECK(reader.PendingPayloadBytes() == 0);
}

// A legal header declaring 16 MiB costs no payload memory until payload bytes come; then
// the buffer stays within max(64 KiB, 2 x the bytes arrived) all the way, and the frame
// comes out whole and exact.
void TestMemoryFollowsArrival() {
  const uint32_t len = 16u << 20;
  const std::vector<uint8_t> bytes = PatternFrame(len, 9);
  FrameReader reader(kDefaultMaxFrame, kAll);
  Frame f;
  std::string err;
  const uint8_t* p = bytes.data();
  size_t n = kHeaderSize;
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kNeedMore);
  CHECK(reader.PendingPayloadBytes() == 0 && reader.allocations() == 0);
  size_t arrived = 0;
  bool bounded = true;
  DecodeStatus st = DecodeStatus::kNeedMore;
  while (arrived < len) {
    size_t chunk = std::min<size_t>(len - arrived, 4093);  // odd size: never a power of two
    const size_t before = chunk;
    st = reader.Next(&p, &chunk, &f, &err);
    arrived += before;
    if (st == DecodeStatus::kNeedMore &&
        reader.PendingPayloadBytes() > std::max(FrameReader::kMinPayloadChunk, 2 * arrived))
      bounded = false;
  }
  CHECK(bounded);
  CHECK(st == DecodeStatus::kFrame);
  CHECK(f.header.length == len && std::memcmp(f.payload, bytes.data() + kHeaderSize, len) == 0);
  // Doubling from 64 KiB to 16 MiB: 9 allocations (64K, 128K, ..., 16M), not one per read.
  CHECK(reader.allocations() == 9);
  std::free(f.payload);
}

// When the probe says the rest of the frame is already waiting (the socket's FIONREAD),
// the payload is allocated once, at exactly its length.
void TestProbeAllocatesOnce() {
  const uint32_t len = 700000;
  const std::vector<uint8_t> bytes = PatternFrame(len, 3);
  FrameReader reader(kDefaultMaxFrame, kAll);
  size_t waiting = bytes.size();
  reader.SetReadableProbe([&waiting] { return waiting; });
  Frame f;
  std::string err;
  const uint8_t* p = bytes.data();
  size_t n = 65536;  // one read's worth; the rest is "in the kernel"
  waiting = bytes.size() - n;
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kNeedMore);
  CHECK(reader.PendingPayloadBytes() == len && reader.allocations() == 1);
  n = waiting;
  waiting = 0;
  CHECK(reader.Next(&p, &n, &f, &err) == DecodeStatus::kFrame);
  CHECK(reader.allocations() == 1);
  CHECK(std::memcmp(f.payload, bytes.data() + kHeaderSize, len) == 0);
  std::free(f.payload);
}

}  // namespace

int main() {
  TestEncode();
  TestDecodeHeader();
  TestEverySplit();
  TestErrors();
  TestZeroLengthAndTwoFrames();
  TestDirect();
  TestMemoryFollowsArrival();
  TestProbeAllocatesOnce();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
