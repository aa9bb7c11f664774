#include "server/resp_writer.h"

#include <gtest/gtest.h>

#include "server/resp_parser.h"

namespace ebb {
namespace {

TEST(RespWriterTest, EncodesEachType) {
  std::string out;
  RespWriter w(&out);
  w.SimpleString("OK");
  w.Error("ERR nope");
  w.Integer(-7);
  w.Bulk(std::string("a\0b", 3));
  w.NullBulk();
  w.ArrayHeader(2);
  w.NullArray();
  static const char kExpected[] = "+OK\r\n-ERR nope\r\n:-7\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n*-1\r\n";
  EXPECT_EQ(out, std::string(kExpected, sizeof(kExpected) - 1));
}

TEST(RespWriterTest, LineBreaksInMessagesCannotBreakTheFraming) {
  std::string out;
  RespWriter(&out).Error("ERR line one\r\n+OK injected");
  EXPECT_EQ(out, "-ERR line one  +OK injected\r\n");
}

TEST(RespWriterTest, RoundTripsThroughTheValueParser) {
  std::string out;
  RespWriter w(&out);
  w.ArrayHeader(3);
  w.Bulk(std::string(100000, 'z'));
  w.Integer(INT64_MIN);
  w.ArrayHeader(1);
  w.SimpleString("nested");
  RespValueParser parser;
  RespValue v;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(out, &v, &consumed), RespParseResult::kDone) << parser.error();
  EXPECT_EQ(consumed, out.size());
  EXPECT_EQ(v.elements[0].str.size(), 100000u);
  EXPECT_EQ(v.elements[1].integer, INT64_MIN);
  EXPECT_EQ(v.elements[2].elements[0].str, "nested");
}

}  // namespace
}  // namespace ebb
