#include "server/command_table.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(CommandTableTest, FindsCommandsInAnyCase) {
  for (const char* name : {"get", "GET", "GeT", "gEt"}) {
    const CommandSpec* spec = FindCommand(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->id, CommandId::kGet) << name;
  }
  const CommandSpec* status = FindCommand("EBB.STATUS");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->id, CommandId::kEbbStatus);
  ASSERT_NE(FindCommand("MSet"), nullptr);
  EXPECT_EQ(FindCommand("MSet")->id, CommandId::kMSet);
}

TEST(CommandTableTest, RejectsWhatIsNotACommandName) {
  EXPECT_EQ(FindCommand(""), nullptr);
  EXPECT_EQ(FindCommand("gets"), nullptr);
  EXPECT_EQ(FindCommand("ge"), nullptr);
  // Only ASCII letters fold: bytes that lower-case to a letter elsewhere do not.
  EXPECT_EQ(FindCommand("g\xc5t"), nullptr);
  EXPECT_EQ(FindCommand(std::string_view("g\0t", 3)), nullptr);
  EXPECT_EQ(FindCommand("GET "), nullptr);
}

TEST(CommandTableTest, EveryCommandIsFoundByItsIdAndItsName) {
  ASSERT_EQ(AllCommands().size(), kNumCommands);
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_EQ(&GetCommandSpec(spec.id), &spec) << spec.name;
    EXPECT_EQ(FindCommand(spec.name), &spec) << spec.name;
  }
  EXPECT_EQ(FindCommand("multi")->id, CommandId::kMulti);
  EXPECT_EQ(FindCommand("UNWATCH")->id, CommandId::kUnwatch);
}

}  // namespace
}  // namespace ebb
