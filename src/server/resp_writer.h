// RESP2 reply encoding: appends replies to a byte buffer the connection
// writes out. Error and simple-string text must not contain CR or LF; the
// writer replaces them with spaces so a message can never break the framing.
//
// Thread safety: a writer is used by one connection at a time.

#ifndef EBB_SERVER_RESP_WRITER_H_
#define EBB_SERVER_RESP_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ebb {

class RespWriter {
 public:
  // Appends to *out (not owned; must outlive the writer).
  explicit RespWriter(std::string* out) : out_(out) {}

  void SimpleString(std::string_view text);       // +OK
  void Error(std::string_view text);              // -ERR ... (text includes the prefix word)
  void Integer(int64_t value);                    // :1
  void Bulk(std::string_view bytes);              // $3\r\nfoo
  void NullBulk();                                // $-1
  void ArrayHeader(size_t count);                 // *2, then `count` replies
  void NullArray();                               // *-1
  // Appends an already encoded reply.
  void Raw(std::string_view encoded) { out_->append(encoded); }

  std::string* buffer() { return out_; }

 private:
  void AppendLine(char type, std::string_view text);
  void AppendNumberLine(char type, int64_t value);

  std::string* const out_;
};

// A complete encoded reply as a string (for replies built off the
// connection, e.g. on a worker thread).
std::string EncodeError(std::string_view text);
std::string EncodeSimpleString(std::string_view text);
std::string EncodeInteger(int64_t value);
std::string EncodeBulk(std::string_view bytes);

}  // namespace ebb

#endif  // EBB_SERVER_RESP_WRITER_H_
