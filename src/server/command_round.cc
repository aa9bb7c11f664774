#include "server/command_round.h"

#include "server/server_core.h"

namespace ebb {

bool RestrictedBeforeAuth(ServerCore* core, const SessionState& session) {
  return !session.authenticated && core->live().password_required();
}

CommandRound ParseCommandRound(ServerCore* core, const SessionState& session, RespCommandParser* parser,
                               std::string_view input, std::vector<CommandArgs>* commands,
                               std::deque<std::string>* inline_args) {
  CommandRound round;
  if (RestrictedBeforeAuth(core, session)) {
    parser->set_limits(UnauthenticatedLimits());
    round.limit = 1;
  } else {
    RespLimits limits;
    limits.max_bulk_bytes = core->live().max_bulk_bytes();
    parser->set_limits(limits);
    round.limit = kMaxCommandsPerRound;
  }
  while (round.count < round.limit) {
    size_t consumed = 0;
    RespParseResult r = parser->Parse(input.substr(round.consumed), &consumed);
    if (r == RespParseResult::kNeedMore) break;
    if (r == RespParseResult::kError) {
      round.protocol_error = parser->error();
      break;
    }
    round.consumed += consumed;
    if (parser->args().empty()) continue;  // empty line or "*0"
    if (commands->size() <= round.count) commands->emplace_back();
    CommandArgs& args = (*commands)[round.count];
    args.assign(parser->args().begin(), parser->args().end());
    if (parser->last_was_inline()) {
      // Inline arguments live in the parser until its next Parse: keep
      // copies for the round (a deque does not move its strings).
      for (auto& arg : args) arg = inline_args->emplace_back(arg);
    }
    round.count++;
  }
  return round;
}

}  // namespace ebb
