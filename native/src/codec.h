// Frame codec for the leak-lab wire protocol (see native/PROTOCOL.md).
// Pure byte handling: no sockets, no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace leaklab {

constexpr size_t kHeaderSize = 16;
constexpr uint32_t kDefaultMaxFrame = 16u << 20;

enum class FrameType : uint8_t {
  kRequest = 1,
  kResponse = 2,
  kError = 3,
  kAdmin = 4,
  kAdminReply = 5,
};

constexpr uint32_t TypeBit(FrameType t) { return 1u << static_cast<uint8_t>(t); }

struct FrameHeader {
  uint32_t length = 0;
  FrameType type = FrameType::kRequest;
  uint64_t id = 0;
};

void EncodeHeader(const FrameHeader& header, uint8_t out[kHeaderSize]);

enum class DecodeStatus { kNeedMore, kFrame, kError };

// Checks and decodes one header from the first kHeaderSize bytes of `data`.
// kNeedMore when fewer bytes are there; kError (with *error set) when the length is over
// `max_frame`, the type is not in `allowed_types` (a mask of TypeBit), or flags/reserved
// are not zero.
DecodeStatus DecodeHeader(const uint8_t* data, size_t size, uint32_t max_frame,
                          uint32_t allowed_types, FrameHeader* out, std::string* error);

// A whole frame; `payload` was allocated with malloc() and belongs to whoever holds the
// Frame (nullptr when length is 0).
struct Frame {
  FrameHeader header;
  char* payload = nullptr;
};

// Resumable decoder: feed bytes as they arrive, take frames out one at a time.
// The payload buffer is malloc()ed as soon as the header is valid and filled in place,
// so a frame costs one copy and a bad header costs nothing beyond the header.
class FrameReader {
 public:
  FrameReader(uint32_t max_frame, uint32_t allowed_types)
      : max_frame_(max_frame), allowed_types_(allowed_types) {}
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Consumes bytes from [*data, *data + *size) and advances both. Returns kFrame with
  // *out filled as soon as one frame is complete (call again for the next), kNeedMore
  // when the input is used up, kError with *error set on a bad header (the reader is then
  // unusable).
  DecodeStatus Next(const uint8_t** data, size_t* size, Frame* out, std::string* error);

  // When a large payload is half read, the caller may read() straight into it instead of
  // through its own buffer: returns the space left in the payload (0 when not in a body).
  size_t DirectSpace(char** dst);
  // Records that `n` bytes were written into the space DirectSpace() returned.
  void CommitDirect(size_t n) { filled_ += n; }

  // Bytes of a frame currently being assembled (for the relay's own accounting).
  size_t PendingPayloadBytes() const { return in_body_ ? header_.length : 0; }

 private:
  uint32_t max_frame_;
  uint32_t allowed_types_;
  uint8_t header_bytes_[kHeaderSize] = {};
  size_t header_filled_ = 0;
  bool in_body_ = false;
  FrameHeader header_;
  char* payload_ = nullptr;
  size_t filled_ = 0;
};

}  // namespace leaklab
