#include "base/thread_name.h"

#include <pthread.h>

namespace ebb {

void SetCurrentThreadName(std::string_view name) {
  std::string cut(name.substr(0, kMaxThreadNameChars));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

std::string CurrentThreadName() {
  char buf[kMaxThreadNameChars + 1] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof(buf)) != 0) return std::string();
  return std::string(buf);
}

}  // namespace ebb
