// Frame codec for the leak-lab wire protocol (see native/PROTOCOL.md).
// Pure byte handling: no sockets, no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
//
// Payload memory follows the bytes that have arrived, not the length a header declares: the
// buffer is malloc()ed when the first payload bytes come, sized to the bytes known to have
// arrived (those given to Next() plus those the readable probe reports waiting, e.g. a
// socket's FIONREAD), and realloc()ed as more come, at least doubling. So a frame being
// assembled holds at most min(length, max(kMinPayloadChunk, 2 x its bytes arrived)); a frame
// whose bytes have all arrived costs one malloc of exactly its length (and the payload
// handed out always has exactly `length` bytes); a bad header costs nothing beyond the header.
// An allocation that fails is an error like a bad header (out_of_memory() tells them apart).
class FrameReader {
 public:
  static constexpr size_t kMinPayloadChunk = 64 * 1024;

  FrameReader(uint32_t max_frame, uint32_t allowed_types)
      : max_frame_(max_frame), allowed_types_(allowed_types) {}
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Optional: how many bytes are waiting beyond the input given to Next(). Asked only when a
  // payload buffer has to grow and the input alone does not complete the frame.
  void SetReadableProbe(std::function<size_t()> probe) { probe_ = std::move(probe); }

  // Consumes bytes from [*data, *data + *size) and advances both. Returns kFrame with
  // *out filled as soon as one frame is complete (call again for the next), kNeedMore
  // when the input is used up, kError with *error set on a bad header or when the payload
  // buffer cannot be allocated (the reader is then unusable; a half-read payload is freed at
  // once, since memory is what ran out).
  DecodeStatus Next(const uint8_t** data, size_t* size, Frame* out, std::string* error);

  // When a payload is half read, the caller may read() straight into it instead of
  // through its own buffer: returns the space left in the payload buffer as allocated so
  // far (0 when not in a body, or when the buffer is full: Next() grows it).
  size_t DirectSpace(char** dst);
  // Records that `n` bytes were written into the space DirectSpace() returned.
  void CommitDirect(size_t n) { filled_ += n; }

  // Frees a half-read payload now (a closed connection may outlive its close briefly).
  void Discard();
  // Bytes allocated for the frame currently being assembled (0 between frames).
  size_t PendingPayloadBytes() const { return in_body_ ? capacity_ : 0; }
  // The last error was an allocation failure, not bad input.
  bool out_of_memory() const { return out_of_memory_; }
  // malloc/realloc calls made for payloads so far (1 per frame whose bytes all arrived together).
  uint64_t allocations() const { return allocations_; }

 private:
  // Makes room for `incoming` more payload bytes; false with *error set if it cannot.
  bool Reserve(size_t incoming, std::string* error);

  uint32_t max_frame_;
  uint32_t allowed_types_;
  std::function<size_t()> probe_;
  uint8_t header_bytes_[kHeaderSize] = {};
  size_t header_filled_ = 0;
  bool in_body_ = false;
  bool out_of_memory_ = false;
  FrameHeader header_;
  char* payload_ = nullptr;
  size_t capacity_ = 0;  // bytes allocated at payload_
  size_t filled_ = 0;
  uint64_t allocations_ = 0;
};

}  // namespace leaklab
