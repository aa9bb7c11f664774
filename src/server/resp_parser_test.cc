#include "server/resp_parser.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "base/random.h"
#include "base/test_util.h"
#include "server/resp_client.h"

namespace ebb {
namespace {

using Args = std::vector<std::string>;

// Parses every complete command in `input`; returns them and how the input
// ended (kNeedMore when it was all consumed or a partial command remains).
struct Parsed {
  std::vector<Args> commands;
  RespParseResult last = RespParseResult::kNeedMore;
  std::string error;
  size_t consumed = 0;
};

Parsed ParseAll(std::string_view input, RespLimits limits = RespLimits()) {
  RespCommandParser parser(limits);
  Parsed out;
  while (true) {
    size_t consumed = 0;
    RespParseResult r = parser.Parse(input.substr(out.consumed), &consumed);
    out.last = r;
    if (r != RespParseResult::kDone) {
      out.error = parser.error();
      return out;
    }
    out.consumed += consumed;
    if (!parser.args().empty()) out.commands.emplace_back(parser.args().begin(), parser.args().end());
  }
}

TEST(RespCommandParserTest, ParsesMultibulkAndPipelinedCommands) {
  std::string input = EncodeCommand({"SET", "key", "va\r\nlue"}) + EncodeCommand({"GET", "key"});
  Parsed p = ParseAll(input);
  ASSERT_EQ(p.commands.size(), 2u) << p.error;
  EXPECT_EQ(p.commands[0], (Args{"SET", "key", "va\r\nlue"}));
  EXPECT_EQ(p.commands[1], (Args{"GET", "key"}));
  EXPECT_EQ(p.consumed, input.size());
  EXPECT_EQ(p.last, RespParseResult::kNeedMore);
}

TEST(RespCommandParserTest, EmptyAndBinaryArguments) {
  std::string binary("\0\xff\r\n*$", 6);
  Parsed p = ParseAll(EncodeCommand({"ECHO", ""}) + EncodeCommand({"SET", binary, binary}));
  ASSERT_EQ(p.commands.size(), 2u) << p.error;
  EXPECT_EQ(p.commands[0], (Args{"ECHO", ""}));
  EXPECT_EQ(p.commands[1], (Args{"SET", binary, binary}));
}

TEST(RespCommandParserTest, InlineCommandsWithQuotes) {
  Parsed p = ParseAll("PING\r\nSET k \"a b\\x41\\n\" 'it\\'s'\nGET k\r\n");
  ASSERT_EQ(p.commands.size(), 3u) << p.error;
  EXPECT_EQ(p.commands[0], (Args{"PING"}));
  EXPECT_EQ(p.commands[1], (Args{"SET", "k", "a bA\n", "it's"}));
  EXPECT_EQ(p.commands[2], (Args{"GET", "k"}));
}

TEST(RespCommandParserTest, EmptyLinesAndEmptyArraysAreSkipped) {
  Parsed p = ParseAll("\r\n*0\r\n*-1\r\n\nPING\r\n");
  ASSERT_EQ(p.commands.size(), 1u) << p.error;
  EXPECT_EQ(p.commands[0], (Args{"PING"}));
}

TEST(RespCommandParserTest, ByteByByteGivesTheSameCommands) {
  std::string input = EncodeCommand({"MSET", "a", "1", "b", std::string(300, 'x')}) + "PING\r\n" +
                      EncodeCommand({"DEL", "a"});
  RespCommandParser parser;
  std::vector<Args> got;
  size_t start = 0;
  for (size_t end = 1; end <= input.size(); end++) {
    size_t consumed = 0;
    RespParseResult r = parser.Parse(std::string_view(input).substr(start, end - start), &consumed);
    ASSERT_NE(r, RespParseResult::kError) << parser.error();
    if (r == RespParseResult::kDone) {
      got.emplace_back(parser.args().begin(), parser.args().end());
      start += consumed;
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0][4], std::string(300, 'x'));
  EXPECT_EQ(got[1], (Args{"PING"}));
  EXPECT_EQ(got[2], (Args{"DEL", "a"}));
}

TEST(RespCommandParserTest, RandomSplitsAgreeWithWholeParse) {
  const uint64_t seed = testing::TestSeed(20261121);
  SCOPED_TRACE(fmt::format("seed {}", seed));
  Random rnd(seed);
  for (int round = 0; round < 200; round++) {
    std::vector<Args> sent;
    std::string input;
    for (int c = 0, n = 1 + rnd.Uniform(8); c < n; c++) {
      Args args{"CMD"};
      for (int a = 0, m = rnd.Uniform(5); a < m; a++) {
        std::string arg(rnd.Uniform(40), '\0');
        for (auto& ch : arg) ch = static_cast<char>(rnd.Uniform(256));
        args.push_back(arg);
      }
      input += EncodeCommand(args);
      sent.push_back(std::move(args));
    }
    // Feed in random chunks, keeping unconsumed bytes like a connection does.
    RespCommandParser parser;
    std::vector<Args> got;
    std::string buffer;
    size_t fed = 0;
    while (fed < input.size()) {
      size_t chunk = 1 + rnd.Uniform(64);
      buffer.append(input, fed, chunk);
      fed += chunk;
      while (true) {
        size_t consumed = 0;
        RespParseResult r = parser.Parse(buffer, &consumed);
        ASSERT_NE(r, RespParseResult::kError) << parser.error();
        if (r == RespParseResult::kNeedMore) break;
        got.emplace_back(parser.args().begin(), parser.args().end());
        buffer.erase(0, consumed);
      }
    }
    EXPECT_EQ(got, sent);
  }
}

struct BadInput {
  std::string input;
  std::string error;
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.error; }

class RespCommandParserErrorTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(RespCommandParserErrorTest, AnswersWithRedisProtocolError) {
  RespLimits limits;
  limits.max_bulk_bytes = 1000;
  limits.max_array_elements = 100;
  limits.max_inline_bytes = 64;
  Parsed p = ParseAll(GetParam().input, limits);
  EXPECT_EQ(p.last, RespParseResult::kError);
  EXPECT_EQ(p.error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, RespCommandParserErrorTest,
    ::testing::Values(BadInput{"*x\r\n", "Protocol error: invalid multibulk length"},
                      BadInput{"*101\r\n", "Protocol error: invalid multibulk length"},
                      BadInput{"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"},
                      BadInput{"*1\r\n\x01", "Protocol error: expected '$', got '\\x01'"},
                      BadInput{"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"},
                      BadInput{"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
                      BadInput{"*1\r\n$1001\r\n", "Protocol error: invalid bulk length"},
                      BadInput{"*1\r\n$99999999999999999999999\r\n", "Protocol error: invalid bulk length"},
                      BadInput{"*1\r\n$3\r\nGETXX", "Protocol error: expected CRLF after bulk string"},
                      BadInput{"*1\rX", "Protocol error: invalid multibulk length"},
                      BadInput{std::string(65, 'a'), "Protocol error: too big inline request"},
                      BadInput{"*1\r\n$" + std::string(70, '1'), "Protocol error: too big bulk count string"},
                      BadInput{"SET k \"unterminated\r\n", "Protocol error: unbalanced quotes in request"},
                      BadInput{"SET k \"a\"b\r\n", "Protocol error: unbalanced quotes in request"}));

TEST(RespCommandParserTest, HugeDeclaredCountsNeedTheBytesBeforeAnythingIsAllocated) {
  RespCommandParser parser;  // default limits: 1M elements, 16 MiB bulk
  size_t consumed = 0;
  std::string input = "*1048576\r\n$16777216\r\n";
  EXPECT_EQ(parser.Parse(input, &consumed), RespParseResult::kNeedMore);
  // The buffer must grow to hold the bulk before the parser can go on.
  EXPECT_EQ(parser.bytes_wanted(), input.size() + 16777216 + 2);
}

TEST(RespCommandParserTest, UnauthenticatedLimitsAreRedisPreAuthLimits) {
  const RespLimits limits = UnauthenticatedLimits();
  // HELLO with AUTH and SETNAME, and a 16 KiB argument, fit.
  Parsed ok = ParseAll(EncodeCommand({"HELLO", "2", "AUTH", "default", std::string(16384, 'p'), "SETNAME", "n"}),
                       limits);
  ASSERT_EQ(ok.commands.size(), 1u) << ok.error;
  Parsed bulk = ParseAll("*2\r\n$4\r\nAUTH\r\n$16385\r\n", limits);
  EXPECT_EQ(bulk.last, RespParseResult::kError);
  EXPECT_EQ(bulk.error, "Protocol error: unauthenticated bulk length");
  Parsed array = ParseAll("*11\r\n", limits);
  EXPECT_EQ(array.last, RespParseResult::kError);
  EXPECT_EQ(array.error, "Protocol error: unauthenticated multibulk length");
  Parsed inline_line = ParseAll(std::string(16385, 'a'), limits);
  EXPECT_EQ(inline_line.error, "Protocol error: too big inline request");
  // Malformed lengths keep their usual wording.
  EXPECT_EQ(ParseAll("*1\r\n$-1\r\n", limits).error, "Protocol error: invalid bulk length");
}

TEST(RespCommandParserTest, ResetsAfterAnError) {
  RespCommandParser parser;
  size_t consumed = 0;
  EXPECT_EQ(parser.Parse("*1\r\n$x\r\n", &consumed), RespParseResult::kError);
  std::string ok = EncodeCommand({"PING"});
  ASSERT_EQ(parser.Parse(ok, &consumed), RespParseResult::kDone);
  EXPECT_EQ(parser.args().size(), 1u);
}

TEST(RespValueParserTest, ParsesEveryReplyType) {
  RespValueParser parser;
  RespValue v;
  size_t consumed = 0;
  std::string input = "*6\r\n+OK\r\n-ERR bad\r\n:-42\r\n$3\r\nfoo\r\n$-1\r\n*2\r\n*-1\r\n*0\r\n";
  ASSERT_EQ(parser.Parse(input, &v, &consumed), RespParseResult::kDone) << parser.error();
  EXPECT_EQ(consumed, input.size());
  ASSERT_EQ(v.type, RespValue::Type::kArray);
  ASSERT_EQ(v.elements.size(), 6u);
  EXPECT_EQ(v.elements[0].str, "OK");
  EXPECT_TRUE(v.elements[1].is_error());
  EXPECT_EQ(v.elements[1].str, "ERR bad");
  EXPECT_EQ(v.elements[2].integer, -42);
  EXPECT_EQ(v.elements[3].str, "foo");
  EXPECT_EQ(v.elements[4].type, RespValue::Type::kNullBulk);
  EXPECT_EQ(v.elements[5].elements[0].type, RespValue::Type::kNullArray);
  EXPECT_EQ(v.elements[5].elements[1].elements.size(), 0u);
}

TEST(RespValueParserTest, IncompleteNeedsMoreAndNestingIsBounded) {
  RespValue v;
  size_t consumed = 0;
  RespValueParser parser;
  EXPECT_EQ(parser.Parse("*2\r\n:1\r\n", &v, &consumed), RespParseResult::kNeedMore);
  EXPECT_EQ(parser.Parse("$5\r\nab", &v, &consumed), RespParseResult::kNeedMore);
  RespLimits limits;
  limits.max_nesting = 3;
  RespValueParser shallow(limits);
  EXPECT_EQ(shallow.Parse("*1\r\n*1\r\n*1\r\n:1\r\n", &v, &consumed), RespParseResult::kDone);
  EXPECT_EQ(shallow.Parse("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", &v, &consumed), RespParseResult::kError);
  EXPECT_EQ(shallow.error(), "Protocol error: arrays nested too deeply");
  EXPECT_EQ(parser.Parse("?what\r\n", &v, &consumed), RespParseResult::kError);
}

}  // namespace
}  // namespace ebb
