#include "codec.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace leaklab {
namespace {

uint32_t Load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t Load64(const uint8_t* p) {
  return (uint64_t{Load32(p)} << 32) | Load32(p + 4);
}

void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

void EncodeHeader(const FrameHeader& header, uint8_t out[kHeaderSize]) {
  Store32(out, header.length);
  out[4] = static_cast<uint8_t>(header.type);
  out[5] = 0;
  out[6] = 0;
  out[7] = 0;
  Store32(out + 8, static_cast<uint32_t>(header.id >> 32));
  Store32(out + 12, static_cast<uint32_t>(header.id));
}

DecodeStatus DecodeHeader(const uint8_t* data, size_t size, uint32_t max_frame,
                          uint32_t allowed_types, FrameHeader* out, std::string* error) {
  if (size < kHeaderSize) return DecodeStatus::kNeedMore;
  const uint32_t length = Load32(data);
  const uint8_t type = data[4];
  if (type >= 32 || (allowed_types & (1u << type)) == 0) {
    *error = "unknown or unexpected frame type " + std::to_string(type);
    return DecodeStatus::kError;
  }
  if (data[5] != 0 || data[6] != 0 || data[7] != 0) {
    *error = "flags and reserved bytes must be zero";
    return DecodeStatus::kError;
  }
  if (length > max_frame) {
    *error = "frame length " + std::to_string(length) + " exceeds max_frame " +
             std::to_string(max_frame);
    return DecodeStatus::kError;
  }
  out->length = length;
  out->type = static_cast<FrameType>(type);
  out->id = Load64(data + 8);
  return DecodeStatus::kFrame;
}

FrameReader::~FrameReader() { std::free(payload_); }

DecodeStatus FrameReader::Next(const uint8_t** data, size_t* size, Frame* out,
                               std::string* error) {
  if (!in_body_) {
    const size_t take = std::min(kHeaderSize - header_filled_, *size);
    std::memcpy(header_bytes_ + header_filled_, *data, take);
    header_filled_ += take;
    *data += take;
    *size -= take;
    const DecodeStatus st =
        DecodeHeader(header_bytes_, header_filled_, max_frame_, allowed_types_, &header_, error);
    if (st != DecodeStatus::kFrame) return st;
    in_body_ = true;
    filled_ = 0;
    capacity_ = 0;
  }
  const size_t take = std::min<size_t>(header_.length - filled_, *size);
  if (take) {
    if (!Reserve(take, error)) return DecodeStatus::kError;
    std::memcpy(payload_ + filled_, *data, take);
  }
  filled_ += take;
  *data += take;
  *size -= take;
  if (filled_ < header_.length) return DecodeStatus::kNeedMore;
  out->header = header_;
  out->payload = payload_;
  payload_ = nullptr;
  capacity_ = 0;
  in_body_ = false;
  header_filled_ = 0;
  return DecodeStatus::kFrame;
}

bool FrameReader::Reserve(size_t incoming, std::string* error) {
  const size_t length = header_.length;
  const size_t need = filled_ + incoming;  // <= length: Next() takes no more than the frame
  if (need <= capacity_) return true;
  // Bytes known to have arrived: `need`, plus what is waiting when the input does not end
  // the frame. Doubling keeps a slowly arriving frame to O(log length) reallocs.
  size_t target = std::max({need, 2 * capacity_, kMinPayloadChunk});
  if (target < length && probe_) target = std::max(target, need + probe_());
  target = std::min(target, length);
  void* p = payload_ ? std::realloc(payload_, target) : std::malloc(target);
  if (p == nullptr) {
    Discard();
    out_of_memory_ = true;
    *error = "out of memory: cannot allocate " + std::to_string(target) + " bytes for a frame of " +
             std::to_string(length) + " bytes";
    return false;
  }
  payload_ = static_cast<char*>(p);
  capacity_ = target;
  ++allocations_;
  return true;
}

void FrameReader::Discard() {
  std::free(payload_);
  payload_ = nullptr;
  capacity_ = 0;
  filled_ = 0;
  in_body_ = false;
  header_filled_ = 0;
}

size_t FrameReader::DirectSpace(char** dst) {
  if (!in_body_ || payload_ == nullptr) return 0;
  *dst = payload_ + filled_;
  return capacity_ - filled_;
}

}  // namespace leaklab
