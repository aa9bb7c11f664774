// Little-endian fixed-width and varint encoding of integers and
// length-prefixed strings: the primitives of every on-disk format
// (docs/format.md).
//
// Decoders take a std::string_view* cursor, consume what they read and return
// false (leaving the cursor unspecified) if the input is too short or malformed.

#ifndef EBB_BASE_CODING_H_
#define EBB_BASE_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ebb {

inline constexpr int kMaxVarint32Bytes = 5;
inline constexpr int kMaxVarint64Bytes = 10;

inline void EncodeFixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, sizeof(v)); }
inline void EncodeFixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, sizeof(v)); }
inline uint32_t DecodeFixed32(const char* src) {
  uint32_t v;
  std::memcpy(&v, src, sizeof(v));
  return v;
}
inline uint64_t DecodeFixed64(const char* src) {
  uint64_t v;
  std::memcpy(&v, src, sizeof(v));
  return v;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Ebb's formats assume a little-endian host");

void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
void PutVarint32(std::string* dst, uint32_t v);
void PutVarint64(std::string* dst, uint64_t v);
// Varint length followed by the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view value);

// Writes a varint at dst (which must have room for kMaxVarint64Bytes) and
// returns the byte after it.
char* EncodeVarint32(char* dst, uint32_t v);
char* EncodeVarint64(char* dst, uint64_t v);
int VarintLength(uint64_t v);

bool GetFixed32(std::string_view* input, uint32_t* value);
bool GetFixed64(std::string_view* input, uint64_t* value);
bool GetVarint32(std::string_view* input, uint32_t* value);
bool GetVarint64(std::string_view* input, uint64_t* value);
bool GetLengthPrefixed(std::string_view* input, std::string_view* value);
bool GetBytes(std::string_view* input, size_t n, std::string_view* value);

// Pointer-based varint decode used by hot block parsing; returns nullptr on
// malformed or truncated input. The one-byte case, nearly every length in a
// block, is inline: a lookup decodes dozens per segment it searches.
const char* DecodeVarint32Slow(const char* p, const char* limit, uint32_t* value);
inline const char* DecodeVarint32(const char* p, const char* limit, uint32_t* value) {
  if (p < limit && (static_cast<unsigned char>(*p) & 0x80) == 0) {
    *value = static_cast<unsigned char>(*p);
    return p + 1;
  }
  return DecodeVarint32Slow(p, limit, value);
}
const char* DecodeVarint64(const char* p, const char* limit, uint64_t* value);

}  // namespace ebb

#endif  // EBB_BASE_CODING_H_
