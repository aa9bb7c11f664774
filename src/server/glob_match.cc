#include "server/glob_match.h"

#include <cctype>

namespace ebb {
namespace {

char Fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Matches one pattern element (not '*') at pattern[*p] against c. Advances
// *p past the element. Returns whether it matched.
bool MatchOne(std::string_view pattern, size_t* p, char c, bool nocase) {
  char pc = pattern[*p];
  if (pc == '?') {
    (*p)++;
    return true;
  }
  if (pc == '\\' && *p + 1 < pattern.size()) {
    *p += 2;
    return Fold(pattern[*p - 1], nocase) == Fold(c, nocase);
  }
  if (pc == '[') {
    size_t close = *p + 1;
    if (close < pattern.size() && pattern[close] == '^') close++;
    // A ']' right after '[' or '[^' is a member, as in Redis.
    if (close < pattern.size() && pattern[close] == ']') close++;
    while (close < pattern.size() && pattern[close] != ']') {
      if (pattern[close] == '\\' && close + 1 < pattern.size()) close++;
      close++;
    }
    if (close >= pattern.size()) {  // no closing ']': a literal '['
      (*p)++;
      return c == '[';
    }
    size_t i = *p + 1;
    bool negate = false;
    if (pattern[i] == '^') {
      negate = true;
      i++;
    }
    bool match = false;
    const char fc = Fold(c, nocase);
    while (i < close) {
      if (pattern[i] == '\\' && i + 1 < close) {
        i++;
        if (Fold(pattern[i], nocase) == fc) match = true;
        i++;
      } else if (i + 2 < close && pattern[i + 1] == '-') {
        char lo = Fold(pattern[i], nocase);
        char hi = Fold(pattern[i + 2], nocase);
        if (lo > hi) std::swap(lo, hi);
        if (fc >= lo && fc <= hi) match = true;
        i += 3;
      } else {
        if (Fold(pattern[i], nocase) == fc) match = true;
        i++;
      }
    }
    *p = close + 1;
    return match != negate;
  }
  (*p)++;
  return Fold(pc, nocase) == Fold(c, nocase);
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase) {
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string_view::npos;  // pattern index after the last '*'
  size_t star_t = 0;                       // text index that star now covers up to
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') p++;
      if (p == pattern.size()) return true;
      star_p = p;
      star_t = t;
      continue;
    }
    size_t next_p = p;
    if (p < pattern.size() && MatchOne(pattern, &next_p, text[t], nocase)) {
      p = next_p;
      t++;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    // Let the last star swallow one more byte and retry from there.
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') p++;
  return p == pattern.size();
}

std::string GlobLiteralPrefix(std::string_view pattern) {
  std::string prefix;
  for (size_t i = 0; i < pattern.size(); i++) {
    char c = pattern[i];
    if (c == '*' || c == '?' || c == '[') break;
    if (c == '\\') {
      if (i + 1 >= pattern.size()) break;
      c = pattern[++i];
    }
    prefix.push_back(c);
  }
  return prefix;
}

}  // namespace ebb
