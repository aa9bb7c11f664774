#include "server/resp_writer.h"

#include <charconv>

namespace ebb {

void RespWriter::AppendLine(char type, std::string_view text) {
  size_t start = out_->size();
  out_->reserve(start + text.size() + 3);
  out_->push_back(type);
  out_->append(text);
  for (size_t i = start + 1; i < out_->size(); i++) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n", 2);
}

void RespWriter::AppendNumberLine(char type, int64_t value) {
  char buf[24];
  buf[0] = type;
  auto [ptr, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value);
  *ptr++ = '\r';
  *ptr++ = '\n';
  out_->append(buf, ptr - buf);
}

void RespWriter::SimpleString(std::string_view text) { AppendLine('+', text); }
void RespWriter::Error(std::string_view text) { AppendLine('-', text); }
void RespWriter::Integer(int64_t value) { AppendNumberLine(':', value); }

void RespWriter::Bulk(std::string_view bytes) {
  AppendNumberLine('$', static_cast<int64_t>(bytes.size()));
  out_->append(bytes);
  out_->append("\r\n", 2);
}

void RespWriter::NullBulk() { out_->append("$-1\r\n", 5); }
void RespWriter::ArrayHeader(size_t count) { AppendNumberLine('*', static_cast<int64_t>(count)); }
void RespWriter::NullArray() { out_->append("*-1\r\n", 5); }

std::string EncodeError(std::string_view text) {
  std::string out;
  RespWriter(&out).Error(text);
  return out;
}

std::string EncodeSimpleString(std::string_view text) {
  std::string out;
  RespWriter(&out).SimpleString(text);
  return out;
}

std::string EncodeInteger(int64_t value) {
  std::string out;
  RespWriter(&out).Integer(value);
  return out;
}

std::string EncodeBulk(std::string_view bytes) {
  std::string out;
  RespWriter(&out).Bulk(bytes);
  return out;
}

}  // namespace ebb
